"""Refused files go to quarantine/ beside the warehouse, each with a JSON and a readable summary."""

from __future__ import annotations

import filecmp
import glob
import json
from datetime import UTC, datetime
from pathlib import Path

from etl.atomic_file import copy_atomically
from etl.errors import InputFileError


def quarantine(directory: Path, path: Path, error: InputFileError) -> tuple[Path, bool]:
    """Copy `path` into `directory` as <time>-<name>; write <that>.json and <that>.txt; return
    (the copy, whether it is new). A file already kept there byte for byte (a nightly job retries
    a refused file every night) is not copied again: its reasons are rewritten as of now."""
    directory.mkdir(parents=True, exist_ok=True)
    refused_at = datetime.now(UTC)
    kept = same_copy(directory, path) if path.is_file() else None
    is_new = kept is None
    if kept is None:
        kept = directory / f"{refused_at:%Y%m%dT%H%M%S%fZ}-{path.name}"
        if path.is_file():  # a directory of images stays where it is; only the reasons are written
            copy_atomically(path, kept)
    outcomes = [o.to_dict() for o in getattr(error, "outcomes", [])]
    failed = [o for o in outcomes if not o["success"]]
    record = {
        "file": str(path),
        "refused_at": refused_at.isoformat(),
        "message": error.args[0] if error.args else str(error),
        "row": error.row,
        "column": error.column,
        "failed_expectations": failed,
        "all_expectations": outcomes,
    }
    Path(f"{kept}.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    Path(f"{kept}.txt").write_text(summary_text(record), encoding="utf-8")
    return kept, is_new


def same_copy(directory: Path, path: Path) -> Path | None:
    """An earlier copy of `path` in `directory`: same name after the time prefix, same bytes."""
    size = path.stat().st_size
    for candidate in sorted(directory.glob(f"*-{glob.escape(path.name)}")):
        if (candidate.name.split("-", 1)[1] == path.name and candidate.stat().st_size == size
                and filecmp.cmp(candidate, path, shallow=False)):
            return candidate
    return None


def summary_text(record: dict) -> str:
    lines = [f"{record['file']} was refused at {record['refused_at']}", "", record["message"], ""]
    if record["failed_expectations"]:
        lines.append("Failed expectations:")
        for outcome in record["failed_expectations"]:
            lines.append(f"  - [{outcome['severity']}] {outcome['suite']}: {outcome['description']} "
                         f"({outcome['expectation']}): {outcome['unexpected_count']} of "
                         f"{outcome['element_count']} row(s)")
            lines += [f"      e.g. {example}" for example in outcome["examples"]]
    else:
        where = ", ".join(f"{k} {record[k]}" for k in ("row", "column") if record[k] is not None)
        lines.append(f"Refused while reading{f' ({where})' if where else ''}.")
    return "\n".join(lines) + "\n"
