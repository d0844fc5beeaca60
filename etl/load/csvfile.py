"""Read a CSV as text columns with polars, and say exactly where a bad file goes wrong.

polars reads fast and copes with what the MTurk site writes (a UTF-8 BOM, CRLF, every field
quoted, quoted commas/newlines, rows shorter than the header), but its errors name no row. When
it fails we re-read the file with the standard csv module purely to find the row and column to
report; the data path never loops over rows in Python.
"""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path

import polars as pl

from etl.errors import InputFileError

ROW_COLUMN = "source_row"


def read_text_csv(path: Path, *, required: list[str] | tuple[str, ...] = ()) -> pl.DataFrame:
    """All columns as strings plus `source_row` (the file's row number, header = row 1)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(str(path), "no such file")
    if path.is_dir():
        raise InputFileError(str(path), "is a directory, not a CSV file")
    if path.stat().st_size == 0:
        raise InputFileError(str(path), "the file is empty")
    try:
        frame = pl.read_csv(path, infer_schema=False, raise_if_empty=True)
    except (pl.exceptions.PolarsError, UnicodeDecodeError, OSError) as error:
        raise diagnose(path, error) from None
    header = [name.strip() for name in frame.columns]
    frame.columns = header
    _check_header(path, header, required)
    if frame.height == 0:
        raise InputFileError(str(path), "has a header but no data rows", row=2)
    return frame.with_row_index(ROW_COLUMN, offset=2).with_columns(pl.col(ROW_COLUMN).cast(pl.Int64))


def _check_header(path: Path, header: list[str], required: list[str] | tuple[str, ...]) -> None:
    # polars renames a repeated column to <name>_duplicated_<n> rather than failing.
    renamed = {name.rsplit("_duplicated_", 1)[0] for name in header if re.search(r"_duplicated_\d+$", name)}
    duplicates = sorted({name for name in header if header.count(name) > 1} | renamed)
    if duplicates:
        raise InputFileError(str(path), f"the header repeats column(s) {', '.join(duplicates)}", row=1)
    missing = [name for name in required if name not in header]
    if missing:
        hint = ""
        if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
            hint = " (the file does not look comma-separated: is the delimiter ';' or a tab?)"
        raise InputFileError(
            str(path), f"missing required column(s) {', '.join(missing)}{hint}", row=1
        )


def diagnose(path: Path, error: Exception) -> InputFileError:
    """Find the first row and column that makes `path` unreadable as a CSV."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with open(path, "rb") as handle:
        for line_number, raw_line in enumerate(handle, start=1):
            try:
                decoder.decode(raw_line)
            except UnicodeDecodeError as bad:
                return InputFileError(
                    str(path),
                    f"bytes that are not UTF-8 at line {line_number}, byte {bad.start + 1} of the line "
                    f"({raw_line[bad.start:bad.start + 4]!r}); save the file as UTF-8",
                    row=line_number,
                )
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, [])
            for row_number, row in enumerate(reader, start=2):
                if len(row) > len(header):
                    column = f"{len(header) + 1} (no header for it)"
                    return InputFileError(
                        str(path),
                        f"{len(row)} fields where the header has {len(header)}",
                        row=row_number,
                        column=column,
                    )
        except csv.Error as bad:
            return InputFileError(
                str(path), f"malformed CSV near line {reader.line_num}: {bad}", row=reader.line_num
            )
    return InputFileError(str(path), f"cannot be read as CSV: {str(error).splitlines()[0]}")


def first_bad_row(frame: pl.DataFrame, bad: pl.Expr) -> dict | None:
    """The first row where `bad` holds, as a dict, or None."""
    hits = frame.filter(bad).head(1)
    return hits.to_dicts()[0] if hits.height else None
