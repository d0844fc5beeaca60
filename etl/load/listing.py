"""The files below a folder, as a directory load sees them: symlinked folders followed (a dataset
often links language folders in from elsewhere), each real folder once (a link back up would
otherwise loop forever)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def files_below(directory: Path) -> Iterator[Path]:
    """Every file below `directory`, as a path relative to it."""
    seen: set[str] = set()
    for folder, subfolders, files in os.walk(directory, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            subfolders.clear()
            continue
        seen.add(real)
        relative = Path(folder).relative_to(directory)
        for name in files:
            if os.path.isfile(os.path.join(folder, name)):
                yield relative / name
