"""Write a file so that a reader only ever sees all of it or none of it.

A results file cut off at a line end by a killed process loads as a smaller batch without any
error, and a half-written report looks like a finished one; writing beside the target and renaming
over it (atomic within one file system) leaves at worst a stray `<name>.part` behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_whole(path: Path) -> Iterator[Path]:
    """Yield the name to write to instead of `path`; on success it becomes `path`, on any error
    (a full disk, Ctrl-C) it is removed, so `path` is never a part of a file."""
    partial = path.with_name(path.name + ".part")
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str) -> Path:
    """Write `text` as UTF-8 to `path` with line ends exactly as given; return the path."""
    path = Path(path)
    with replaced_whole(path) as partial, open(partial, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def copy_atomically(source: Path, path: Path) -> Path:
    """Copy `source` to `path` (see `replaced_whole`); return the path."""
    path = Path(path)
    with replaced_whole(path) as partial:
        shutil.copyfile(source, partial)
    return path
