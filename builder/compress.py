"""Precompressed copies of the site's text files, for hosts that serve them as they are.

Beside every ``.html``, ``.css``, ``.js``, ``.json`` and ``.xml`` file the
builder writes ``<name>.gz`` (gzip) and, except for each school's own files,
``<name>.br`` (brotli), which nginx's ``gzip_static``/``brotli_static``, Caddy's
``precompressed`` and most static hosts send to a browser that accepts them, with
no compression work per request. Both are deterministic: the same file always
gives the same bytes.

Each school's files get gzip only. A school's page is about 30 KB and gzip makes
it 10 to 12 KB, which arrives within TCP's first flight (an initial window of ten
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
# gzip comes from ISA-L (python-isal) at its level 3: on a 30 KB page it takes a sixth
# of the time of zlib at level 5, for about 8% more bytes than zlib at level 9 (zlib 5:
# 0.6% more). zlib 5 took a quarter of a state build's time; the page still fits the
# first flight (above), and on one bar of signal (bench/page_weight.py) its text box is
# ready 0.01-0.03 s later (0.59-0.61 s), for 0.7-0.8 KB more on the wire.
# Brotli 5 costs 0.7% more bytes than brotli 8 in about half the time.
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

    Brotli picks its hash tables by the window and clears them for every file; for a
    30 KB page a 64 KB window takes about a tenth less time than the default
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
