"""Print-ready signs and sticker sheets: one PDF per placement and language.

A sign is a full page; a sticker sheet holds four small copies of the same
panel, with light cut lines, for places where a page does not fit (a stall
door, a locker). Every panel carries the same things, top to bottom: a calm
line a student understands and a passer-by does not find alarming, the QR code
as vectors with its full quiet zone, the landing URL in full beneath it (to
type it, or to compare it with what the phone opens), "no name needed", when
the school reads messages, 911 and the helpline, and, in small print, the
school and the placement id that the placement plan uses.

Text is real text (searchable and copyable), in the language's TrueType font
(``builder/sign_fonts.py``: only the glyphs used are embedded) and the URL in
the PDF's standard Courier. Right-to-left lines are put in visual order and
shaped first (``builder/shaping.py``); Chinese breaks between ideographs. The
strings come from ``site/i18n/print/<lang>.toml``, the read hours from the
landing page's strings.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import segno
from reportlab.lib.pagesizes import A4, letter
from reportlab.pdfgen.canvas import Canvas

from builder.assets import SITE_DIR
from builder.errors import BuildError
from builder.landing import after_hours_text, load_catalogs, read_hours_text
from builder.qr import define_code_form, draw_code_form
from builder.shaping import Segment, layout, pieces, width
from builder.sign_fonts import FAUX_BOLD_STROKE, faux_bold
from quietdoor.config import Deployment, Placement, School
from quietdoor.languages import LANGUAGES

PRINT_CATALOGS = SITE_DIR / "i18n" / "print"
PAGE_SIZES = {"letter": letter, "a4": A4}
SIGN_MARGIN = 54.0  # points: 3/4 inch, inside what any office printer can reach
STICKER_MARGIN = 18.0  # the sheet's outer margin
STICKER_PADDING = 16.0  # inside each sticker, so a slightly crooked cut spares the text
STICKERS_ACROSS = STICKERS_DOWN = 2
FULL_WIDTH = 504.0  # the panel width the sizes below are chosen for (Letter, 3/4-inch margins)
SMALLEST_PT = 7.0  # no printed text smaller: read at arm's length in a stall
QR_SIZE = 306.0  # 4.25 inches with the quiet zone: scans from a step away
ACCENT = (0x1B / 255, 0x55 / 255, 0x66 / 255)  # the landing page's link colour
INK = (0.12, 0.13, 0.16)
MUTED = (0.35, 0.36, 0.38)
PANEL = (0.94, 0.94, 0.93)
CUT = (0.7, 0.7, 0.7)
# Where a line breaks best: after a sentence (. ? ! or Arabic's ؟ and a space, unless
# a lower-case letter follows: "4:30 p.m. Messages", not "a.m. to"; Chinese 。！？
# need no space) or after a colon ("day and night: call").
SENTENCE_END = re.compile(r"(?<=[.?!؟:])\s+|(?<=[。！？：])")


class SignError(BuildError):
    """A sign that cannot be laid out: a paper size or kind the builder does not know."""


@dataclass(frozen=True)
class SignText:
    """Everything printed on one panel, already in the placement's language."""

    lang: str
    headline: str
    lead: str
    url: str
    scan: str
    no_name: str
    hours: str
    danger: str
    helpline: str
    label: str
    leave: str
    title: str

    @property
    def font(self) -> str:
        """The language's font family for signs, e.g. "NotoSans" (builder/sign_fonts.py)."""
        return LANGUAGES[self.lang].sign_font

    @property
    def rtl(self) -> bool:
        return LANGUAGES[self.lang].direction == "rtl"

    def line(self, text: str, bold: bool = False) -> tuple[Segment, ...]:
        """One line of this language's text as drawn: in visual order, shaped."""
        return layout(text, self.font, bold, self.rtl)

    def width(self, text: str, size: float, bold: bool = False) -> float:
        return _measure(self.lang, text, size, bold)


def sign_text(deployment: Deployment, school: School, placement: Placement, lang: str) -> SignText:
    page = load_catalogs()[lang]
    t = load_catalogs(PRINT_CATALOGS)[lang]
    hours = read_hours_text(school.read_hours, lang)
    after = after_hours_text(deployment, school, page)
    hours = f"{hours} {after}" if after else hours
    title_key = "title_stickers" if placement.kind == "sticker" else "title_sign"
    return SignText(
        lang=lang,
        headline=t["headline"],
        lead=t["lead"],
        url=deployment.landing_url(school.slug, lang),
        scan=t["scan"],
        no_name=t["no_name"],
        hours=hours,
        danger=t["danger"],
        helpline=t["helpline"],
        label=t["label"].format(school=school.name, id=placement.id),
        leave=t["leave"],
        title=t[title_key].format(school=school.name, location=placement.location),
    )


def render_pdf(text: SignText, code: segno.QRCode, paper: str, kind: str, author: str) -> bytes:
    """One page: a sign, or a sheet of stickers. The same input gives the same bytes."""
    if paper not in PAGE_SIZES:
        raise SignError(f"paper {paper!r} is not one of {', '.join(PAGE_SIZES)}")
    width, height = PAGE_SIZES[paper]
    out = io.BytesIO()
    canvas = Canvas(
        out, pagesize=(width, height), invariant=True, pageCompression=1, lang=text.lang
    )
    canvas.setTitle(text.title)
    canvas.setAuthor(author)
    canvas.setCreator("Quiet Door builder")
    define_code_form(canvas, code)
    if kind == "sign":
        _panel(
            canvas,
            text,
            code,
            SIGN_MARGIN,
            SIGN_MARGIN,
            width - 2 * SIGN_MARGIN,
            height - 2 * SIGN_MARGIN,
        )
    elif kind == "sticker":
        _sticker_sheet(canvas, text, code, width, height)
    else:
        raise SignError(f"placement kind {kind!r} is not 'sign' or 'sticker'")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _sticker_sheet(
    canvas: Canvas, text: SignText, code: segno.QRCode, width: float, height: float
) -> None:
    cell_w = (width - 2 * STICKER_MARGIN) / STICKERS_ACROSS
    cell_h = (height - 2 * STICKER_MARGIN) / STICKERS_DOWN
    _cut_lines(canvas, width, height, cell_w, cell_h)
    for col in range(STICKERS_ACROSS):
        for row in range(STICKERS_DOWN):
            x = STICKER_MARGIN + col * cell_w
            y = STICKER_MARGIN + row * cell_h
            _panel(
                canvas,
                text,
                code,
                x + STICKER_PADDING,
                y + STICKER_PADDING,
                cell_w - 2 * STICKER_PADDING,
                cell_h - 2 * STICKER_PADDING,
            )


def _cut_lines(canvas: Canvas, width: float, height: float, cell_w: float, cell_h: float) -> None:
    canvas.saveState()
    canvas.setStrokeColorRGB(*CUT)
    canvas.setLineWidth(0.5)
    canvas.setDash(4, 4)
    for col in range(STICKERS_ACROSS + 1):
        x = STICKER_MARGIN + col * cell_w
        canvas.line(x, STICKER_MARGIN / 2, x, height - STICKER_MARGIN / 2)
    for row in range(STICKERS_DOWN + 1):
        y = STICKER_MARGIN + row * cell_h
        canvas.line(STICKER_MARGIN / 2, y, width - STICKER_MARGIN / 2, y)
    canvas.restoreState()


Draw = Callable[[float], None]  # draws a block whose top is at the given y


def _panel(
    canvas: Canvas, t: SignText, code: segno.QRCode, x: float, y: float, w: float, h: float
) -> None:
    """One sign's content in the box (x, y, w, h), scaled to the box's width.

    The QR code keeps its size; when a translation is long, the text shrinks a
    little at a time until everything fits.
    """
    s = w / FULL_WIDTH
    footer_size = max(9 * s, SMALLEST_PT)
    footer = _footer_lines(t, w, footer_size)
    for text_scale in (1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7):
        blocks = _blocks(canvas, t, code, x, w, s, text_scale)
        used = sum(height for height, _ in blocks)
        spare = h - used - footer_size * (1.3 * len(footer) + 1.5)
        if spare >= 0:
            break
    else:
        raise SignError(f"{t.title}: the text does not fit the page ({-spare:.0f} points over)")
    top = y + h - spare * 0.4  # a little less of the spare room above than below
    for height, draw in blocks:
        draw(top)
        top -= height

    _ink(canvas, MUTED)
    for i, (first, second) in enumerate(reversed(footer)):
        # The label where a line starts (the right in Arabic), the request at the other end.
        start, end = (x + w, x) if t.rtl else (x, x + w)
        baseline = y + i * footer_size * 1.3
        _show(canvas, t.line(first), start, baseline, footer_size, "right" if t.rtl else "left")
        _show(canvas, t.line(second), end, baseline, footer_size, "left" if t.rtl else "right")


def _footer_lines(t: SignText, w: float, size: float) -> list[tuple[str, str]]:
    """The label and the request to leave the sign on one line; on two when narrow."""
    needed = t.width(f"{t.label}    {t.leave}", size)
    return [(t.label, t.leave)] if needed <= w else [(t.label, ""), (t.leave, "")]


def _blocks(
    canvas: Canvas,
    t: SignText,
    code: segno.QRCode,
    x: float,
    w: float,
    s: float,
    text_scale: float,
) -> list[tuple[float, Draw]]:
    """The panel's blocks, top to bottom, as (height, draw) pairs."""
    centre = x + w / 2
    ts = s * text_scale
    blocks: list[tuple[float, Draw]] = []

    def lines(
        text: str,
        bold: bool,
        size: float,
        colour: tuple[float, float, float] = INK,
        leading: float = 1.25,
    ) -> None:
        size = max(size, SMALLEST_PT)
        wrapped = _balanced(t.lang, text, bold, size, w)
        step = size * leading

        def draw(top: float) -> None:
            _ink(canvas, colour)
            for i, line in enumerate(wrapped):
                _show(canvas, t.line(line, bold), centre, top - size - i * step, size, "centre")

        blocks.append((size + step * (len(wrapped) - 1) + size * 0.3, draw))

    def gap(points: float) -> None:
        blocks.append((points * ts, lambda top: None))

    lines(t.headline, True, 46 * ts, ACCENT, leading=1.1)
    gap(8)
    lines(t.lead, False, 20 * ts)
    gap(16)
    qr = QR_SIZE * s
    blocks.append((qr, lambda top: draw_code_form(canvas, code, centre - qr / 2, top - qr, qr)))
    blocks.append(_url_block(canvas, t.url, centre, w, s))
    lines(t.scan, False, 13 * ts, MUTED)
    gap(14)
    lines(t.no_name, True, 19 * ts)
    gap(3)
    lines(t.hours, False, 14 * ts)
    gap(16)
    blocks.append(_emergency_box(canvas, t, x, w, ts))
    return blocks


def _url_block(canvas: Canvas, url: str, centre: float, w: float, s: float) -> tuple[float, Draw]:
    """The URL in bold Courier, as large as fits one line; broken after a '/' when none does."""
    font = "Courier-Bold"
    size = 16 * s
    smallest = max(7.5 * s, SMALLEST_PT)
    while size > smallest and canvas.stringWidth(url, font, size) > w:
        size -= 0.25
    parts = [url]
    if canvas.stringWidth(url, font, size) > w:
        parts = []
        for piece in re.findall(r"[^/]*/|[^/]+$", url):
            if parts and canvas.stringWidth(parts[-1] + piece, font, size) <= w:
                parts[-1] += piece
            else:
                parts.append(piece)
    step = size * 1.2

    def draw(top: float) -> None:
        canvas.setFont(font, size)
        canvas.setFillColorRGB(0, 0, 0)
        for i, part in enumerate(parts):
            canvas.drawCentredString(centre, top - size * 1.1 - i * step, part)

    return size * 1.5 + step * (len(parts) - 1), draw


def _emergency_box(canvas: Canvas, t: SignText, x: float, w: float, s: float) -> tuple[float, Draw]:
    pad = 12 * s
    inner = w - 2 * pad
    danger_size = max(21 * s, 9.0)
    help_size = max(14 * s, SMALLEST_PT)
    help_lines = _balanced(t.lang, t.helpline, False, help_size, inner)
    height = pad * 2 + danger_size * 1.4 + help_size * 1.25 * len(help_lines)

    def draw(top: float) -> None:
        canvas.setFillColorRGB(*PANEL)
        canvas.roundRect(x, top - height, w, height, 8 * s, stroke=0, fill=1)
        _ink(canvas, INK)
        baseline = top - pad - danger_size
        _show(canvas, t.line(t.danger, bold=True), x + w / 2, baseline, danger_size, "centre")
        for i, line in enumerate(help_lines):
            baseline = top - pad - danger_size * 1.4 - help_size * (1 + 1.25 * i)
            _show(canvas, t.line(line), x + w / 2, baseline, help_size, "centre")

    return height, draw


def _ink(canvas: Canvas, colour: tuple[float, float, float]) -> None:
    """The colour of the text that follows (its outline too, for a faux bold)."""
    canvas.setFillColorRGB(*colour)
    canvas.setStrokeColorRGB(*colour)


def _show(
    canvas: Canvas, line: tuple[Segment, ...], x: float, y: float, size: float, align: str
) -> None:
    """A laid-out line with its left end, centre or right end at x (align)."""
    total = sum(canvas.stringWidth(run, name, size) for name, run in line)
    x -= {"left": 0.0, "centre": total / 2, "right": total}[align]
    for name, run in line:
        canvas.setFont(name, size)
        if faux_bold(name):
            canvas.saveState()
            canvas.setLineWidth(size * FAUX_BOLD_STROKE)
            canvas.drawString(x, y, run, mode=2)  # fill, then stroke the outline
            canvas.restoreState()
        else:
            canvas.drawString(x, y, run)
        x += canvas.stringWidth(run, name, size)


def _sentences(text: str) -> list[str]:
    """The text cut after each sentence or colon (SENTENCE_END)."""
    parts: list[str] = []
    for part in filter(None, (p.strip() for p in SENTENCE_END.split(text))):
        if parts and part[0].islower() and not parts[-1].endswith(":"):
            parts[-1] += f" {part}"
        else:
            parts.append(part)
    return parts


@functools.lru_cache(maxsize=4096)
def _balanced(lang: str, text: str, bold: bool, size: float, width: float) -> tuple[str, ...]:
    """Wrapped to the narrowest width that needs no more lines, so no word is left alone;
    one sentence (or clause after a colon) a line when each fits and that takes no more
    lines. Cached by language, not by sign: most lines are the same on every school's."""
    wrapped = _wrap(lang, text, bold, size, width)
    if len(wrapped) < 2:
        return wrapped
    sentences = tuple(_sentences(text))
    if len(sentences) <= len(wrapped) and all(
        _measure(lang, sentence, size, bold) <= width for sentence in sentences
    ):
        return sentences
    low, high = width / 2, width
    while high - low > 4:
        middle = (low + high) / 2
        if len(_wrap(lang, text, bold, size, middle)) > len(wrapped):
            low = middle
        else:
            high = middle
    return _wrap(lang, text, bold, size, high)


def _wrap(lang: str, text: str, bold: bool, size: float, width: float) -> tuple[str, ...]:
    """Lines no wider than width, broken after a space or between ideographs (pieces):
    a no-break space holds "4:30 p.m." together, as it does on the page."""
    lines: list[str] = []
    for piece in pieces(text):
        joined = lines[-1] + piece if lines else piece
        if lines and _measure(lang, joined.rstrip(" "), size, bold) <= width:
            lines[-1] = joined
        else:
            lines.append(piece)
    return tuple(line.rstrip(" ") for line in lines)


def _measure(lang: str, text: str, size: float, bold: bool) -> float:
    language = LANGUAGES[lang]
    return width(text, language.sign_font, bold, language.direction == "rtl", size)


def sign_files(placement: Placement, languages: tuple[str, ...]) -> dict[str, str]:
    """Each language's PDF name for a placement, e.g. {"en": "counseling-en.pdf"}."""
    return {lang: f"{placement.id}-{lang}.pdf" for lang in languages}
