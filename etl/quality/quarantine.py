"""Refused files go to quarantine/ beside the warehouse, each with a JSON and a readable summary."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from etl.errors import InputFileError


def quarantine(directory: Path, path: Path, error: InputFileError) -> Path:
    """Copy `path` into `directory` as <time>-<name>; write <that>.json and <that>.txt; return the copy."""
    directory.mkdir(parents=True, exist_ok=True)
    refused_at = datetime.now(UTC)
    kept = directory / f"{refused_at:%Y%m%dT%H%M%S%fZ}-{path.name}"
    if path.is_file():  # a directory of images stays where it is; only the reasons are written
        shutil.copyfile(path, kept)
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
    return kept


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
