"""Precompressed copies of the site's text files, for hosts that serve them as they are.

Beside every ``.html``, ``.css``, ``.js``, ``.json`` and ``.xml`` file the
builder writes ``<name>.gz`` (gzip) and ``<name>.br`` (brotli), which nginx's
``gzip_static``/``brotli_static``, Caddy's ``precompressed`` and most static hosts
send to a browser that accepts them, with no compression work per request. Both
are deterministic: the same file always gives the same bytes.

The manifest lists only the originals; ``PRECOMPRESSED`` (written into it) says
which names have copies, so a checker can find them and compare their content.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

import brotli

# What browsers load. Not the QR code's SVG: no student page loads it, and two more
# files per school cost more build time than they would ever save.
SUFFIXES = (".css", ".html", ".js", ".json", ".xml")
ENCODINGS = {"br": ".br", "gzip": ".gz"}  # Content-Encoding -> file suffix


@dataclass(frozen=True)
class Effort:
    """How hard to compress: gzip's level and brotli's quality."""

    gzip: int
    brotli: int


# The student page's scripts and styles are few and shared by every page: take the
# smallest output.
ASSETS = Effort(gzip=9, brotli=11)
# Everything else: each school's pages (four a school, tens of thousands for a state)
# and the large files staff and tools read (the course, the manifest). On a 30 KB
# page gzip 5 costs 0.6% more bytes than gzip 9 and brotli 5 0.7% more than brotli 8,
# in about half their time; gzip 4 and brotli 4 would cost 3% and 7% more bytes.
FILES = Effort(gzip=5, brotli=5)


def compressible(path: str) -> bool:
    return path.endswith(SUFFIXES)


def variants(data: bytes, effort: Effort) -> dict[str, bytes]:
    """Suffix -> compressed bytes, e.g. {".gz": ..., ".br": ...}."""
    return {
        ".gz": gzip.compress(data, compresslevel=effort.gzip, mtime=0),
        ".br": brotli.compress(data, quality=effort.brotli, lgwin=_window(len(data))),
    }


def _window(size: int) -> int:
    """The smallest brotli window (lgwin, 16 to brotli's default 22) that holds the file.

    Brotli picks its hash tables by the window and clears them for every file; for a
    school's 30 KB page a 64 KB window takes about a tenth less time than the default
    4 MB one (at quality 8, 40% less), for the same bytes within a few in ten thousand.
    """
    lgwin = 16
    while lgwin < 22 and (1 << lgwin) - 16 < size:
        lgwin += 1
    return lgwin


def decode(data: bytes, encoding: str) -> bytes:
    """The original bytes of a precompressed copy or response body."""
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        result: bytes = brotli.decompress(data)
        return result
    return data


def manifest_entry() -> dict[str, object]:
    return {"suffixes": list(SUFFIXES), "encodings": dict(ENCODINGS)}
