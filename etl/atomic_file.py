"""Write a file so that a reader only ever sees all of it or none of it.

A results file cut off at a line end by a killed process loads as a smaller batch without any
error, and a half-written report looks like a finished one; writing beside the target and renaming
over it (atomic within one file system) leaves at worst a stray `<name>.part` behind.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> Path:
    """Write `text` as UTF-8 to `path` with line ends exactly as given; return the path."""
    path = Path(path)
    partial = path.with_name(path.name + ".part")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path
