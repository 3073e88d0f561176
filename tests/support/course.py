"""One rendering of the course per input, shared by every in-process build of a session.

mkdocs takes seconds and renders the same source to the same pages, so a build that
renders a source this session already rendered gets a copy of those pages instead.
A source that differs (a test's edited copy, another state's rules) is rendered anew.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from builder import training
from builder.build_record import tree_version


class RenderedCourses:
    """builder.training.build_training, remembered by the source's names and bytes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._build = training.build_training

    def build_training(self, source: Path, target: Path) -> None:
        kept = self.folder / tree_version(source)
        if not kept.is_dir():
            self._build(source, target)
            shutil.copytree(target, kept.with_suffix(".partial"))
            kept.with_suffix(".partial").rename(kept)
            return
        shutil.copytree(kept, target, dirs_exist_ok=True)
