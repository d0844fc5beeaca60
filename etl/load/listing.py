"""The files below a folder, as a directory load sees them: symlinked folders followed (a dataset
often links language folders in from elsewhere), each real folder once (a link back up would
otherwise loop forever)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path


def files_below(directory: Path) -> Iterator[Path]:
    """Every file below `directory`, as a path relative to it."""
    return (relative for relative in _names_below(directory) if os.path.isfile(directory / relative))


def dangling_links_below(directory: Path) -> Iterator[tuple[Path, str]]:
    """Every symlink below `directory` whose target is gone (moved, or on a drive not mounted), as
    a path relative to it and where it points: `files_below` cannot list it, and a caller that
    drops it without a word loses a batch or an image no one hears of."""
    for relative in _names_below(directory):
        link = directory / relative
        if link.is_symlink() and not link.exists():
            yield relative, os.readlink(link)


def _names_below(directory: Path) -> Iterator[Path]:
    """What os.walk lists as not a folder below `directory` (files, dangling links, sockets ...)."""
    seen: set[str] = set()
    for folder, subfolders, files in os.walk(directory, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            subfolders.clear()
            continue
        seen.add(real)
        relative = Path(folder).relative_to(directory)
        for name in files:
            yield relative / name


def is_hidden(relative: Path) -> bool:
    """What operating systems leave beside the files people keep: ._01.jpg (macOS resource forks,
    written beside every file a Mac copies to a shared drive), .thumbs/, .Trashes/, __MACOSX/ in a
    zip. Not images anyone labelled, nor batches anyone downloaded."""
    return any(part.startswith(".") or part == "__MACOSX" for part in relative.parts)


RESULTS_SUFFIX = "results.csv"
# ...results.csv, or a browser's numbered re-download of one: "results (1).csv" (Chrome), "results(1).csv".
RESULTS_NAME = re.compile(r"results(?: ?\(\d+\))?\.csv$", re.IGNORECASE)


def results_files_below(directory: Path, *, skip: Path | None = None) -> list[Path]:
    """The batch results files below `directory`, in name order: files whose name ends in
    results.csv, as the site names downloads (Batch_<id>_batch_results.csv) and `hits results`
    writes them, or in "results (1).csv", as a browser names a batch downloaded again (its new
    statuses must arrive); the batch's input (.variables.csv), other files and hidden ones (see `is_hidden`)
    are left alone. `skip` is a folder not to look in: the warehouse's quarantine/, whose copies
    of refused files would otherwise come back as new batches every night."""
    skipped = os.path.realpath(skip) if skip else None
    found = [directory / relative for relative in files_below(directory)
             if _is_results_file(directory, relative, skipped=skipped)]
    return sorted(found, key=lambda path: (path.name, str(path)))


def dangling_results_links_below(directory: Path, *, skip: Path | None = None) -> list[tuple[Path, str]]:
    """The links below `directory` named as `results_files_below` would take them whose target is
    gone, with where each points, in name order: a batch that is there by name only."""
    skipped = os.path.realpath(skip) if skip else None
    found = [(directory / relative, target) for relative, target in dangling_links_below(directory)
             if _is_results_file(directory, relative, skipped=skipped)]
    return sorted(found, key=lambda found: (found[0].name, str(found[0])))


def _is_results_file(directory: Path, relative: Path, *, skipped: str | None) -> bool:
    """`relative` is named as a results file is, and is not hidden nor in the real folder `skipped`."""
    return (bool(RESULTS_NAME.search(relative.name)) and not is_hidden(relative)
            and not (skipped and _is_within(os.path.realpath(directory / relative), skipped)))


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
