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

import brotli

# What browsers load. Not the QR code's SVG: no student page loads it, and two more
# files per school cost more build time than they would ever save.
SUFFIXES = (".css", ".html", ".js", ".json", ".xml")
ENCODINGS = {"br": ".br", "gzip": ".gz"}  # Content-Encoding -> file suffix
# Brotli quality by what a file is. The student page's scripts and styles are few and
# shared by every page: take the smallest output. A school's own pages are many and
# small: quality 8 is about forty times faster than 11 and costs about a tenth more
# bytes on a 6 KB page. Large files that staff or tools read (the course, the
# manifest) take quality 5, a fraction of a second even for megabytes.
ASSET_QUALITY = 11
PAGE_QUALITY = 8
BULK_QUALITY = 5


def compressible(path: str) -> bool:
    return path.endswith(SUFFIXES)


def variants(data: bytes, quality: int) -> dict[str, bytes]:
    """Suffix -> compressed bytes, e.g. {".gz": ..., ".br": ...}; brotli at ``quality``."""
    return {
        ".gz": gzip.compress(data, compresslevel=9, mtime=0),
        ".br": brotli.compress(data, quality=quality),
    }


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
