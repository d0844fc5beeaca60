"""`crowdaudit load regions`: change which region a language belongs to in a warehouse that exists.

A new warehouse copies the shipped etl/data/language_regions.csv; editing that file afterwards
changes nothing already created, so this loader is how a team re-labels (e.g. puts `urdu` in a
region of its own). Staging reads the table at build time: the next build re-labels old images.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from etl.errors import InputFileError, crowdaudit_command
from etl.load.csvfile import (
    ROW_COLUMN,
    first_bad_row,
    first_contradiction,
    read_text_csv,
    refuse_path_not_utf8,
    without_repeats,
)
from etl.load.images import canonical_regions, language_name, url_languages_sql
from etl.load.transaction import LoadCounts, LoadResult, load_file, staged, upsert_by_key


def regions_frame(path: Path) -> tuple[pl.DataFrame, int]:
    """(one row per language, how many rows repeated an earlier one and were dropped)."""
    raw = read_text_csv(path, required=("language", "region"), fold_case=True)
    frame = raw.select(
        ROW_COLUMN,
        language_name(pl.col("language").str.strip_chars()).alias("language"),
        pl.col("region").str.strip_chars().alias("region"),
    )
    for column in ("language", "region"):
        bad = first_bad_row(frame, pl.col(column).fill_null("") == "")
        if bad:
            raise InputFileError(str(path), f"{column} is empty", row=bad[ROW_COLUMN], column=column)
    contradiction = first_contradiction(frame, "language", ("region",))
    if contradiction:
        bad, first, _ = contradiction
        raise InputFileError(str(path), f"language {bad['language']!r} is given region {bad['region']!r} here "
                             f"and {first['region']!r} at row {first[ROW_COLUMN]}",
                             row=bad[ROW_COLUMN], column="region")
    return without_repeats(frame, "language")


def load_regions(con: duckdb.DuckDBPyConnection, path: Path) -> LoadResult:
    """Insert new languages and move known ones to the region the file gives (the newest file wins)."""
    path = Path(path)
    refuse_path_not_utf8(path)
    languages, repeats = regions_frame(path)
    staged_regions, notes = canonical_regions(con, languages)

    def write(con: duckdb.DuckDBPyConnection, load_id: int) -> LoadCounts:
        with staged(con, staged_regions=staged_regions):
            inserted, updated = upsert_by_key(con, table="raw.language_regions", staged="staged_regions",
                                              keys=("language",), values=("region",), load_id=load_id)
            named = language_from_urls(con, "staged_regions") if inserted else 0
        if named:
            notes.append(f"note: {named} image(s) whose URL names a language new to the table now have it")
        if inserted or updated:
            notes.append(f"note: run `{crowdaudit_command('build')}` to re-label images by the new table")
        return LoadCounts(rows_in_file=staged_regions.height + repeats, inserted=inserted, updated=updated,
                          notes=notes, repeats=repeats)

    return load_file(con, "regions", path, write)


def language_from_urls(con: duckdb.DuckDBPyConnection, languages: str) -> int:
    """Give images without a language the one their URL names (…/urdu/12/01.jpg), for the
    `languages` just added: ingest and directory loads take a language from a URL only when the
    table knows it, so these images were registered without one."""
    return con.execute(
        f"""
        UPDATE raw.images AS i SET language = p.language, word = p.word
        FROM ({url_languages_sql("(SELECT image_id FROM raw.images WHERE language IS NULL)")}) AS p
        WHERE i.image_id = p.image_id AND p.language IN (SELECT language FROM {languages})
        """
    ).fetchall()[0][0]
