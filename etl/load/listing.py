"""The files below a folder, as a directory load sees them: symlinked folders followed (a dataset
often links language folders in from elsewhere), each real folder once (a link back up would
otherwise loop forever)."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BrokenLink:
    """A symlink below a folder that leads to no file: its path relative to the folder, where it
    points, and why it leads nowhere (NOT_THERE, LOOP, or the system's words)."""

    relative: Path
    target: str
    reason: str

    def describe(self) -> str:
        if self.reason == NOT_THERE:
            return f"a link to {self.target}, which is not there (moved, or on a drive not mounted)"
        if self.reason == LOOP:
            return f"a link to {self.target}, which leads back to itself (a loop of links)"
        return f"a link to {self.target}, which cannot be reached ({self.reason})"

    def brief(self) -> str:
        return f"{self.relative.as_posix()} -> {self.target} ({self.reason})"


NOT_THERE = "not there"
LOOP = "a loop of links"


@dataclass(frozen=True)
class UnreadableFolder:
    """A folder below a folder whose files cannot be listed (permission denied, a drive gone): its
    path relative to the folder, and the system's words."""

    relative: Path
    reason: str

    def brief(self) -> str:
        return f"{self.relative.as_posix()} ({self.reason})"


def entries_below(directory: Path, unreadable: list[UnreadableFolder] | None = None
                  ) -> tuple[dict[Path, int], list[BrokenLink]]:
    """({every file below `directory`: its size}, every link there that leads to no file), as
    paths relative to it, from one walk. A link whose target is gone (moved, on a drive not
    mounted) must be said, or a caller drops a batch or an image no one hears of; finding them
    costs nothing more than the stat that tells a file from anything else, and that stat's size
    is what a directory's fingerprint needs (see transaction.directory_fingerprint). The folders
    that could not be listed are added to `unreadable` when given: os.walk passes over them
    without a word, and every file in them with them."""
    files: dict[Path, int] = {}
    broken: list[BrokenLink] = []
    for relative in _names_below(directory, unreadable if unreadable is not None else []):
        path = directory / relative
        try:
            status = os.stat(path)
        except OSError as error:
            if os.path.islink(path):
                broken.append(BrokenLink(relative, os.readlink(path), _why_unreachable(error)))
            continue
        if stat.S_ISREG(status.st_mode):
            files[relative] = status.st_size
    return files, broken


def _why_unreachable(error: OSError) -> str:
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        return NOT_THERE
    if error.errno == errno.ELOOP:
        return LOOP
    return error.strerror or str(error)


def _names_below(directory: Path, unreadable: list[UnreadableFolder]) -> Iterator[Path]:
    """What os.walk lists as not a folder below `directory` (files, dangling links, sockets ...);
    the folders it cannot list go to `unreadable`."""
    def cannot_list(error: OSError) -> None:
        folder = Path(error.filename) if error.filename else directory
        relative = folder.relative_to(directory) if folder.is_relative_to(directory) else folder
        unreadable.append(UnreadableFolder(relative, error.strerror or str(error)))

    seen: set[str] = set()
    for folder, subfolders, files in os.walk(directory, followlinks=True, onerror=cannot_list):
        real = os.path.realpath(folder)
        if real in seen:
            subfolders.clear()
            continue
        seen.add(real)
        relative = Path(folder).relative_to(directory)
        for name in files:
            yield relative / name


def is_hidden(relative: Path) -> bool:
    """What operating systems and programs leave beside the files people keep: ._01.jpg (macOS
    resource forks, written beside every file a Mac copies to a shared drive), .thumbs/, .Trashes/,
    __MACOSX/ in a zip, ~$Batch_1_batch_results.csv (the owner file Excel writes, hidden on
    Windows, beside a file it has open, there as long as it is open: a night's job refused it as a
    batch). Not images anyone labelled, nor batches anyone downloaded."""
    return any(part.startswith((".", "~$")) or part == "__MACOSX" for part in relative.parts)


RESULTS_SUFFIX = "results.csv"
# ...results.csv, or a browser's numbered re-download of one: "results (1).csv" (Chrome), "results(1).csv".
RESULTS_NAME = re.compile(r"results(?: ?\(\d+\))?\.csv$", re.IGNORECASE)


def results_files_below(directory: Path, *, skip: Path | None = None,
                        unreadable: list[UnreadableFolder] | None = None,
                        ) -> tuple[list[Path], list[tuple[Path, BrokenLink]]]:
    """(the batch results files below `directory`, in name order; the links named as one that lead to no
    file, with the path to each), and the folders there that could not be listed added to
    `unreadable` (a batch in one would be missed without a word; hidden ones, such as a drive's
    .Trashes, are left out as their files are): files whose name ends in results.csv, as the site names downloads
    (Batch_<id>_batch_results.csv) and `hits results` writes them, or in "results (1).csv", as a
    browser names a batch downloaded again (its new statuses must arrive); the batch's input
    (.variables.csv), other files and hidden ones (see `is_hidden`) are left alone. `skip` is a
    folder not to look in: the warehouse's quarantine/, whose copies of refused files would
    otherwise come back as new batches every night."""
    skipped = os.path.realpath(skip) if skip else None
    not_listed: list[UnreadableFolder] = []
    files, broken = entries_below(directory, not_listed)
    if unreadable is not None:
        unreadable += [folder for folder in not_listed if not _left_alone(directory, folder.relative, skipped=skipped)]
    found = [directory / relative for relative in files if _is_results_file(directory, relative, skipped=skipped)]
    broken_found = [(directory / link.relative, link) for link in broken
                    if _is_results_file(directory, link.relative, skipped=skipped)]
    return (sorted(found, key=lambda path: (path.name, str(path))),
            sorted(broken_found, key=lambda found: (found[0].name, str(found[0]))))


def each_file_once(paths: list[Path]) -> list[Path]:
    """`paths` without a file met again, by its real path, each where it first came: a batch named
    on the command line and again through its folder (or a folder named twice, once through a
    link) would otherwise be read twice and counted twice in the closing line."""
    first: dict[str, Path] = {}
    for path in paths:
        first.setdefault(os.path.realpath(path), path)
    return list(first.values())


def _is_results_file(directory: Path, relative: Path, *, skipped: str | None) -> bool:
    """`relative` is named as a results file is, and is not left alone (see `_left_alone`)."""
    return bool(RESULTS_NAME.search(relative.name)) and not _left_alone(directory, relative, skipped=skipped)


def _left_alone(directory: Path, relative: Path, *, skipped: str | None) -> bool:
    """`relative` is hidden, or in the real folder `skipped` (the warehouse's quarantine/)."""
    return is_hidden(relative) or bool(skipped and _is_within(os.path.realpath(directory / relative), skipped))


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
