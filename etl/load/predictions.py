"""`crowdaudit load predictions`: the seed's image_paths_and_predictions.csv, as pandas writes it.

`predictions` holds a Python list literal such as `['vestment', 'abaya', 'cloak']` (double quotes
when a label has an apostrophe). It is parsed with a regular expression, never eval'd.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from etl.errors import InputFileError
from etl.load.csvfile import ROW_COLUMN, first_bad_row, read_text_csv
from etl.load.gold import parse_truth
from etl.load.transaction import LoadCounts, LoadResult, load_file
from etl.quality.gate import check_batch, quarantine_on_refusal

FLAG = "predictions_include_groom_or_bridegroom"
QUOTED = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
LIST_LITERAL = rf"^\[\s*(?:(?:{QUOTED})\s*(?:,\s*(?:{QUOTED})\s*)*,?\s*)?\]$"


def predictions_frame(path: Path) -> pl.DataFrame:
    raw = read_text_csv(path, required=("path", "predictions", FLAG))
    frame = raw.select(
        ROW_COLUMN,
        pl.col("path").str.strip_chars().alias("path"),
        pl.col("predictions").str.strip_chars().alias("predictions"),
        pl.col(FLAG).alias("flag_text"),
        parse_truth(FLAG).alias("target_in_top_k"),
    )
    bad = first_bad_row(frame, pl.col("path").fill_null("") == "")
    if bad:
        raise InputFileError(str(path), "path is empty", row=bad[ROW_COLUMN], column="path")
    bad = first_bad_row(frame, ~pl.col("predictions").fill_null("").str.contains(LIST_LITERAL))
    if bad:
        raise InputFileError(
            str(path),
            f"{bad['predictions']!r} is not a list of quoted class names such as ['vestment', 'abaya']",
            row=bad[ROW_COLUMN], column="predictions",
        )
    bad = first_bad_row(frame, pl.col("target_in_top_k").is_null())
    if bad:
        raise InputFileError(
            str(path), f"{bad['flag_text']!r} is not True or False", row=bad[ROW_COLUMN], column=FLAG
        )
    return frame.with_columns(
        pl.col("predictions").str.extract_all(QUOTED)
        .list.eval(pl.element().str.slice(1, pl.element().str.len_chars() - 2).str.replace_all(r"\\(.)", "$1"))
        .alias("labels")
    )


def _resolve_image_ids(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, path: Path, url_prefix: str | None
) -> pl.DataFrame:
    """Map each row's path to the URL workers saw: itself, prefix + path, or a known image's path."""
    if url_prefix:
        candidate = pl.lit(url_prefix.rstrip("/") + "/") + pl.col("path").str.strip_prefix("/")
    else:
        candidate = pl.when(pl.col("path").str.contains(r"^https?://")).then(pl.col("path"))
    staged = frame.with_columns(candidate.alias("direct"))  # noqa: F841
    resolved = con.sql(
        """
        SELECT s.*, coalesce(s.direct, by_path.image_id, by_suffix.image_id) AS image_id
        FROM staged AS s
        LEFT JOIN raw.images AS by_path ON by_path.path = s.path
        LEFT JOIN (
            SELECT image_id FROM raw.images
        ) AS by_suffix ON s.direct IS NULL AND by_path.image_id IS NULL
                      AND by_suffix.image_id LIKE '%/' || ltrim(s.path, '/')
        QUALIFY row_number() OVER (PARTITION BY s.source_row ORDER BY by_path.image_id, by_suffix.image_id) = 1
        ORDER BY s.source_row
        """
    ).pl()
    bad = first_bad_row(resolved, pl.col("image_id").is_null())
    if bad:
        raise InputFileError(
            str(path),
            f"path {bad['path']!r} is not a URL and matches no loaded image; load images first "
            "(crowdaudit load images) or pass --url-prefix",
            row=bad[ROW_COLUMN], column="path",
        )
    return resolved


def load_predictions(
    con: duckdb.DuckDBPyConnection, path: Path, *, model: str | None = None, url_prefix: str | None = None,
    allow_warnings: bool = False,
) -> LoadResult:
    path = Path(path)
    with quarantine_on_refusal(con, path):
        frame = _resolve_image_ids(con, predictions_frame(path), path, url_prefix)
        warnings = check_batch("predictions", path, {"predictions": frame}, allow_warnings=allow_warnings)
    model_name = model or f"csv:{path.name}"

    def write(con: duckdb.DuckDBPyConnection, load_id: int) -> LoadCounts:
        run_id = f"csv-{load_id}"
        con.execute(
            "INSERT INTO raw.prediction_runs (run_id, model, weights, top_k, target, source, started_at, "
            "is_current, load_id) VALUES (?, ?, NULL, ?, 'groom', 'csv', now()::TIMESTAMP, true, ?)",
            [run_id, model_name, int(frame["labels"].list.len().max() or 0), load_id],
        )
        per_image = frame.unique("image_id", keep="last", maintain_order=True)
        ranked = per_image.select(
            "image_id", pl.col("labels").list.eval(pl.struct(
                pl.int_range(1, pl.len() + 1).alias("rank"), pl.element().alias("label"))).alias("ranked")
        ).explode("ranked").unnest("ranked").drop_nulls("label")
        # Registered under names no table or mart has: DuckDB prefers a table (e.g. the `labels`
        # mart) over a Python variable of the same name.
        con.register("staged_image_predictions", per_image)
        con.register("staged_prediction_labels", ranked)
        try:
            con.execute("INSERT INTO raw.image_predictions SELECT ?, image_id, target_in_top_k "
                        "FROM staged_image_predictions", [run_id])
            con.execute("INSERT INTO raw.prediction_labels SELECT ?, image_id, rank, label, NULL "
                        "FROM staged_prediction_labels", [run_id])
        finally:
            con.unregister("staged_image_predictions")
            con.unregister("staged_prediction_labels")
        return LoadCounts(rows_in_file=frame.height, inserted=per_image.height, notes=warnings)

    return load_file(con, "predictions", path, write)
