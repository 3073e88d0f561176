"""Precompressed copies of the site's text files, for hosts that serve them as they are.

Beside every ``.html``, ``.css``, ``.js``, ``.json`` and ``.xml`` file the
builder writes ``<name>.gz`` (gzip) and, except for each school's own files,
``<name>.br`` (brotli), which nginx's ``gzip_static``/``brotli_static``, Caddy's
``precompressed`` and most static hosts send to a browser that accepts them, with
no compression work per request. Both are deterministic: the same file always
gives the same bytes.

Each school's files get gzip only. A school's page is 27 to 38 KB and gzip makes
it 9.5 to 12.5 KB, which arrives within TCP's first flight (an initial window of ten
segments, about 14.6 KB: RFC 6928) with room for the headers; brotli would make
it about an eighth smaller, which saves a student no round trip, and would almost
double the time each school takes to build (four pages a school, tens of
thousands of schools).

The manifest lists only the originals; ``manifest_entry()`` (written into it)
says which names have which copies, so a checker can find them and compare their
content.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import brotli
from isal import igzip

# What browsers load. Not the QR code's SVG: no student page loads it, and two more
# files per school cost more build time than they would ever save.
SUFFIXES = (".css", ".html", ".js", ".json", ".xml")
ENCODINGS = {"br": ".br", "gzip": ".gz"}  # Content-Encoding -> file suffix
# Where each school's own files are published: these get the gzip copy only.
SCHOOL_FOLDERS = ("s/", "training/schools/")


@dataclass(frozen=True)
class Effort:
    """How hard to compress: a gzip compressor and brotli's quality."""

    gzip: Callable[[bytes], bytes]
    brotli: int


# The student page's scripts and styles are few and shared by every page: take the
# smallest output (zlib at level 9, brotli 11).
ASSETS = Effort(gzip=functools.partial(gzip.compress, compresslevel=9, mtime=0), brotli=11)
# Everything else: each school's pages (four a school, tens of thousands for a state:
# gzip only) and the large files staff and tools read (the course, the manifest).
# gzip comes from ISA-L (python-isal) at its level 3 and brotli runs at quality 5: far
# less time than zlib 5 or brotli 8 for a few percent more bytes, and the page still fits
# the first flight (above). The figures are in bench/README.md.
FILES = Effort(gzip=functools.partial(igzip.compress, compresslevel=3, mtime=0), brotli=5)


def manifest_entry() -> dict[str, object]:
    """The rule for which published files have which copies, as the manifest states it."""
    return {
        "suffixes": list(SUFFIXES),
        "encodings": dict(ENCODINGS),
        "gzip_only": list(SCHOOL_FOLDERS),
    }


RULE = manifest_entry()


def copies(path: str, rule: Mapping[str, Any] = RULE) -> dict[str, str]:
    """The precompressed copies a published file has under a manifest's rule: encoding -> suffix.

    A manifest written before the rule had ``gzip_only`` gave every file both copies.
    """
    if not path.endswith(tuple(rule.get("suffixes", ()))):
        return {}
    encodings: dict[str, str] = dict(rule.get("encodings", {}))
    if path.startswith(tuple(rule.get("gzip_only", ()))):
        return {e: s for e, s in encodings.items() if e == "gzip"}
    return encodings


def variants(path: str, data: bytes, effort: Effort) -> dict[str, bytes]:
    """The copies this build writes beside a published file: suffix -> compressed bytes."""
    made = {}
    for encoding, suffix in copies(path).items():
        if encoding == "gzip":
            made[suffix] = effort.gzip(data)
        else:
            made[suffix] = brotli.compress(data, quality=effort.brotli, lgwin=_window(len(data)))
    return made


def _window(size: int) -> int:
    """The smallest brotli window (lgwin, 16 to brotli's default 22) that holds the file.

    Brotli picks its hash tables by the window and clears them for every file, so a
    small window saves time on a page for the same bytes (figures in bench/README.md).
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
