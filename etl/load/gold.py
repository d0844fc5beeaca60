"""`crowdaudit load gold`: known answers (gold), by image URL or by task id of long-format votes."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import duckdb
import polars as pl

from etl.errors import InputFileError
from etl.load.csvfile import (
    ROW_COLUMN,
    first_bad_row,
    first_contradiction,
    read_text_csv,
    refuse_control_characters,
    refuse_path_not_utf8,
    without_repeats,
)
from etl.load.images import HTTP_URL, IMAGES_OR_VOTES, images_not_known, not_a_url
from etl.load.transaction import LoadCounts, LoadResult, load_file, skip_if_loaded, staged, upsert_by_key
from etl.quality.gate import check_batch, quarantine_on_refusal

TRUE_WORDS = ("true", "1", "yes", "y", "t")
FALSE_WORDS = ("false", "0", "no", "n", "f")


def parse_truth(column: str) -> pl.Expr:
    """true/false, 1/0, yes/no in any case; null for anything else (checked by the caller)."""
    word = pl.col(column).str.strip_chars().str.to_lowercase()
    return pl.when(word.is_in(TRUE_WORDS)).then(True).when(word.is_in(FALSE_WORDS)).then(False)


class StagedGold(NamedTuple):
    gold: pl.DataFrame  # image_id, truth
    repeats: int  # rows that repeated an earlier one and were dropped
    file_columns: dict[str, str]  # a staged column as this file's header names it (url or task), for the gate


def gold_frame(path: Path, *, positive: str | None = None, urls_only: bool = False) -> StagedGold:
    """The known answers of a url,truth or task,truth file. With `positive`, truth is
    `value == positive` (for files coded 1/2 or by class name) and the file must hold exactly
    two values. `urls_only`: every key must be an http(s) URL, whatever the column's name (for
    images that go into HITs, as `simulate` writes them)."""
    frame, key = gold_rows(path, positive=positive, urls_only=urls_only)
    gold, repeats = without_repeats(frame, "image_id")
    return StagedGold(gold.select("image_id", "truth"), repeats, {"image_id": key})


def gold_rows(path: Path, *, positive: str | None = None, urls_only: bool = False) -> tuple[pl.DataFrame, str]:
    """(source_row, image_id, truth) of every row of a gold file, checked as `gold_frame` says, and the
    file's key column: for callers that compare the file with another and must name the row."""
    raw = read_text_csv(path, required=("truth",), fold_case=True)
    key = next((c for c in ("url", "task", "image_id") if c in raw.columns), None)
    if key is None or "truth" not in raw.columns:
        raise InputFileError(str(path), "needs columns url,truth (or task,truth)", row=1)
    if positive is not None:  # compared in any case: --positive yes for a file of Yes/No
        label = pl.col("truth").str.strip_chars().str.to_lowercase()
        label = pl.when(label != "").then(label)  # a blank cell is refused at its row below, not as a value
        values = raw.select(label.drop_nulls().unique().sort())["truth"].to_list()
        positive_label = positive.strip().lower()
        if positive_label not in values or len(values) > 2:
            raise InputFileError(
                str(path), f"--positive {positive!r}: truth must hold it and one other value, found {values}",
                column="truth",
            )
        truth = label == positive_label
    else:
        truth = parse_truth("truth")
    frame = raw.select(
        ROW_COLUMN,
        pl.col(key).str.strip_chars().alias("image_id"),
        pl.col("truth").alias("truth_text"),
        truth.alias("truth"),
    )
    bad = first_bad_row(frame, pl.col("image_id").fill_null("") == "")
    if bad:
        raise InputFileError(str(path), f"{key} is empty", row=bad[ROW_COLUMN], column=key)
    refuse_control_characters(frame, path, {"image_id": key})
    if key == "url" or urls_only:  # a task id may be anything; a url column holds what workers were shown
        bad = first_bad_row(frame, ~pl.col("image_id").str.contains(HTTP_URL))
        if bad:
            raise InputFileError(str(path), f"{key} {not_a_url(bad['image_id'])}",
                                 row=bad[ROW_COLUMN], column=key)
    bad = first_bad_row(frame, pl.col("truth").is_null())
    if bad:
        value = (bad["truth_text"] or "").strip()
        problem = f"truth {value!r} is not true/false, 1/0 or yes/no" if value else "truth is empty"
        raise InputFileError(str(path), problem, row=bad[ROW_COLUMN], column="truth")
    contradiction = first_contradiction(frame, "image_id", ("truth",))
    if contradiction:
        bad, first, _ = contradiction
        raise InputFileError(str(path), f"{bad['image_id']} is given both true and false "
                             f"(first at row {first[ROW_COLUMN]})", row=bad[ROW_COLUMN], column="truth")
    return frame.select(ROW_COLUMN, "image_id", "truth"), key


def load_gold(con: duckdb.DuckDBPyConnection, path: Path, *, positive: str | None = None,
              allow_warnings: bool = False) -> LoadResult:
    """Insert new gold answers and correct changed ones (the newest file wins)."""
    refuse_path_not_utf8(Path(path))
    options = {"positive": positive}
    sha256, loaded_before = skip_if_loaded(con, "gold", Path(path), options)
    if loaded_before:
        return loaded_before
    with quarantine_on_refusal(con, Path(path)):
        staged_gold, repeats, file_columns = gold_frame(Path(path), positive=positive)
        warnings = check_batch("gold", Path(path), {"gold": staged_gold}, allow_warnings=allow_warnings,
                               file_columns=file_columns)

    def write(con: duckdb.DuckDBPyConnection, load_id: int) -> LoadCounts:
        with staged(con, staged_gold=staged_gold):
            inserted, updated = upsert_by_key(
                con, table="raw.gold", staged="staged_gold", keys=("image_id",), values=("truth",),
                load_id=load_id,
            )
            notes = [*_gold_for_images_not_loaded(con), *warnings]
        return LoadCounts(rows_in_file=staged_gold.height + repeats, inserted=inserted, updated=updated, notes=notes,
                          repeats=repeats)

    return load_file(con, "gold", Path(path), write, sha256=sha256, options=options)


def _gold_for_images_not_loaded(con: duckdb.DuckDBPyConnection) -> list[str]:
    """A note when the warehouse has images or votes but some gold names neither: a mistyped URL
    would otherwise be gold for nothing until `validate` is run. Gold loaded first gets none."""
    missing, total, example = images_not_known(con, "staged_gold", IMAGES_OR_VOTES)
    if not missing:
        return []
    return [(f"note: {missing} of the file's {total} gold images (e.g. {example!r}) are not in the warehouse's "
            "images or votes (a mistyped URL?); they are loaded, but score no worker until workers vote on an "
            "image with that URL, and classifier_metrics counts them under region 'unknown' until it is registered")]
