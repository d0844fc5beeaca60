"""Read a CSV as text columns with polars, and say exactly where a bad file goes wrong.

polars reads fast and copes with what the MTurk site writes (a UTF-8 BOM, CRLF, every field
quoted, quoted commas/newlines, rows shorter than the header), but its errors name no row. When
it fails we re-read the file with the standard csv module purely to find the row and column to
report; the data path never loops over rows in Python.

polars pads a short row with nulls, and reads an unquoted empty field as null too, so a row cut
off in the middle looks like one with empty cells. A loader that says which trailing columns a
row may leave out gets every other short row refused; the csv module counts fields only for the
rows polars cannot vouch for (see `_refuse_rows_cut_short`).
"""

from __future__ import annotations

import csv
import itertools
import mmap
import os
import re
from pathlib import Path

import polars as pl

from etl.errors import InputFileError

ROW_COLUMN = "source_row"


class NoDataRows(InputFileError):
    """A file that holds its header and nothing else. Refused like any bad file, except where an
    empty file has a meaning of its own (a batch results file before anyone answered): `columns`
    is its header, so such a caller can still tell whether it is a file of the kind it reads."""

    def __init__(self, file: str, columns: list[str]):
        super().__init__(file, "has a header but no data rows", row=2)
        self.columns = columns


# A file this large that reads as no data rows is not one header line: it is not read whole to tell.
HEADER_ONLY_MAX_BYTES = 1 << 20


def refuse_unless_only_a_header(path: Path, empty: NoDataRows) -> None:
    """Where a header-only file means something (a batch nobody has answered yet), make sure that is
    what `empty` read: one header line ending with a line break (the site ends every row with one),
    then nothing but blank lines. Rows whose every cell is empty are refused as no data rows, and a
    file that ends inside its header, a download cut off in its first line whose batch may well
    have answers, at its last column: either passed as 'no answers yet' every night."""
    if path.stat().st_size > HEADER_ONLY_MAX_BYTES:
        raise empty
    content = path.read_bytes()
    header_line = content.rstrip(b"\r\n")
    if b"\n" in header_line or b"\r" in header_line:
        raise empty
    if header_line == content:  # the last name as written: polars reads an unclosed '"Rej' as 'Re'
        last_name = header_line.rsplit(b",", 1)[-1].strip(b'"').decode("utf-8", errors="replace")
        raise InputFileError(str(path), "the file ends inside its header, with no line break after it: a download "
                             "unfinished or cut off; download it again", row=1, column=last_name)


def read_text_csv(path: Path, *, required: list[str] | tuple[str, ...] = (),
                  rows_may_omit: tuple[str, ...] | None = None, fold_case: bool = False) -> pl.DataFrame:
    """All columns as strings plus `source_row` (the file's row number, header = row 1).

    Blank lines are skipped, and so are columns without a name (pandas' index, a spreadsheet's
    empty trailing columns). With `fold_case`, column names are lower-cased (`URL,Language` is `url,language`:
    for files people write; the site's results files are matched exactly). With `rows_may_omit`, a row may be shorter than the header only by
    those columns, at the header's end (the site leaves out an empty Approve, Reject); a row
    shorter than that is refused as cut off. Without it, short rows read as empty cells."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(str(path), "no such file")
    if path.is_dir():
        raise InputFileError(str(path), "is a directory, not a CSV file")
    if path.stat().st_size == 0:
        raise InputFileError(str(path), "the file is empty")
    _refuse_unreadable_bytes(path)
    try:
        frame = pl.read_csv(path, infer_schema=False, raise_if_empty=True)
    except (pl.exceptions.PolarsError, UnicodeDecodeError, OSError) as error:
        raise diagnose(path, error) from None
    frame = _without_unnamed_columns(frame)
    header = [name.strip().lower() if fold_case else name.strip() for name in frame.columns]
    frame.columns = header
    _check_header(path, header, required)
    frame = frame.with_row_index(ROW_COLUMN, offset=2).with_columns(pl.col(ROW_COLUMN).cast(pl.Int64))
    # A blank line (often the file's last) reads as a row of nulls; it holds nothing to load.
    blank = pl.all_horizontal(pl.col(header).is_null())
    if frame.select(blank.any()).item():  # filtering copies every column: only when there is one
        frame = frame.filter(~blank)
    if frame.height == 0:
        raise NoDataRows(str(path), header)
    if rows_may_omit is not None:
        _refuse_rows_cut_short(path, frame, header, rows_may_omit)
        _refuse_a_last_cell_cut_off(path, frame, header)
    return frame


def _without_unnamed_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns without a name: pandas' index column, the empty ones a spreadsheet adds. No loader
    asks for them by name. polars names them '' and '_duplicated_<n>'."""
    return frame.drop([name for name in frame.columns
                       if not name.strip() or re.fullmatch(r"_duplicated_\d+", name)])


def _refuse_unreadable_bytes(path: Path) -> None:
    """Refuse what polars would read without complaint but wrongly: a UTF-16 file (Excel's
    'Unicode Text'), line ends that are carriage returns only (the whole file reads as a header),
    and NUL bytes (stored inside a URL or worker id, where no query would match them)."""
    with open(path, "rb") as handle:
        head = handle.read(65536)
        if head.startswith((b"\xff\xd8\xff", b"\x89PNG", b"GIF8")) or head[8:12] == b"WEBP":
            raise InputFileError(str(path), "is an image, not a CSV file (to register a folder of images, give "
                                            "the folder and --url-prefix)")
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputFileError(str(path), "the file is UTF-16 (Excel's 'Unicode Text'); save it as 'CSV UTF-8'")
        if b"\r" in head and b"\n" not in head:
            raise InputFileError(str(path), "its lines end with a carriage return only (old Mac line ends); "
                                            "save it with LF or CRLF line ends", row=1)
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as content:  # memchr: ~0.1 s per GB
            has_nul = content.find(b"\x00") >= 0
    if has_nul:
        raise _first_nul(path)


def _first_nul(path: Path) -> InputFileError:
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        for row_number, row in enumerate(itertools.chain([header], reader), start=1):
            if not encodes_as_utf8("".join(row)):  # a binary file: that is the news, not its NULs
                return _not_utf8(path, row_number, row, header)
            index = next((i for i, value in enumerate(row) if "\x00" in value), None)
            if index is not None:
                return InputFileError(str(path), "the cell holds a NUL byte (\\x00): the file is damaged or "
                                      "not a text CSV", row=row_number, column=_column_name(header, row_number, index))
    return InputFileError(str(path), "the file holds a NUL byte (\\x00): it is damaged or not a text CSV")


def _refuse_rows_cut_short(path: Path, frame: pl.DataFrame, header: list[str], may_omit: tuple[str, ...]) -> None:
    """Refuse a row that ends before the last column it must have (a file cut off, or a row cut
    short by hand): its missing answer would otherwise read as 'ticked nothing'.

    Only a row whose last required column is null can be short. In the site's files (every field
    quoted, so an empty cell is "" and not null) that is only a short row; in a re-saved file it
    is also a row whose cell there is empty, so those rows' fields are counted with the csv module."""
    omittable = 0
    while omittable < len(header) - 1 and header[-1 - omittable] in may_omit:
        omittable += 1
    must_have = len(header) - omittable
    suspects = frame.filter(pl.col(header[must_have - 1]).is_null())[ROW_COLUMN]
    if suspects.is_empty():
        return
    fields = _field_counts(path, set(suspects.to_list()))
    short = sorted(row for row, n in fields.items() if 0 < n < must_have)
    if short:
        row = short[0]
        n = fields[row]
        raise InputFileError(
            str(path),
            f"the row ends after {n} of the header's {len(header)} fields (nothing from {header[n]} on): "
            "the file looks cut off or edited; download it again",
            row=row,
            column=header[n],
        )


def _refuse_a_last_cell_cut_off(path: Path, frame: pl.DataFrame, header: list[str]) -> None:
    """Refuse a file that ends inside an unquoted cell of a row that stops before the header's end:
    a download not finished, whose last cell ("image1|image12" read as far as "image1|image1") may
    be a valid answer. The site ends every row with a line break and quotes every cell, so a cut
    there is a short row or an open quote, both refused; a file written without quotes (pandas, a
    converter) is not. A row with every field of the header (a spreadsheet's export, often without
    a last line break) ends with the header's last column, in the site's files Reject, which holds
    nothing we read.

    Only a file whose last byte is not a line end or a quote pays for counting its last row's fields."""
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) in b'\r\n"':
            return
    last_row = frame[ROW_COLUMN][-1]
    fields = _field_counts(path, {last_row}).get(last_row, len(header))
    if fields < len(header):
        raise InputFileError(
            str(path),
            f"the file ends inside this cell, with no line break after it and nothing from {header[fields]} "
            "on: a download unfinished or cut off; download it again",
            row=last_row,
            column=header[fields - 1],
        )


def _field_counts(path: Path, rows: set[int]) -> dict[int, int]:
    """{file row: number of fields} for `rows`, read with the csv module (header = row 1)."""
    counts: dict[int, int] = {}
    last = max(rows)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row_number, fields in enumerate(reader, start=2):
            if row_number in rows:
                counts[row_number] = len(fields)
            if row_number >= last:
                break
    return counts


def _check_header(path: Path, header: list[str], required: list[str] | tuple[str, ...]) -> None:
    # polars renames a repeated column to <name>_duplicated_<n> rather than failing.
    renamed = {name.rsplit("_duplicated_", 1)[0] for name in header if re.search(r"_duplicated_\d+$", name)}
    duplicates = sorted({name for name in header if header.count(name) > 1} | renamed)
    if duplicates:
        raise InputFileError(str(path), f"the header repeats column(s) {', '.join(duplicates)}", row=1)
    if ROW_COLUMN in header:
        raise InputFileError(str(path), f"the column name {ROW_COLUMN!r} is one crowdaudit keeps for the file's "
                             "row numbers; rename or delete that column", row=1, column=ROW_COLUMN)
    missing = [name for name in required if name not in header]
    if missing:
        hint = f" ({NOT_COMMA_SEPARATED})" if _not_comma_separated(header) else ""
        raise InputFileError(
            str(path), f"missing required column(s) {', '.join(missing)}{hint}", row=1
        )


NOT_COMMA_SEPARATED = "the file does not look comma-separated: is the delimiter ';' or a tab?"


def _not_comma_separated(header: list[str]) -> bool:
    """A header read as one column that holds another delimiter: Excel's 'CSV' where the decimal
    mark is a comma (it writes ';'), or a tab-separated export."""
    return len(header) == 1 and any(sep in header[0] for sep in ";\t|")


def diagnose(path: Path, error: Exception) -> InputFileError:
    """Find the first row and column that makes `path` unreadable as a CSV.

    Rows are counted as records (a quoted line break does not start a row), as everywhere else.
    Bytes that are not UTF-8 are kept as surrogates so the reader can go on and name the cell."""
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.reader(handle, strict=True)
        row_number = 0  # the last record read whole; the reader gives up on the next
        try:
            header = next(reader, [])
            for row_number, row in enumerate(itertools.chain([header], reader), start=1):
                if not encodes_as_utf8("".join(row)):
                    return _not_utf8(path, row_number, row, header)
                if row_number > 1 and len(row) > len(header):
                    if _not_comma_separated(header):  # a comma inside a cell split the row, not the delimiter
                        return InputFileError(str(path), f"the header reads as one column; {NOT_COMMA_SEPARATED}", row=1)
                    return InputFileError(
                        str(path),
                        f"{len(row)} fields where the header has {len(header)}",
                        row=row_number,
                        column=f"{len(header) + 1} (no header for it)",
                    )
        except csv.Error as bad:
            return InputFileError(
                str(path), f"malformed CSV (line {reader.line_num} of the file): {bad}", row=row_number + 1
            )
    return InputFileError(str(path), f"cannot be read as CSV: {str(error).splitlines()[0]}")


def refuse_path_not_utf8(path: Path, *, resolved: bool = False) -> None:
    """Refuse a file or folder whose path is not UTF-8 (a zip made on Windows, an old share), by
    name, before anything reads it: neither polars nor the load log can hold such a name (a
    traceback), and a path stored from it comes out garbled. `resolved`: the absolute path, for a
    folder whose files' paths are stored (`load images DIR`, a manifest's relative paths)."""
    text = str(Path(path).resolve()) if resolved else str(path)
    if not encodes_as_utf8(text):
        raise InputFileError(os.fsencode(text).decode("utf-8", "backslashreplace"),
                             "its path is not UTF-8 (a zip made on Windows, an old share); rename it")


def encodes_as_utf8(text: str) -> bool:
    """False for text holding bytes that were not UTF-8 (kept by Python as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_utf8(path: Path, row_number: int, row: list[str], header: list[str]) -> InputFileError:
    index = next(i for i, value in enumerate(row) if not encodes_as_utf8(value))
    value = row[index]
    position = next(i for i, char in enumerate(value) if not encodes_as_utf8(char))
    raw = value[position:position + 4].encode("utf-8", "surrogateescape")
    return InputFileError(
        str(path),
        f"bytes that are not UTF-8 ({raw!r}, character {position + 1} of the cell); save the file as UTF-8",
        row=row_number,
        column=_column_name(header, row_number, index),
    )


def _column_name(header: list[str], row_number: int, index: int) -> str:
    """The header's name for field `index` of a row; its position when the header has none."""
    return header[index] if row_number > 1 and index < len(header) else f"{index + 1}"


def first_bad_row(frame: pl.DataFrame, bad: pl.Expr) -> dict | None:
    """The first row where `bad` holds, as a dict, or None."""
    hits = frame.filter(bad).head(1)
    return hits.to_dicts()[0] if hits.height else None


def refuse_control_characters(frame: pl.DataFrame, path: Path, columns: dict[str, str]) -> None:
    """Refuse an id holding a line break, a tab or another control character, at its row and
    column. A quoted cell may hold one; such an id names nothing anyone can type or match, and
    breaks every line-based listing of it. `columns`: {frame column: the file's column name}."""
    for name, column in columns.items():
        bad = first_bad_row(frame, pl.col(name).str.contains(r"\p{Cc}"))
        if bad:
            raise InputFileError(str(path), f"{column} {bad[name]!r} holds a line break or another control "
                                 "character; an id is one line of text", row=bad[ROW_COLUMN], column=column)


def without_repeats(frame: pl.DataFrame, key: str | list[str]) -> tuple[pl.DataFrame, int]:
    """(the first row of each `key`, how many later rows were dropped). Callers refuse rows that
    contradict an earlier one first, so a dropped row only repeats it; the count is returned so that
    "rows read" stays the file's rows and the summary can say how many repeats counted once."""
    kept = frame.unique(key, keep="first", maintain_order=True)
    return kept, frame.height - kept.height


def first_contradiction(frame: pl.DataFrame, key: str, columns: tuple[str, ...] | list[str]
                        ) -> tuple[dict, dict, str] | None:
    """(the first row that differs from the first row with the same `key`, that first row, the
    first of `columns` where they differ), or None when every key's rows agree. Naming the later
    row points at the line to fix; the earlier one is what it contradicts."""
    differs = [pl.col(c).ne_missing(pl.col(c).first().over(key)) for c in columns]
    bad = first_bad_row(frame, pl.any_horizontal(differs))
    if bad is None:
        return None
    first = frame.filter(pl.col(key) == bad[key]).row(0, named=True)
    return bad, first, next(c for c in columns if bad[c] != first[c])
