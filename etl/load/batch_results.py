"""`crowdaudit ingest`: the requester site's batch results CSV into raw.hits/hit_items/assignments.

One row of the file is one assignment: the HIT's columns (repeated for each of its assignments),
the worker's, `Input.image1..N` (the image URL in each slot) and the answer (`Answer.selected`,
`Answer.taskAnswers` or `Answer.image<N>`), which `etl.load.answer_columns` reads into
selected_slots, the slots ticked as a set. Votes are not stored exploded; the staging model
crosses assignments' selected_slots with hit_items, which keeps ingest fast.

Idempotent: the same file again changes nothing; a re-download where assignments moved on
(Submitted -> Approved/Rejected) updates their status columns and nothing else.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from etl.errors import InputFileError, crowdaudit_command
from etl.hits.answers import TRUTHY, checkbox_value_problem
from etl.load.answer_columns import (
    NONE_OF_THE_ABOVE,
    SELECTED,
    TASK_ANSWERS,
    UNREAD_CHECKBOX,
    answer_column_name,
    checkbox_word,
    foreign_checkbox_columns,
    parse_answers,
    per_slot_answer_columns,
)
from etl.load.csvfile import (
    ROW_COLUMN,
    NoDataRows,
    first_bad_row,
    first_contradiction,
    read_text_csv,
    refuse_path_not_utf8,
    refuse_unless_only_a_header,
    without_repeats,
)
from etl.load.images import all_distinct, not_a_url, register_images_seen, registered_without_region
from etl.load.mturk_format import (
    blank_to_null,
    is_not_blank,
    parse_integer,
    parse_money,
    parse_timestamps,
    unparsed_and_not_blank,
)
from etl.load.transaction import (
    LoadCounts,
    LoadResult,
    file_state,
    fingerprint_soon,
    load_file,
    refuse_if_changed,
    refuse_if_downloading,
    staged,
)
from etl.quality.gate import check_batch, quarantine_on_refusal
from etl.quality.suites import URL_SCHEME

REQUIRED = ("HITId", "AssignmentId", "WorkerId", "AssignmentStatus")
STATUSES = ("Submitted", "Approved", "Rejected")
IMAGE_COLUMN = re.compile(r"^Input\.image(\d+)$")

HIT_COLUMNS = {
    "HITTypeId": "hit_type_id",
    "Title": "title",
    "Description": "description",
    "Keywords": "keywords",
    "Reward": "reward",
    "CreationTime": "creation_time",
    "MaxAssignments": "max_assignments",
    "RequesterAnnotation": "requester_annotation",
    "AssignmentDurationInSeconds": "assignment_duration_in_seconds",
    "AutoApprovalDelayInSeconds": "auto_approval_delay_in_seconds",
    "Expiration": "expiration",
    "NumberOfSimilarHITs": "number_of_similar_hits",
    "LifetimeInSeconds": "lifetime_in_seconds",
}
ASSIGNMENT_COLUMNS = {
    "AssignmentStatus": "assignment_status",
    "AcceptTime": "accept_time",
    "SubmitTime": "submit_time",
    "AutoApprovalTime": "auto_approval_time",
    "ApprovalTime": "approval_time",
    "RejectionTime": "rejection_time",
    "RequesterFeedback": "requester_feedback",
    "WorkTimeInSeconds": "work_time_in_seconds",
    "LifetimeApprovalRate": "lifetime_approval_rate",
    "Last30DaysApprovalRate": "last30_days_approval_rate",
    "Last7DaysApprovalRate": "last7_days_approval_rate",
}
# HIT-level columns repeat on every assignment row, so they are parsed once per HIT.
HIT_TIMESTAMPS = ("CreationTime", "Expiration")
HIT_INTEGERS = ("MaxAssignments", "AssignmentDurationInSeconds", "AutoApprovalDelayInSeconds",
                "NumberOfSimilarHITs", "LifetimeInSeconds")
ASSIGNMENT_TIMESTAMPS = ("AcceptTime", "SubmitTime", "AutoApprovalTime", "ApprovalTime", "RejectionTime")
ASSIGNMENT_INTEGERS = ("WorkTimeInSeconds",)
# Columns the site appends for uploading decisions back; they hold nothing for us.
UPLOAD_COLUMNS = ("Approve", "Reject")
# The staged columns as the file's header names them, for the quality gate's messages.
FILE_COLUMNS = {staged: header for header, staged in {**HIT_COLUMNS, **ASSIGNMENT_COLUMNS}.items()} | {
    "assignment_id": "AssignmentId", "hit_id": "HITId", "worker_id": "WorkerId"}
KNOWN = {"HITId", "AssignmentId", "WorkerId", SELECTED, *HIT_COLUMNS, *ASSIGNMENT_COLUMNS, *UPLOAD_COLUMNS}


def image_slots(columns: list[str]) -> dict[int, str]:
    """{slot number: column} for every Input.image<N> column, whatever N goes up to."""
    return dict(sorted((int(m.group(1)), c) for c in columns if (m := IMAGE_COLUMN.match(c))))


def _no_image_slots(path: Path, columns: list[str]) -> str:
    """Why a file without Input.image<N> columns is refused, and, for a results file of another
    design with one image and one answer per row (the seed's practice HIT: Input.image_url,
    Answer.category.label), how its answers can still be loaded: as long-format votes."""
    inputs = [c for c in columns if c.startswith("Input.")]
    answers = [c for c in columns if c.startswith("Answer.")]
    if not inputs:
        return "no Input.image<N> columns: is this a crowdaudit HIT's results file?"
    refusal = (f"no Input.image<N> columns (it has {', '.join(inputs)}): ingest reads HITs that show images in "
               "slots image1, image2, ... and say which were ticked")
    if len(inputs) != 1 or len(answers) != 1 or answers[0] == TASK_ANSWERS or "WorkerId" not in columns:
        return refusal
    command = crowdaudit_command(" ".join(shlex.quote(word) for word in (
        "load", "votes", str(path), "--task-col", inputs[0], "--worker-col", "WorkerId",
        "--label-col", answers[0], "--positive")))
    return (f"{refusal}. A HIT of one image and one answer loads as long-format votes: {command} VALUE "
            "(a rejected assignment's vote then counts too)")


def _fail(path: Path, row: dict, column: str, problem: str) -> InputFileError:
    return InputFileError(str(path), problem, row=row[ROW_COLUMN], column=column)


def _with_all_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the optional fixed columns a trimmed export may lack, as nulls."""
    absent = [c for c in (*HIT_COLUMNS, *ASSIGNMENT_COLUMNS) if c not in frame.columns]
    return frame.with_columns([pl.lit(None, pl.String).alias(c) for c in absent])


PARSED = "__parsed"


def parsed_name(column: str) -> str:
    return f"{column}{PARSED}"


def parse_hit_columns(hits: pl.DataFrame) -> pl.DataFrame:
    return parse_timestamps(hits, HIT_TIMESTAMPS, suffix=PARSED).with_columns(
        *[parse_integer(c).alias(parsed_name(c)) for c in HIT_INTEGERS],
        parse_money("Reward").alias(parsed_name("Reward")),
    )


def parse_assignment_columns(frame: pl.DataFrame, slots: dict[int, str], path: Path) -> pl.DataFrame:
    """Parse every typed column once (polars runs these in parallel); keep the text for messages."""
    frame = parse_timestamps(frame, ASSIGNMENT_TIMESTAMPS, suffix=PARSED).with_columns(
        parse_integer(c).alias(parsed_name(c)) for c in ASSIGNMENT_INTEGERS
    )
    return parse_answers(frame, slots, path)


# (column, rows that break the rule, message for the first such row).
Check = tuple[str, pl.Expr, Callable[[dict], str]]


def _slots_without_image(row: dict, slots: dict[int, str]) -> set[int]:
    """The slots a row's answer ticks that show no image (for the message about one row)."""
    return {n for n in row["selected_slots"] if n not in slots or not (row[slots[n]] or "").strip()}


def _timestamp_check(column: str) -> Check:
    return (
        column,
        unparsed_and_not_blank(pl.col(column), pl.col(parsed_name(column))),
        lambda row: (f"timestamp {row[column]!r} is neither MTurk's 'Wed Feb 20 11:04:42 PST 2019' (or "
                     "'2015-03-03 22:44:13 UTC') nor ISO 8601 (a spreadsheet program may have rewritten it: "
                     "use the file as downloaded)"),
    )


def _integer_check(column: str) -> Check:
    a_count = pl.when(pl.col(parsed_name(column)) >= 0).then(True)  # null where it is not a whole number ≥ 0
    return (
        column,
        unparsed_and_not_blank(pl.col(column), a_count),
        lambda row: f"{row[column]!r} is not a whole number ≥ 0",
    )


def hit_checks(slots: dict[int, str]) -> list[Check]:
    """Rules on the columns that describe the HIT (checked once per HIT)."""
    checks = [_timestamp_check(c) for c in HIT_TIMESTAMPS] + [_integer_check(c) for c in HIT_INTEGERS]
    checks.append((
        "Reward",
        unparsed_and_not_blank(pl.col("Reward"), pl.col(parsed_name("Reward"))),
        lambda row: f"{row['Reward']!r} is not an amount such as $0.01",
    ))
    checks += [(c, _not_an_http_url_nor_blank(c), lambda row, c=c: not_a_url(row[c]))
               for c in slots.values()]
    return checks


# Whitespace as the regex's \s means it (Unicode White_Space), for text known to be ASCII.
ASCII_WHITESPACE = r"[\t\n\x0b\x0c\r ]"


def _not_an_http_url_nor_blank(column: str) -> pl.Expr:
    r"""A cell that is neither blank nor an http(s) URL without spaces, spaces around it allowed.

    The regex that decides it (its Unicode \s) took 0.23 s over the 4M image cells of a
    million-assignment file. Nearly every cell is an ASCII http(s) URL without whitespace, which
    the regex would pass, and the test for that is cheap (0.07 s in all): only the other cells
    are handed to the regex."""
    text = pl.col(column)
    plain_url = (
        ((text.str.starts_with("https://") & (text.str.len_bytes() > len("https://")))
         | (text.str.starts_with("http://") & (text.str.len_bytes() > len("http://"))))
        & (text.str.len_bytes() == text.str.len_chars())
        & ~text.str.contains(ASCII_WHITESPACE)
    )
    others = pl.when(plain_url.not_()).then(text)
    return ~others.str.contains(rf"^\s*(?:{URL_SCHEME}\S+)?\s*$").fill_null(True)


def _refuse_images_shown_twice(hits: pl.DataFrame, hit_items: pl.DataFrame, slots: dict[int, str],
                               path: Path, *, images_distinct: bool) -> None:
    """One image in two slots would give each assignment two votes on it, and every later build
    would stop at the SQL test hit_items_image_once_per_hit: refused here, naming both slots.

    A file whose image URLs are all distinct (`images_distinct`, as a batch usually is) shows
    no image twice anywhere. Otherwise duplicates of the (HIT, image) rows' hashes are the
    suspects, confirmed on the strings: a pass over 64-bit hashes costs a fifth of one over
    strings, and comparing a HIT's slots pairwise grows with their square (3.6 s on a
    million-assignment file)."""
    if images_distinct:
        return
    suspects = hit_items.filter(pl.struct(pl.col("hit_id").hash(), pl.col("image_id").hash()).is_duplicated())
    repeated = suspects.filter(pl.struct("hit_id", "image_id").is_duplicated())
    if repeated.height:
        row = first_bad_row(hits, pl.col("HITId").str.strip_chars().is_in(repeated["hit_id"].implode()))
        column, said = _repeated_image(row, slots)
        raise _fail(path, row, column, said)


def _repeated_image(row: dict, slots: dict[int, str]) -> tuple[str, str]:
    first_slot: dict[str, str] = {}
    for column in slots.values():
        url = (row[column] or "").strip()
        if url and url in first_slot:
            return column, f"the HIT shows {url} twice, in {first_slot[url]} and {column}"
        first_slot.setdefault(url, column)
    raise AssertionError("called for a HIT that shows no image twice")


def _unread_checkbox_checks(frame: pl.DataFrame) -> list[Check]:
    """A rule for each per-slot answer column: no value that is no spelling of ticked or not ticked
    (see etl.hits.answers.checkbox_is_ticked). Made only for a file that has such a value, which
    the column's null count (kept by polars, free) tells: comparing a million rows' UNREAD_CHECKBOX
    with twelve column names took 0.04 s, as long as all the other assignment checks together."""
    columns = per_slot_answer_columns(frame)
    if not columns or frame[UNREAD_CHECKBOX].null_count() == frame.height:
        return []
    return [(c, pl.col(UNREAD_CHECKBOX) == c, lambda row, c=c: checkbox_value_problem(row[c])) for c in columns]


def _foreign_checkbox_checks(frame: pl.DataFrame) -> list[Check]:
    """A rule for each Answer.selected.<value> column whose value is no slot name: never ticked."""
    return [(c, checkbox_word(c).is_in(TRUTHY),
             lambda row, c=c: (f"{row[c].strip()!r} ticks the checkbox {c.removeprefix(SELECTED + '.')!r} of "
                               f"{SELECTED}, which is not a slot name (image1, image2, ...) or {NONE_OF_THE_ABOVE}"))
            for c in foreign_checkbox_columns(frame)]


def assignment_checks(frame: pl.DataFrame, slots: dict[int, str]) -> list[Check]:
    """Rules on each assignment row, in the order they are reported."""
    answer_column = answer_column_name(frame)
    checks: list[Check] = [
        (c, ~is_not_blank(pl.col(c)), lambda row, c=c: f"{c} is empty") for c in REQUIRED
    ]
    checks.append((
        "AssignmentStatus",
        ~pl.col("AssignmentStatus").str.strip_chars().is_in(STATUSES),
        lambda row: f"status {row['AssignmentStatus']!r} is not one of {', '.join(STATUSES)}",
    ))
    checks += [_timestamp_check(c) for c in ASSIGNMENT_TIMESTAMPS]
    checks += [_integer_check(c) for c in ASSIGNMENT_INTEGERS]
    checks.append((
        "SubmitTime",
        (pl.col(parsed_name("SubmitTime")) < pl.col(parsed_name("AcceptTime"))).fill_null(False),
        lambda row: "SubmitTime is before AcceptTime",
    ))
    checks += _unread_checkbox_checks(frame)
    checks += _foreign_checkbox_checks(frame)
    checks.append((
        answer_column,
        pl.col("__foreign_token"),
        lambda row: (f"answer {row[answer_column]!r} holds something that is not a slot name "
                     f"(image1, image2, ...) or {NONE_OF_THE_ABOVE}"),
    ))
    checks.append((
        answer_column,
        pl.col("__slot_without_image"),
        lambda row: (f"answer names slot image{min(_slots_without_image(row, slots))}, "
                     "which holds no image in this HIT"),
    ))
    return checks


def validate(frame: pl.DataFrame, checks: list[Check], path: Path) -> None:
    """Raise naming the first bad row and column of the first rule that fails.

    All rules are evaluated in one parallel pass; only when one fails do we look for its first row.
    """
    failed = frame.select([bad.any().alias(str(i)) for i, (_, bad, _) in enumerate(checks)]).row(0)
    for (column, bad, message), any_bad in zip(checks, failed, strict=True):
        if any_bad:
            row = first_bad_row(frame, bad)
            raise _fail(path, row, column, message(row))


def _check_repeated_assignments(frame: pl.DataFrame, path: Path) -> bool:
    """One AssignmentId is one answer: exact repeats are dropped (True: there are some),
    contradicting ones refused. A file whose ids all differ (decided on their hashes, a tenth of
    the time of marking duplicates among a million strings) has none to look for."""
    if all_distinct(frame["AssignmentId"]):
        return False
    repeated = frame.filter(pl.col("AssignmentId").is_duplicated())
    if not repeated.height:
        return False
    content = [c for c in frame.columns if c != ROW_COLUMN and not c.startswith("__")]
    differing = repeated.filter(pl.struct(content).n_unique().over("AssignmentId") > 1).sort(ROW_COLUMN)
    if differing.height:
        rows = differing.filter(pl.col("AssignmentId") == differing["AssignmentId"][0])
        first, second = rows.row(0, named=True), rows.row(1, named=True)
        raise _fail(path, second, "AssignmentId",
                    f"assignment {second['AssignmentId']} appears again (first at row {first[ROW_COLUMN]}) "
                    "with different values")
    return True


def _first_rows_of_runs(frame: pl.DataFrame, image_columns: list[str]) -> pl.Series | None:
    """Positions of the first row of each run of adjacent rows with the same HITId, when each run
    shows the same images in all its rows; None when one does not.

    Comparing each row with the one before is four times cheaper than hashing 13 columns."""
    changes = frame.select(
        pl.col("HITId").ne_missing(pl.col("HITId").shift(1)).alias("new_hit"),
        pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in image_columns]).alias("new_images"),
    )
    new_hit = changes["new_hit"]
    if (changes["new_images"] & ~new_hit).any():
        return None
    return new_hit.arg_true()


def distinct_hits(frame: pl.DataFrame, slots: dict[int, str], path: Path) -> pl.DataFrame:
    """One row per HIT; refuse a file where one HITId shows different images in different rows.

    The site writes a HIT's rows together, so each run of rows is one HIT; only when a HIT has
    rows apart (a file sorted by worker, say) or rows that differ are they deduplicated by value."""
    image_columns = list(slots.values())
    hit_columns = [ROW_COLUMN, "HITId", *HIT_COLUMNS, *image_columns]
    positions = _first_rows_of_runs(frame, image_columns)
    hits = None if positions is None else frame.select(hit_columns)[positions]
    if hits is None or hits.height != hits["HITId"].n_unique():
        # Deduplicate on the key columns alone and gather only the HIT's columns after: `unique`
        # over the whole frame would copy every column of a million-row file.
        positions = (frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__position"), "HITId",
                                  *image_columns)
                     .unique(["HITId", *image_columns], keep="first", maintain_order=True))["__position"]
        hits = frame.select(hit_columns)[positions]
    if hits.height != hits["HITId"].n_unique():
        bad, _, column = first_contradiction(frame, "HITId", image_columns)
        raise _fail(path, bad, column,
                    f"HIT {bad['HITId']} shows different images in different rows of the file "
                    f"(Input.image* must be the same in each of its rows)")
    return hits


def hit_items_frame(hits: pl.DataFrame, slots: dict[int, str]) -> pl.DataFrame:
    """One row per (HIT, filled slot), a HIT's slots together.

    That order is what makes the write cheap: DuckDB compresses a row group whose hit_id repeats
    (a HIT's 12 rows in a row) five times faster than one where every hit_id differs, which is what
    a plain unpivot (slot-major) gives. Gathering string views in that order copies no strings."""
    slot_major = hits.select(pl.col("HITId").str.strip_chars().alias("hit_id"), *[
        blank_to_null(pl.col(c)).alias(str(n)) for n, c in slots.items()
    ]).unpivot(index="hit_id", variable_name="slot", value_name="image_id")
    n_hits, n_slots = hits.height, len(slots)
    # Row (hit h, slot s) of the unpivot is at s * n_hits + h.
    position = pl.int_range(n_hits * n_slots, dtype=pl.UInt32)
    hit_major = (position % n_slots) * n_hits + position // n_slots
    return (
        slot_major.select(pl.all().gather(hit_major))
        .filter(pl.col("image_id").is_not_null())
        .with_columns(pl.col("slot").cast(pl.Int32))
    )


def batch_id_from_name(path: Path) -> str:
    """The site names downloads `Batch_<id>_batch_results.csv`; else the file's stem identifies it.
    The site's whole name is matched in any case too, as a script or a case-insensitive file system
    may have renamed it (`BATCH_400_batch_results.CSV`), and the id is written as the site spells
    it, `Batch_400`: one batch under two spellings would be two batches. Only the whole name: any
    `batch_<digits>` in another case would make `batch_2024-01-05_results.csv` and
    `batch_2024-02-09_results.csv` one batch, Batch_2024."""
    match = re.search(r"Batch_(\d+)", path.name) or re.match(r"batch_(\d+)_batch_results", path.name, re.IGNORECASE)
    return f"Batch_{match.group(1)}" if match else path.stem


class NoAnswersYet(Exception):
    """A results file with a valid header and no row: what the site and `hits results` give for a
    batch before its first answer. It was quarantined as a bad file."""


NO_ANSWERS_YET = ("no answers yet (the file holds only its header); nothing loaded or kept in quarantine. "
                  "Ingest it again once workers have answered")


def staged_frames(path: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, int, bool]:
    """Read and validate a results file; return (hits, hit_items, assignments) frames, how many
    rows repeated an earlier assignment exactly and were dropped, and whether no image URL
    occurs twice in hit_items (then neither the check for an image shown twice in one HIT nor
    the registration of images needs to deduplicate them: 0.4 + 0.7 s on a million assignments)."""
    path = Path(path)
    try:
        frame = read_text_csv(path, required=REQUIRED, rows_may_omit=UPLOAD_COLUMNS)
    except NoDataRows as empty:
        if not image_slots(empty.columns):
            raise InputFileError(str(path), _no_image_slots(path, empty.columns), row=1) from None
        refuse_unless_only_a_header(path, empty)
        raise NoAnswersYet() from None
    slots = image_slots(frame.columns)
    if not slots:
        raise InputFileError(str(path), _no_image_slots(path, frame.columns), row=1)
    if not any(frame.select(is_not_blank(pl.col(c)).any()).item() for c in slots.values()):
        raise InputFileError(str(path), "every Input.image<N> cell is blank: no images to vote on", row=2)
    frame = _with_all_columns(frame)
    frame = parse_assignment_columns(frame, slots, path)
    validate(frame, assignment_checks(frame, slots), path)
    has_repeats = _check_repeated_assignments(frame, path)
    hits = parse_hit_columns(distinct_hits(frame, slots, path))
    validate(hits, hit_checks(slots), path)
    repeats = 0
    if has_repeats:  # unique() copies every column of a million-row file: only when there are some
        frame, repeats = without_repeats(frame, "AssignmentId")

    hit_rows = hits.select(
        pl.col("HITId").str.strip_chars().alias("hit_id"),
        blank_to_null(pl.col("HITTypeId")).alias("hit_type_id"),
        pl.lit(batch_id_from_name(path)).alias("batch_id"),
        pl.col("Title").alias("title"),
        pl.col("Description").alias("description"),
        pl.col("Keywords").alias("keywords"),
        pl.col(parsed_name("Reward")).alias("reward"),
        pl.col(parsed_name("CreationTime")).alias("creation_time"),
        pl.col(parsed_name("MaxAssignments")).alias("max_assignments"),
        blank_to_null(pl.col("RequesterAnnotation")).alias("requester_annotation"),
        pl.col(parsed_name("AssignmentDurationInSeconds")).alias("assignment_duration_in_seconds"),
        pl.col(parsed_name("AutoApprovalDelayInSeconds")).alias("auto_approval_delay_in_seconds"),
        pl.col(parsed_name("Expiration")).alias("expiration"),
        pl.col(parsed_name("NumberOfSimilarHITs")).alias("number_of_similar_hits"),
        pl.col(parsed_name("LifetimeInSeconds")).alias("lifetime_in_seconds"),
        pl.lit(len(slots)).alias("n_slots"),
        pl.lit("results").alias("status"),
        ROW_COLUMN,
    )
    hit_items = hit_items_frame(hits, slots)
    images_distinct = all_distinct(hit_items["image_id"])
    _refuse_images_shown_twice(hits, hit_items, slots, path, images_distinct=images_distinct)
    extra_columns = [c for c in frame.columns if c not in KNOWN and c not in slots.values()
                     and c != ROW_COLUMN and not c.startswith("__") and not c.endswith(PARSED)
                     and c != "selected_slots"]
    extra = pl.struct(extra_columns).struct.json_encode() if extra_columns else pl.lit(None, pl.String)
    assignments = frame.select(
        pl.col("AssignmentId").str.strip_chars().alias("assignment_id"),
        pl.col("HITId").str.strip_chars().alias("hit_id"),
        pl.col("WorkerId").str.strip_chars().alias("worker_id"),
        pl.col("AssignmentStatus").str.strip_chars().alias("assignment_status"),
        *[pl.col(parsed_name(c)).alias(ASSIGNMENT_COLUMNS[c]) for c in ASSIGNMENT_TIMESTAMPS],
        blank_to_null(pl.col("RequesterFeedback")).alias("requester_feedback"),
        pl.col(parsed_name("WorkTimeInSeconds")).alias("work_time_in_seconds"),
        blank_to_null(pl.col("LifetimeApprovalRate")).alias("lifetime_approval_rate"),
        blank_to_null(pl.col("Last30DaysApprovalRate")).alias("last30_days_approval_rate"),
        blank_to_null(pl.col("Last7DaysApprovalRate")).alias("last7_days_approval_rate"),
        (pl.col(SELECTED).fill_null("") if SELECTED in frame.columns else pl.lit(None, pl.String))
        .alias("answer_selected"),
        pl.col("selected_slots"),
        extra.alias("extra"),
        pl.col(ROW_COLUMN),
    )
    return hit_rows, hit_items, assignments, repeats, images_distinct


# The warehouse's rows for the file's ids, each big raw table scanned once per file: the conflict
# checks, the status update and the inserts read these (usually empty for a new file) rather than
# scanning raw.assignments three times and raw.hits three times (about 0.1 s of a small file's
# 0.3 s at a million assignments). DuckDB pushes the file's ids into the scan as a filter, so
# only matching rows are read beyond their id.
KNOWN_ASSIGNMENTS = """
CREATE OR REPLACE TEMP TABLE known_assignments AS
SELECT assignment_id, hit_id, worker_id, selected_slots, assignment_status, approval_time, rejection_time
FROM raw.assignments WHERE assignment_id IN (SELECT assignment_id FROM staged_assignments)
"""
KNOWN_HITS = """
CREATE OR REPLACE TEMP TABLE known_hits AS
SELECT DISTINCT hit_id FROM raw.hits WHERE hit_id IN (SELECT hit_id FROM staged_hits)
"""


@contextmanager
def known_rows(con: duckdb.DuckDBPyConnection) -> Iterator[int]:
    """known_assignments and known_hits for the block (see KNOWN_ASSIGNMENTS); yields how many of
    the file's HITs the warehouse holds. Made inside the load's transaction: a refused file's
    rollback takes them away with everything else."""
    con.execute(KNOWN_ASSIGNMENTS).fetchall()
    n_known_hits = con.execute(KNOWN_HITS).fetchall()[0][0]
    yield n_known_hits
    con.execute("DROP TABLE known_assignments; DROP TABLE known_hits")


def _raise_on_conflicts(con: duckdb.DuckDBPyConnection, path: Path, *, n_known_hits: int) -> None:
    """Refuse a file that contradicts what the warehouse already holds for the same ids."""
    clash = con.execute(
        f"""
        SELECT s.{ROW_COLUMN}, s.assignment_id,
               CASE WHEN s.hit_id <> a.hit_id THEN 'HITId'
                    WHEN s.worker_id <> a.worker_id THEN 'WorkerId'
                    WHEN s.answer_selected IS NOT NULL THEN 'Answer.selected'
                    WHEN contains(s.extra, '"Answer.taskAnswers"') THEN 'Answer.taskAnswers'
                    ELSE 'Answer.image<N>' END AS col
        FROM staged_assignments AS s JOIN known_assignments AS a USING (assignment_id)
        WHERE s.hit_id <> a.hit_id OR s.worker_id <> a.worker_id OR s.selected_slots <> a.selected_slots
        ORDER BY s.{ROW_COLUMN} LIMIT 1
        """
    ).fetchall()
    if clash:
        row, assignment_id, column = clash[0]
        raise InputFileError(
            str(path),
            f"assignment {assignment_id} is already in the warehouse with a different "
            f"{'answer' if column.startswith('Answer.') else column}; "
            "a results file cannot change what a worker answered",
            row=row,
            column=column,
        )
    if not n_known_hits:  # a new HIT's slots contradict nothing; raw.hit_items (4M rows) is not read
        return
    clash = con.execute(
        """
        SELECT s.hit_id, s.slot, i.image_id, s.image_id
        FROM staged_hit_items AS s JOIN raw.hit_items AS i USING (hit_id, slot)
        WHERE s.hit_id IN (SELECT hit_id FROM known_hits) AND s.image_id <> i.image_id
        LIMIT 1
        """
    ).fetchall()
    if clash:
        hit_id, slot, known, new = clash[0]
        raise InputFileError(
            str(path),
            f"HIT {hit_id} slot image{slot} shows {new}, but the warehouse has {known} there",
            column=f"Input.image{slot}",
        )


# Submitted is only ever followed by a decision; between decisions the later one wins (a rejection
# can be overturned by an approval), so an older file never undoes a newer one.
STATUS_MOVED_ON = """
s.assignment_status <> a.assignment_status
AND (a.assignment_status = 'Submitted'
     OR (s.assignment_status <> 'Submitted'
         AND coalesce(s.approval_time, s.rejection_time) > coalesce(a.approval_time, a.rejection_time)))
"""
STATUS_UPDATE = f"""
UPDATE raw.assignments AS a SET
    assignment_status = s.assignment_status,
    auto_approval_time = coalesce(s.auto_approval_time, a.auto_approval_time),
    approval_time = s.approval_time,
    rejection_time = s.rejection_time,
    requester_feedback = s.requester_feedback
FROM staged_assignments AS s
WHERE a.assignment_id = s.assignment_id AND {STATUS_MOVED_ON}
"""


def update_statuses(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the file's newer decisions (STATUS_UPDATE); how many assignments changed. Whether
    there are any is decided on known_assignments first: a file of new assignments (every nightly
    one) then pays no scan of raw.assignments for an update that changes nothing."""
    moved_on = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM staged_assignments AS s JOIN known_assignments AS a "
        f"USING (assignment_id) WHERE {STATUS_MOVED_ON})"
    ).fetchall()[0][0]
    return con.execute(STATUS_UPDATE).fetchall()[0][0] if moved_on else 0


def undecidable_statuses(con: duckdb.DuckDBPyConnection) -> list[str]:
    """A note on the file's decisions that differ from the warehouse's where neither says when it was
    made (an export trimmed of ApprovalTime and RejectionTime): which is newer cannot be told, so the
    warehouse's stays. Said, because a rejection overturned on the site otherwise stayed a
    rejection, its votes left out, under "nothing changed"."""
    count, example, in_file, held = con.execute(
        """
        SELECT count(*), min(s.assignment_id), arg_min(s.assignment_status, s.assignment_id),
               arg_min(a.assignment_status, s.assignment_id)
        FROM staged_assignments AS s JOIN known_assignments AS a USING (assignment_id)
        WHERE s.assignment_status <> a.assignment_status AND s.assignment_status <> 'Submitted'
          AND a.assignment_status <> 'Submitted'
          AND (coalesce(s.approval_time, s.rejection_time) IS NULL OR coalesce(a.approval_time, a.rejection_time) IS NULL)
        """
    ).fetchall()[0]
    if not count:
        return []
    return [(f"note: {count} assignment(s) have another decision in the file than in the warehouse (e.g. {example}: "
             f"{in_file} in the file, {held} in the warehouse) and kept the warehouse's: without ApprovalTime and "
             "RejectionTime, which is newer cannot be told. Ingest the batch as downloaded, with those columns, to "
             "apply the newer one")]


def raise_max_assignments(con: duckdb.DuckDBPyConnection) -> int:
    """Take a known HIT's larger MaxAssignments from a re-download (a HIT given more assignments on
    the site); how many HITs. A HIT's assignments only ever grow, so the larger count is the newer,
    whichever file is loaded last; the old one priced needs_more_votes' fees at the wrong rate (MTurk
    charges more from 10 assignments) and told `hits extend` fewer were asked for."""
    return con.execute(
        """
        UPDATE raw.hits AS h SET max_assignments = s.max_assignments
        FROM staged_hits AS s
        WHERE h.hit_id = s.hit_id AND s.max_assignments > coalesce(h.max_assignments, -1)
        """
    ).fetchall()[0][0]


def raised_note(raised: int) -> list[str]:
    if not raised:
        return []
    return [(f"note: {raised} HIT(s) ask for more assignments than the warehouse had (MaxAssignments raised "
             "since an earlier download); their new count is kept")]


def _refuse_new_sandbox_hits(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A HIT crowdaudit published on the MTurk sandbox was answered by testers (often the requester):
    its answers would count as votes in every mart. Refused unless asked for; once a sandbox HIT's
    answers are in, a re-download of them (statuses moved on) loads as any other file.

    The file's sandbox HITs are found first, in the small publish log: looking them up in
    raw.assignments scans all of it (0.1 s a file at a million assignments), which only a file
    that holds one has to pay."""
    sandbox_hits = f"""
        SELECT s.{ROW_COLUMN}, s.hit_id, p.batch_id FROM staged_hits AS s
        JOIN raw.publish_log AS p ON p.hit_id = s.hit_id AND p.target = 'sandbox'
    """
    if not con.execute(f"SELECT EXISTS ({sandbox_hits})").fetchall()[0][0]:
        return
    found = con.execute(
        f"""
        {sandbox_hits}
        WHERE s.hit_id NOT IN (SELECT hit_id FROM raw.assignments)
        ORDER BY s.{ROW_COLUMN} LIMIT 1
        """
    ).fetchall()
    if found:
        row, hit_id, batch_id = found[0]
        raise InputFileError(
            str(path),
            f"HIT {hit_id} is batch {batch_id}'s, published on the MTurk sandbox, whose workers are testers: "
            "its answers would count as votes in every mart. Pass --allow-sandbox to ingest them",
            row=row, column="HITId",
        )


def ingest_results(con: duckdb.DuckDBPyConnection, path: Path, *, allow_warnings: bool = False,
                   allow_sandbox: bool = False) -> LoadResult:
    """Load one batch results file in one transaction (see the module docstring).

    The staged frames pass the quality gate first; a refused file is quarantined. Answers to HITs
    crowdaudit published on the sandbox are refused unless `allow_sandbox`."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(str(path), "is a directory, not a results CSV" if path.is_dir() else "no such file")
    refuse_path_not_utf8(path)
    refuse_if_downloading(path)
    before = file_state(path)
    pending_sha256, loaded_before = fingerprint_soon(con, "results", path)
    if loaded_before:
        return loaded_before
    with quarantine_on_refusal(con, path):
        return _ingest_staged(con, path, pending_sha256, before, allow_warnings=allow_warnings,
                              allow_sandbox=allow_sandbox)


def _ingest_staged(con: duckdb.DuckDBPyConnection, path: Path, pending_sha256: Future[str],
                   before: tuple[int, int, int, int], *, allow_warnings: bool, allow_sandbox: bool) -> LoadResult:
    """`before`: the file's state before it was hashed (see transaction.refuse_if_changed)."""
    try:
        hits, hit_items, assignments, repeats, images_distinct = staged_frames(path)
        warnings = check_batch("results", path, {"hits": hits, "hit_items": hit_items, "assignments": assignments},
                               allow_warnings=allow_warnings, file_columns=FILE_COLUMNS)
        sha256 = pending_sha256.result()
    except NoAnswersYet:  # not logged as a load, so the same path with rows loads as any new file
        refuse_if_changed(path, before)  # rows arriving as it was read: named as such, not as empty
        return LoadResult("results", path, pending_sha256.result(), already_loaded=False, no_rows_yet=NO_ANSWERS_YET)
    except InputFileError:
        refuse_if_changed(path, before)  # a row cut by the writer is no fault of the file's: not quarantined
        raise
    refuse_if_changed(path, before)

    def write(con: duckdb.DuckDBPyConnection, load_id: int) -> LoadCounts:
        # staged_hit_items is scanned in place (twice; three times for a known HIT): copying 4M rows into a
        # temp table costs more.
        with (staged(con, staged_assignments=assignments, staged_hits=hits, staged_hit_items=hit_items),
              known_rows(con) as n_known_hits):
            _raise_on_conflicts(con, path, n_known_hits=n_known_hits)
            if not allow_sandbox:
                _refuse_new_sandbox_hits(con, path)
            # A known HIT's items are already there (and agree: checked above), so filter by HIT,
            # a third of the rows, rather than anti-joining every (HIT, slot).
            con.execute(
                "INSERT INTO raw.hit_items SELECT hit_id, slot, image_id, NULL "
                "FROM staged_hit_items ANTI JOIN known_hits USING (hit_id)"
            ).fetchall()
            register_images_seen(con, "staged_hit_items", load_id, distinct=images_distinct)
            con.execute(
                f"INSERT INTO raw.hits BY NAME SELECT * EXCLUDE ({ROW_COLUMN}), ? AS load_id "
                "FROM staged_hits ANTI JOIN known_hits USING (hit_id)",
                [load_id],
            ).fetchall()
            updated = update_statuses(con)
            undecided = undecidable_statuses(con) if n_known_hits else []
            raised = raise_max_assignments(con) if n_known_hits else 0
            inserted = con.execute(
                "INSERT INTO raw.assignments BY NAME SELECT *, ? AS load_id "
                "FROM staged_assignments ANTI JOIN known_assignments USING (assignment_id)",
                [load_id],
            ).fetchall()[0][0]
        return LoadCounts(rows_in_file=assignments.height + repeats, inserted=inserted, updated=updated,
                          notes=[*registered_without_region(con, load_id), *undecided, *raised_note(raised),
                                 *warnings], repeats=repeats, other_changes=raised)

    return load_file(con, "results", path, write, sha256=sha256)
