"""The Content-Security-Policy of every student page: one definition for builder and relay.

The builder writes it into each page's meta tag; the relay sends it as a header
(with what only a header can say) on every page it serves. A browser applies
both, so both must allow the same inline code.

Student pages carry their stylesheet and their small shared scripts inline, so
that a phone on one bar of signal can paint the page and use the report form
without waiting for more round trips; each inline block is allowed by its SHA-256
hash and nothing else inline runs. The inline blocks are exact copies of files the
builder also publishes under ``assets/`` (named below), so the relay computes the
same hashes from the site it serves. The case page's own script (case.js) is
inline too: its bytes arrive while the crypto's requests are on their way, where
as a file it shared the link with the crypto.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

INLINE_STYLES = ("landing.css",)
INLINE_SCRIPTS = ("reveal.js", "page.js", "app.js", "case.js")


@dataclass(frozen=True)
class InlineCode:
    """The exact bytes of the inline <style> and <script> blocks that student pages carry."""

    styles: tuple[bytes, ...] = ()
    scripts: tuple[bytes, ...] = ()


def read_inline_code(assets_dir: Path) -> InlineCode:
    """The inline blocks as published under a built site's assets folder (a missing file is
    left out: a page that needs it then shows its no-script help)."""

    def read(names: Iterable[str]) -> tuple[bytes, ...]:
        return tuple((assets_dir / n).read_bytes() for n in names if (assets_dir / n).is_file())

    return InlineCode(styles=read(INLINE_STYLES), scripts=read(INLINE_SCRIPTS))


def source_hash(block: bytes) -> str:
    """The CSP source that allows one inline block: 'sha256-<base64>'."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(block).digest()).decode("ascii") + "'"


def content_security_policy(relay_url: str, inline: InlineCode = InlineCode()) -> str:
    """Same-origin scripts, styles and images, plus the inline blocks by hash; network
    requests only to the relay."""
    parts = urlsplit(relay_url)
    styles = "".join(" " + source_hash(b) for b in inline.styles)
    scripts = "".join(" " + source_hash(b) for b in inline.scripts)
    return (
        f"default-src 'none'; script-src 'self'{scripts}; style-src 'self'{styles}; "
        f"img-src 'self'; connect-src {parts.scheme}://{parts.netloc}; base-uri 'none'; "
        "form-action 'none'"
    )


def header_policy(relay_url: str, inline: InlineCode = InlineCode()) -> str:
    """The page policy plus frame-ancestors, which a meta tag cannot carry."""
    return content_security_policy(relay_url, inline) + "; frame-ancestors 'none'"


def course_header_policy(relay_url: str) -> str:
    """The staff course's policy as a header: nothing from another origin, no framing.

    mkdocs-material writes a few inline scripts and style attributes into every
    page, so this allows inline code; it still refuses every third-party origin.
    Completion records go to the relay, and nowhere else.
    """
    parts = urlsplit(relay_url)
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
        f"connect-src 'self' {parts.scheme}://{parts.netloc}; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
