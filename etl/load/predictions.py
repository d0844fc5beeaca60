"""`crowdaudit load predictions`: the seed's image_paths_and_predictions.csv, as pandas writes it.

`predictions` holds a Python list literal such as `['vestment', 'abaya', 'cloak']` (double quotes
when a label has an apostrophe). It is parsed with a regular expression, never eval'd.
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
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
)
from etl.load.gold import parse_truth
from etl.load.images import (
    IMAGES_OR_VOTES,
    absolute_paths,
    all_distinct,
    check_url_prefix,
    images_not_known,
    url_path,
)
from etl.load.transaction import LoadCounts, LoadResult, load_file, skip_if_loaded, staged
from etl.quality.gate import check_batch, quarantine_on_refusal
from etl.quality.suites import URL_SCHEME

FLAG = "predictions_include_groom_or_bridegroom"
TARGET_CLASSES = ("groom", "bridegroom")
QUOTED = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
LIST_LITERAL = rf"^\[\s*(?:(?:{QUOTED})\s*(?:,\s*(?:{QUOTED})\s*)*,?\s*)?\]$"
# The staged columns as the file's header names them, for the quality gate's messages.
FILE_COLUMNS = {"image_id": "path", "target_in_top_k": FLAG}


def predictions_frame(path: Path) -> pl.DataFrame:
    raw = read_text_csv(path, required=("path", "predictions", FLAG), fold_case=True)
    frame = raw.select(
        ROW_COLUMN,
        pl.col("path").str.strip_chars().str.strip_prefix("./").alias("path"),
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
            str(path), f"{bad['flag_text']!r} is not True or False" if (bad["flag_text"] or "").strip()
            else "the cell is empty (True or False expected)", row=bad[ROW_COLUMN], column=FLAG
        )
    labels = pl.col("predictions").str.extract_all(QUOTED).list.eval(
        pl.element().str.slice(1, pl.element().str.len_chars() - 2)
    )
    frame = frame.with_columns(labels.alias("labels"))
    bad = first_bad_row(frame, pl.col("target_in_top_k") & (pl.col("labels").list.len() == 0))
    if bad:
        raise InputFileError(str(path), f"{FLAG} is True but no classes are listed",
                             row=bad[ROW_COLUMN], column=FLAG)
    bad = first_bad_row(frame, pl.col("labels").list.eval(pl.element().str.strip_chars() == "").list.any())
    if bad:
        raise InputFileError(str(path), f"{bad['predictions']!r} holds an empty class name",
                             row=bad[ROW_COLUMN], column="predictions")
    escaped = frame.select(pl.col("labels").explode().unique()).filter(pl.col("labels").str.contains(r"\\"))
    if escaped.height:  # rare (an apostrophe, a tab): decoded once per distinct label
        decoded = {}
        for label in escaped["labels"].to_list():
            try:
                decoded[label] = _python_unescape(label)
            except UnicodeDecodeError as error:
                bad = first_bad_row(frame, pl.col("labels").list.contains(label))
                raise InputFileError(str(path), f"class name {label!r} holds a broken escape ({error.reason})",
                                     row=bad[ROW_COLUMN], column="predictions") from None
        frame = frame.with_columns(pl.col("labels").list.eval(pl.element().replace(decoded)))
    # The flag is what the metrics count; a list that names the target says it cannot be False.
    named = pl.col("labels").list.eval(pl.element().filter(pl.element().str.to_lowercase().is_in(TARGET_CLASSES)))
    bad = first_bad_row(frame.with_columns(named.list.first().alias("target_named")),
                        pl.col("target_named").is_not_null() & ~pl.col("target_in_top_k"))
    if bad:
        raise InputFileError(str(path), f"False, but the classes name {bad['target_named']!r}",
                             row=bad[ROW_COLUMN], column=FLAG)
    return frame


def _python_unescape(label: str) -> str:
    """What Python's repr escaped (\\', \\n, \\t, \\xe9, \\\\ ...) back to the characters; no eval.
    A character beyond U+FFFF that json.dumps wrote as a surrogate pair (\\ud83c\\udf89) is that
    character; half a pair is no character (UnicodeDecodeError), which no text column can hold."""
    decoded = codecs.decode(label.encode("latin-1", "backslashreplace"), "unicode_escape")
    return decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def _resolve_image_ids(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, path: Path, url_prefix: str | None
) -> pl.DataFrame:
    """Map each row's path to the URL workers saw, first of: the path itself when it is a URL; the
    image loaded with that local path (a relative one as written, or taken from this file's folder
    as a manifest's is); prefix + path (with --url-prefix); else the one image whose
    URL ends with /path. A path that ends more than one URL (`7899/01.jpg` in two languages) is
    refused: picking one would put a prediction on the wrong image.

    Only the rows whose path is not a URL are looked up: sending a file of 4M URLs through the
    lookups, none of which it needs, took 10 s and 5 GB."""
    if url_prefix:
        check_url_prefix(url_prefix, str(path))
    is_url = pl.col("path").str.contains(f"^{URL_SCHEME}")
    by_url = frame.filter(is_url).with_columns(pl.col("path").alias("image_id"))
    if by_url.height == frame.height:
        return by_url
    by_path = _resolve_paths(con, frame.filter(~is_url), path, url_prefix)
    if not by_url.height:
        return by_path
    return pl.concat([by_url, by_path.select(by_url.columns).cast(by_url.schema)]).sort(ROW_COLUMN)


def _resolve_paths(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, path: Path, url_prefix: str | None
                   ) -> pl.DataFrame:
    """`_resolve_image_ids` for rows whose path is not a URL."""
    prefixed = pl.lit(None, pl.String)
    if url_prefix:
        prefixed = pl.lit(url_prefix.rstrip("/") + "/") + url_path(pl.col("path").str.strip_prefix("/"))
    staged = absolute_paths(frame.with_columns(prefixed.alias("prefixed"), pl.col("path").alias("local")),
                            "local", path.parent)
    # Three queries rather than one with CTEs: DuckDB 2.0 can hang for good when two parts of a
    # query read one CTE of a million rows (see images_not_known).
    by_path = con.sql(
        """
        -- two equality joins: one on an OR would compare every row with every image
        SELECT source_row, min(image_id) AS image_id, count(DISTINCT image_id) AS n
        FROM (SELECT s.source_row, i.image_id FROM staged AS s JOIN raw.images AS i ON i.path = s.path
              UNION ALL
              SELECT s.source_row, i.image_id FROM staged AS s JOIN raw.images AS i ON i.path = s.local
              WHERE s.local <> s.path)
        GROUP BY source_row
        """
    ).pl()
    by_suffix = _images_ending_with(  # noqa: F841 (read by the last query)
        con, staged.filter(pl.col("prefixed").is_null()).join(by_path, on=ROW_COLUMN, how="anti"))
    resolved = con.sql(
        """
        SELECT s.*,
               coalesce(p.image_id, s.prefixed, CASE WHEN x.n = 1 THEN x.image_id END) AS image_id,
               CASE WHEN p.n > 1 THEN p.image_id || ' and ' || (p.n - 1) || ' other(s) have this path'
                    WHEN x.n > 1 THEN x.image_id || ' and ' || x.other
                         || CASE WHEN x.n > 2 THEN ' (and ' || (x.n - 2) || ' more)' ELSE '' END END AS ambiguous
        FROM staged AS s
        LEFT JOIN by_path AS p USING (source_row)
        LEFT JOIN by_suffix AS x USING (source_row)
        ORDER BY s.source_row
        """
    ).pl()
    bad = first_bad_row(resolved, pl.col("ambiguous").is_not_null())
    if bad:
        raise InputFileError(
            str(path),
            f"path {bad['path']!r} could be more than one loaded image ({bad['ambiguous']}); "
            "give the URL, a longer path, or --url-prefix",
            row=bad[ROW_COLUMN], column="path",
        )
    bad = first_bad_row(resolved, pl.col("image_id").is_null())
    if bad:
        raise InputFileError(
            str(path),
            f"path {bad['path']!r} is not a URL and matches no loaded image; load images first "
            f"({crowdaudit_command('load images')}) or pass --url-prefix",
            row=bad[ROW_COLUMN], column="path",
        )
    return resolved.drop("prefixed", "local", "ambiguous")


def _images_ending_with(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> pl.DataFrame:
    """(source_row, image_id, other, n): for each row's path `a/b.jpg`, the images whose URL ends
    with `/a/b.jpg` (the first, the last, how many), as the seed's relative paths are matched. A
    path is also matched percent-encoded as a directory load encodes it (`a b.jpg` is the end of
    `.../a%20b.jpg`): the file's name, not the URL that `load images DIR` made of it.

    An equality join on each image's last k path segments, for the few k the paths have: joining
    on ends_with compared every row with every image (10,000 rows against 5,000,000 images: 135 s).
    The comparison is of text, with no LIKE wildcards (_ and % are common in names)."""
    tail = pl.col("path").str.strip_chars_start("/")
    wanted = pl.concat([rows.select(ROW_COLUMN, tail.alias("tail")), rows.select(ROW_COLUMN, url_path(tail).alias("tail"))]
                       ).unique().with_columns((pl.col("tail").str.count_matches("/") + 1).cast(pl.Int64).alias("k"))
    segment_counts = sorted(wanted["k"].unique().to_list())
    return con.sql(
        """
        SELECT w.source_row, min(t.image_id) AS image_id, max(t.image_id) AS other, count(DISTINCT t.image_id) AS n
        FROM wanted AS w
        JOIN (SELECT i.image_id, c.k, array_to_string(i.parts[-c.k:], '/') AS tail
              FROM (SELECT image_id, string_split(image_id, '/') AS parts FROM raw.images) AS i
              CROSS JOIN (SELECT unnest($counts::BIGINT[]) AS k) AS c
              WHERE len(i.parts) > c.k) AS t  -- a '/' before the tail, as ends_with('/' || tail) asks
          USING (k, tail)
        GROUP BY w.source_row
        """,
        params={"counts": segment_counts},
    ).pl()


def _refuse_contradicting_rows(frame: pl.DataFrame, path: Path) -> None:
    """Rows for one image must agree: two different predictions for it (two files pasted
    together, or two paths that are one URL) leave no way to tell which one the model made.
    Only for a file that names an image twice: comparing every row with its image's first takes 4 s
    on 4M rows, deciding that none repeats 0.1 s (`all_distinct`)."""
    contradiction = first_contradiction(frame, "image_id", ("labels", "target_in_top_k"))
    if contradiction:
        bad, first, column = contradiction
        raise InputFileError(
            str(path), f"{bad['image_id']} is predicted again (first at row {first[ROW_COLUMN]}) with different "
            f"{'classes' if column == 'labels' else FLAG}",
            row=bad[ROW_COLUMN], column="predictions" if column == "labels" else FLAG)


def load_predictions(
    con: duckdb.DuckDBPyConnection, path: Path, *, model: str | None = None, url_prefix: str | None = None,
    allow_warnings: bool = False,
) -> LoadResult:
    path = Path(path)
    refuse_path_not_utf8(path)
    options = {"url_prefix": url_prefix, "model": model}
    sha256, loaded_before = skip_if_loaded(con, "predictions", path, options)
    if loaded_before:
        return loaded_before
    with quarantine_on_refusal(con, path):
        frame = _resolve_image_ids(con, predictions_frame(path), path, url_prefix)
        images_once = all_distinct(frame["image_id"])
        if not images_once:
            _refuse_contradicting_rows(frame, path)
        warnings = check_batch("predictions", path, {"predictions": frame}, allow_warnings=allow_warnings,
                               file_columns=FILE_COLUMNS)
    model_name = model or f"csv:{path.name}"

    def write(con: duckdb.DuckDBPyConnection, load_id: int) -> LoadCounts:
        run_id = f"csv-{load_id}"
        per_image = frame if images_once else frame.unique("image_id", keep="first", maintain_order=True)
        # Each class with its rank in the list (an empty list explodes to a null label, dropped).
        ranked = per_image.select(
            "image_id", pl.int_ranges(1, pl.col("labels").list.len() + 1).alias("rank"), pl.col("labels").alias("label")
        ).explode("rank", "label").drop_nulls("label")
        # Registered under names no table or mart has: DuckDB prefers a table (e.g. the `labels`
        # mart) over a Python variable of the same name.
        with staged(con, staged_image_predictions=per_image, staged_prediction_labels=ranked):
            loaded_before = _run_holding_the_staged_predictions(con, per_image.height, model)
            if loaded_before is not None:
                return LoadCounts(rows_in_file=frame.height, inserted=0,
                                  notes=[_same_predictions_note(con, *loaded_before, model=model), *warnings])
            # In UTC, as `classify` records its runs: the predictions mart takes the newest run per
            # image, and DuckDB's now() is local time (hours off UTC outside Greenwich).
            started_at = datetime.now(UTC).replace(tzinfo=None)
            con.execute(
                "INSERT INTO raw.prediction_runs (run_id, model, weights, top_k, target, source, started_at, "
                "finished_at, is_current, load_id) VALUES (?, ?, NULL, ?, 'groom', 'csv', ?, ?, true, ?)",
                [run_id, model_name, int(frame["labels"].list.len().max() or 0), started_at, started_at, load_id],
            )
            con.execute("INSERT INTO raw.image_predictions SELECT ?, image_id, target_in_top_k "
                        "FROM staged_image_predictions", [run_id])
            con.execute("INSERT INTO raw.prediction_labels SELECT ?, image_id, rank, label, NULL "
                        "FROM staged_prediction_labels", [run_id])
            notes = [*_predictions_for_images_not_loaded(con), *warnings]
        return LoadCounts(rows_in_file=frame.height, inserted=per_image.height, notes=notes)

    return load_file(con, "predictions", path, write, sha256=sha256, options=options)


def _predictions_for_images_not_loaded(con: duckdb.DuckDBPyConnection) -> list[str]:
    """A note when the warehouse has images or votes but some predicted URLs name neither: a
    mistyped host or another URL form would otherwise load, then drop out of classifier_metrics
    (which scores a prediction against the votes and gold of its URL) without a word. Predictions
    loaded first get none, as gold does."""
    missing, total, example = images_not_known(con, "staged_image_predictions", IMAGES_OR_VOTES)
    if not missing:
        return []
    return [(f"note: {missing} of the file's {total} predicted images (e.g. {example!r}) are not in the warehouse's "
             "images or votes; their predictions are loaded, but count in classifier_metrics only where votes "
             "or gold name those URLs")]


def _run_holding_the_staged_predictions(con: duckdb.DuckDBPyConnection, n_images: int, model: str | None
                                        ) -> tuple[str, int | None, str | None] | None:
    """(run_id, load_id, source file) of an earlier CSV run that holds exactly the staged
    predictions (the same images, classes in the same order, flags), or None. A file a spreadsheet
    saved again (CRLF, quotes, a BOM, TRUE for True, columns moved, another name) has other bytes
    than the file it came from: loaded as a new run it became the newest, so an old file saved
    again put its old predictions over every newer run's, without a word. With --model, only a run
    of that model counts: naming the model is how a user makes old predictions the newest on purpose.

    Runs are compared one at a time, exactly (EXCEPT both ways), and only those of as many images."""
    candidates = con.execute(
        """
        SELECT r.run_id, r.load_id, l.source_file
        FROM raw.prediction_runs AS r
        JOIN (SELECT run_id FROM raw.image_predictions GROUP BY run_id HAVING count(*) = $n) USING (run_id)
        LEFT JOIN raw.load_log AS l USING (load_id)
        WHERE r.source = 'csv' AND ($model IS NULL OR r.model = $model)
        ORDER BY r.started_at DESC, r.run_id DESC
        """,
        {"n": n_images, "model": model},
    ).fetchall()
    for run_id, load_id, source_file in candidates:
        same = con.execute(
            """
            SELECT NOT EXISTS (SELECT image_id, target_in_top_k FROM staged_image_predictions
                               EXCEPT SELECT image_id, target_in_top_k FROM raw.image_predictions WHERE run_id = $run)
               AND NOT EXISTS (SELECT image_id, rank, label FROM staged_prediction_labels
                               EXCEPT SELECT image_id, rank, label FROM raw.prediction_labels WHERE run_id = $run)
               AND NOT EXISTS (SELECT image_id, rank, label FROM raw.prediction_labels WHERE run_id = $run
                               EXCEPT SELECT image_id, rank, label FROM staged_prediction_labels)
            """,
            {"run": run_id},
        ).fetchall()[0][0]
        if same:
            return run_id, load_id, source_file
    return None


def _same_predictions_note(con: duckdb.DuckDBPyConnection, run_id: str, load_id: int | None,
                           source_file: str | None, *, model: str | None) -> str:
    """What a file holding an earlier run's predictions did (nothing), and whether newer runs have
    since replaced that run's predictions for some of its images (they stay in use). Given with
    the --model that run has, the file was not loaded: told to pass --model NAME, a user who always
    names the model passed the same one again, and was told the same."""
    replaced = con.execute(
        """
        SELECT count(DISTINCT p.image_id)
        FROM raw.image_predictions AS p
        JOIN raw.prediction_runs AS old ON old.run_id = p.run_id
        JOIN raw.image_predictions AS q ON q.image_id = p.image_id
        JOIN raw.prediction_runs AS new ON new.run_id = q.run_id
        WHERE p.run_id = $run AND new.is_current AND new.finished_at IS NOT NULL
          AND (new.started_at > old.started_at OR new.started_at = old.started_at AND new.run_id > old.run_id)
        """,
        {"run": run_id},
    ).fetchall()[0][0]
    origin = f"load {load_id} ({source_file}, run {run_id})" if load_id is not None else f"run {run_id}"
    note = f"note: {origin} holds these same predictions; they are not loaded again"
    if replaced:
        name = "--model NAME" if model is None else f"a --model NAME other than {model!r}, that run's"
        note += (f"; newer runs have replaced them for {replaced} image(s) and stay in use (to make these the "
                 f"newest on purpose, load the file with {name})")
    return note
