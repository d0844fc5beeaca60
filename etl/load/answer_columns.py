"""The worker's answer in a batch results file, as the set of slots ticked.

A results file holds the answer in one of three shapes, read in this order of preference:
`Answer.selected` (the slot names ticked, `|`-joined, in the worker's on-screen order: a set),
`Answer.taskAnswers` (the JSON document a `<crowd-form>` posts) or per-slot `Answer.image<N>`
columns (Crowd HTML checkboxes, each cell a spelling of ticked or not ticked: see
`etl.hits.answers.checkbox_is_ticked`; the site writes checkboxes sharing `name="selected"` as
`Answer.selected.image<N>`). `parse_answers` turns whichever the file has into
`selected_slots` and the flags the answer checks of `etl.load.batch_results` read.

Answers are read a column at a time with polars, each distinct text once; `etl.hits.answers`,
which reads one answer at a time, is the reference a taskAnswers text falls back on where polars
cannot be trusted to read it the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from etl.errors import InputFileError
from etl.hits import answers
from etl.hits.answers import FALSY, NONE_OF_THE_ABOVE, SLOT, TRUTHY, AnswerError, task_answer_tokens
from etl.load.csvfile import ROW_COLUMN, first_bad_row
from etl.load.mturk_format import blank_to_null

# The site writes each field the form posted as Answer.<field>: the same fields the API returns.
SELECTED = f"Answer.{answers.SELECTED}"
# What a <crowd-form> posts: one JSON document (etl.hits.answers.task_answer_tokens says how it is read).
TASK_ANSWERS = f"Answer.{answers.TASK_ANSWERS}"
# A per-slot answer, as Crowd HTML checkboxes write it: Answer.image3 or Answer.image3.on, and
# Answer.selected.image3 where checkboxes share name="selected" (value="image3"): the site flattens
# a <crowd-form>'s {"selected": {"image3": true}} into a column per key.
SLOT_ANSWER_COLUMN = re.compile(r"^Answer\.(?:selected\.)?" + answers.PER_SLOT.pattern.removeprefix("^"))
# Any checkbox of a group sharing name="selected", as the site flattens it: Answer.selected.<value>.
SELECTED_VALUE_COLUMN = re.compile(r"^Answer\.selected\.(.+)$")
# Added by parse_answers for a file of per-slot columns: a row's first per-slot column (by slot)
# whose cell is no spelling of ticked or not ticked; null when there is none.
UNREAD_CHECKBOX = "__unread_checkbox"


def per_slot_answer_columns(frame: pl.DataFrame) -> list[str]:
    """The Answer.image<N> columns the answer is read from: none when the file has Answer.selected
    or Answer.taskAnswers, which are preferred."""
    if SELECTED in frame.columns or TASK_ANSWERS in frame.columns:
        return []
    return [c for c in frame.columns if SLOT_ANSWER_COLUMN.match(c)]


def foreign_checkbox_columns(frame: pl.DataFrame) -> list[str]:
    """Answer.selected.<value> columns read as per-slot answers whose value is neither a slot
    name nor none_of_the_above (`Answer.selected.wedding`): a tick in one is refused, as the same
    answer in a crowd-form's JSON is, rather than read as nothing ticked."""
    if not per_slot_answer_columns(frame):
        return []
    return [c for c in frame.columns if (m := SELECTED_VALUE_COLUMN.match(c))
            and not SLOT_ANSWER_COLUMN.match(c) and m.group(1) != NONE_OF_THE_ABOVE]


def _answer_columns(frame: pl.DataFrame, path: Path) -> list[str]:
    """Where the worker's answer is: Answer.selected, Answer.taskAnswers, or per-slot
    Answer.image<N> columns (in that order of preference)."""
    for column in (SELECTED, TASK_ANSWERS):
        if column in frame.columns:
            return [column]
    per_slot = per_slot_answer_columns(frame)
    if not per_slot:
        held = ", ".join(c for c in frame.columns if c.startswith("Answer.")) or "none"
        raise InputFileError(
            str(path),
            f"no answer column: expected {SELECTED} (slot names joined by '|'), {TASK_ANSWERS} "
            f"(a crowd-form's JSON) or Answer.image<N> / Answer.selected.image<N> columns; it has {held}",
            row=1,
        )
    return per_slot


def answer_column_name(frame: pl.DataFrame) -> str:
    """The answer column as messages name it."""
    return next((c for c in (SELECTED, TASK_ANSWERS) if c in frame.columns), "Answer.image<N>")


def _is_flags(dtype: pl.DataType) -> bool:
    """A decoded crowd-checkbox output: a struct of booleans (or all-null fields)."""
    return isinstance(dtype, pl.Struct) and all(f.dtype in (pl.Boolean, pl.Null) for f in dtype.fields)


def _checkbox_tokens(name: str, value: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """`name` if a decoded taskAnswers field `image<N>` is ticked; None for any other shape than a
    crowd-checkbox's (booleans), which the reference parser then reads: polars turns numbers into
    strings when a string shares the field, so only it can tell `1` from `"1"`."""
    if dtype == pl.Boolean:
        ticked = value
    elif _is_flags(dtype):
        ticked = pl.any_horizontal([value.struct.field(f.name) for f in dtype.fields] or [pl.lit(False)])
    elif dtype == pl.Null:
        return pl.lit(None, pl.String)
    else:
        return None
    return pl.when(ticked.fill_null(False)).then(pl.lit(name))


def _selected_field_tokens(value: pl.Expr, dtype: pl.DataType) -> list[pl.Expr] | None:
    """The names a decoded taskAnswers `selected` field ticks (see _checkbox_tokens)."""
    if _is_flags(dtype):
        return [pl.when(value.struct.field(f.name).fill_null(False)).then(pl.lit(f.name)) for f in dtype.fields]
    if dtype == pl.Null:
        return []
    return None


# A JSON string (a key, a value): matched from its opening quote, it ends at its closing one.
JSON_STRING = r'"(?:[^"\\]|\\.)*"'


def _keys_in_text(texts: pl.Series) -> pl.Series:
    """How many keys each JSON text names (a key named twice counts twice): each string becomes a
    bare quote, so that a quote followed by a colon is a key's, whatever the strings hold."""
    return texts.str.replace_all(JSON_STRING, '"').str.count_matches(r'"\s*:').fill_null(0).cast(pl.UInt32)


def _keys_holding_a_value(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """How many keys of a decoded JSON value hold something other than null, nested ones included."""
    if isinstance(dtype, pl.Struct):
        return pl.sum_horizontal([
            value.struct.field(f.name).is_not_null().cast(pl.UInt32) + _keys_holding_a_value(value.struct.field(f.name), f.dtype)
            for f in dtype.fields
        ] or [pl.lit(0, pl.UInt32)])
    if isinstance(dtype, pl.List):
        return value.list.eval(_keys_holding_a_value(pl.element(), dtype.inner)).list.sum().fill_null(0)
    return pl.lit(0, pl.UInt32)


def _decoded_task_answer_tokens(texts: pl.Series) -> pl.Series | None:
    """task_answer_tokens for every text at once, when they decode to one JSON shape; else None.
    Null for a text polars may read otherwise than task_answer_tokens does, left to it.

    Runs on a file's distinct answers (few, however many rows); polars infers one schema from all
    of them, a field a text lacks being null there. Where an object names a key twice, polars keeps
    one of the values and task_answer_tokens refuses the text: such a text decodes to fewer keys
    holding a value than it names. So does a text holding a null (rare), which task_answer_tokens
    then reads too, to the same effect. Counting costs 0.2 s on top of 1.4 s for 100,000 distinct
    texts of twelve checkboxes and a comment (on a shared 2-core machine). A text holding no
    `selected` or `image<N>` field is left to task_answer_tokens too: it reads a blank text, `[]` or
    `null` as nothing ticked and refuses any other (`[{}]`, another form's fields), naming them."""
    try:
        decoded = pl.select(blank_to_null(pl.lit(texts))).to_series().str.json_decode(infer_schema_length=None)
    except pl.exceptions.PolarsError:
        return None
    answers = pl.DataFrame({"__answer": pl.int_range(len(texts), eager=True)})
    objects = answers.with_columns(decoded.alias("__json"))
    if isinstance(decoded.dtype, pl.List):
        objects = objects.explode("__json")
    shape = objects.schema["__json"]
    tokens = _tokens_of_objects(answers, objects, shape)
    if tokens is None:
        return None
    counts = answers.join(
        objects.group_by("__answer").agg(_keys_holding_a_value(pl.col("__json"), shape).sum().alias("__keys"),
                                         _slot_fields_holding_a_value(shape).sum().alias("__slot_fields")),
        on="__answer", how="left", maintain_order="left").fill_null(0)
    read_alike = (_keys_in_text(texts) == counts["__keys"]) & (counts["__slot_fields"] > 0)
    return pl.select(pl.when(pl.lit(read_alike)).then(pl.lit(tokens))).to_series()


def _slot_fields_holding_a_value(shape: pl.DataType) -> pl.Expr:
    """How many `selected` and `image<N>` fields of each decoded object hold something other than null."""
    fields = shape.fields if isinstance(shape, pl.Struct) else []
    return pl.sum_horizontal([
        pl.col("__json").struct.field(f.name).is_not_null().cast(pl.UInt32)
        for f in fields if f.name == answers.SELECTED or SLOT.match(f.name)
    ] or [pl.lit(0, pl.UInt32)])


def _tokens_of_objects(answers: pl.DataFrame, objects: pl.DataFrame, shape: pl.DataType) -> pl.Series | None:
    """The names each answer's decoded objects tick (see _decoded_task_answer_tokens)."""
    none_ticked = pl.Series([[]] * answers.height, dtype=pl.List(pl.String))
    if shape == pl.Null:
        return none_ticked
    if not isinstance(shape, pl.Struct):
        return None
    parts: list[pl.Expr] = []
    for field in shape.fields:
        value = pl.col("__json").struct.field(field.name)
        if field.name == "selected":
            tokens = _selected_field_tokens(value, field.dtype)
        elif SLOT.match(field.name):
            token = _checkbox_tokens(field.name, value, field.dtype)
            tokens = None if token is None else [token]
        else:
            continue  # not about slots (a comment box, say)
        if tokens is None:
            return None
        parts += tokens
    if not parts:
        return none_ticked
    per_object = objects.select("__answer", (
        pl.concat_list(parts).list.drop_nulls().list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
    ).alias("__tokens"))
    per_answer = per_object.group_by("__answer").agg(pl.col("__tokens").list.explode(keep_nulls=False, empty_as_null=False))
    return (
        answers.join(per_answer, on="__answer", how="left").sort("__answer")["__tokens"]
        .fill_null(pl.lit([], pl.List(pl.String)))
    )


def _task_answer_tokens(texts: pl.Series, frame: pl.DataFrame, path: Path) -> pl.Series:
    """The names each distinct taskAnswers text ticks; a text that is not a crowd-form's JSON
    is refused naming the first row holding one."""
    tokens = _decoded_task_answer_tokens(texts)
    if tokens is None:
        return _reference_task_answer_tokens(texts, frame, path)
    unsure = tokens.is_null()
    if not unsure.any():
        return tokens
    checked = pl.DataFrame({"__text": unsure.arg_true(),
                            "__checked": _reference_task_answer_tokens(texts.filter(unsure), frame, path)})
    return (
        pl.DataFrame({"__text": pl.int_range(len(texts), dtype=checked["__text"].dtype, eager=True), "__tokens": tokens})
        .join(checked, on="__text", how="left", maintain_order="left")
        .select(pl.coalesce("__tokens", "__checked"))["__tokens"]
    )


def _reference_task_answer_tokens(texts: pl.Series, frame: pl.DataFrame, path: Path) -> pl.Series:
    """task_answer_tokens, one call per distinct text: for shapes polars cannot unify (or a broken
    text), and for the texts it may read otherwise."""
    parsed, refused = [], {}
    for text in texts:
        try:
            parsed.append(task_answer_tokens(text))
        except AnswerError as error:
            parsed.append([])
            refused[text] = str(error)
    if refused:
        row = first_bad_row(frame, pl.col(TASK_ANSWERS).is_in(list(refused)))
        raise InputFileError(str(path), refused[row[TASK_ANSWERS]], row=row[ROW_COLUMN], column=TASK_ANSWERS)
    return pl.Series(parsed, dtype=pl.List(pl.String))


def _by_slot(answer_columns: list[str]) -> list[tuple[int, str]]:
    """(slot number, column) for per-slot answer columns, in slot order. A slot may have more than
    one column (Answer.image3.on and Answer.selected.image3, from two forms' rows in one file): each
    is listed, and the slot is ticked when any of them says so, as `etl.hits.answers.selected_slots`
    reads an answer's fields (keeping one column per slot dropped the ticks in the others)."""
    return sorted(((int(m.group(1)), c) for c in answer_columns if (m := SLOT_ANSWER_COLUMN.match(c))),
                  key=lambda slot_column: slot_column[0])


def checkbox_word(column: str) -> pl.Expr:
    """A per-slot cell as checkbox_is_ticked compares it (null for a null cell)."""
    return pl.col(column).str.strip_chars().str.to_lowercase()


def _selected_tokens(answer_columns: list[str]) -> pl.Expr:
    """The ticked slot names as a list, from Answer.selected or from per-slot answer columns."""
    if answer_columns == [SELECTED]:
        return (
            pl.col(SELECTED).fill_null("").str.split("|")
            .list.eval(pl.element().str.strip_chars().filter(pl.element() != ""))
        )
    return pl.concat_list(
        [
            pl.when(checkbox_word(c).is_in(TRUTHY)).then(pl.lit(f"image{n}")).otherwise(None)
            for n, c in _by_slot(answer_columns)
        ]
    ).list.drop_nulls()


def _unread_checkbox(answer_columns: list[str]) -> pl.Expr:
    """UNREAD_CHECKBOX: the first per-slot column whose value checkbox_is_ticked would refuse."""
    understood = [*TRUTHY, *FALSY, ""]
    return pl.coalesce(
        [pl.when(~checkbox_word(c).is_in(understood)).then(pl.lit(c)) for _, c in _by_slot(answer_columns)]
    ).alias(UNREAD_CHECKBOX)


def parse_answers(frame: pl.DataFrame, slots: dict[int, str], path: Path) -> pl.DataFrame:
    """Add selected_slots (the ticked slots as a sorted set) and two flags for the answer checks:
    `__foreign_token` (a token that is no slot name) and `__slot_without_image`; with per-slot
    answer columns, UNREAD_CHECKBOX too.

    Each distinct answer is parsed once and joined back: a million answers hold far fewer distinct
    texts (at most 4,096 sets of 12 slots, times the orders they were ticked in), and list
    operations on a million rows cost more than the join (0.4 s + 0.4 s of checks -> 0.25 s)."""
    answer_columns = _answer_columns(frame, path)
    tokens = pl.col("__tokens")
    answers = frame.select(answer_columns).unique()
    answers = answers.with_columns(
        _task_answer_tokens(answers[TASK_ANSWERS], frame, path).alias("__tokens") if answer_columns == [TASK_ANSWERS]
        else _selected_tokens(answer_columns).alias("__tokens")
    )
    if per_slot_answer_columns(frame):
        answers = answers.with_columns(_unread_checkbox(answer_columns))
    answers = answers.with_columns(
        tokens.list.eval(
            pl.element().filter(pl.element() != NONE_OF_THE_ABOVE).str.strip_prefix("image")
            .cast(pl.Int32, strict=False).unique().sort()  # a set: the worker's click order is noise
        ).alias("selected_slots"),
        tokens.list.eval(
            ~pl.element().str.contains(r"^image\d+$") & (pl.element() != NONE_OF_THE_ABOVE)
        ).list.any().alias("__foreign_token"),
    ).with_columns(
        pl.col("selected_slots").list.eval(~pl.element().is_in(list(slots))).list.any().alias("__unknown_slot"),
    ).drop("__tokens")
    # Joined on the answer columns alone, then set beside the frame: joining the whole frame
    # would copy all its columns (0.03 s vs 0.2-1 s for a million rows).
    parsed = frame.select(answer_columns).join(answers, on=answer_columns, how="left", maintain_order="left",
                                               nulls_equal=True)
    frame = frame.hstack(parsed.drop(answer_columns))
    # A slot left blank (the batch's last HIT) must not be ticked. Few rows have a blank slot, so
    # only those are compared slot by slot, and only rows with a cell that does not start with
    # "http" can have one: the regex looks at those alone (over a million rows' 12M cells, 0.15 s;
    # the starts_with test 0.06 s).
    maybe_blank = frame.filter(pl.any_horizontal([~pl.col(c).str.starts_with("http").fill_null(False)
                                                  for c in slots.values()]))
    blank = [~pl.col(c).str.contains(r"\S").fill_null(False) for c in slots.values()]
    blank_slots = pl.concat_list(
        [pl.when(is_blank).then(pl.lit(n, pl.Int32)) for n, is_blank in zip(slots, blank, strict=True)]
    ).list.drop_nulls()
    with_blanks = maybe_blank.filter(pl.any_horizontal(blank)).select(
        ROW_COLUMN, pl.col("selected_slots").list.set_intersection(blank_slots).list.len().alias("ticked_blanks")
    )
    ticked_blank = with_blanks.filter(pl.col("ticked_blanks") > 0)[ROW_COLUMN]
    return frame.with_columns(
        (pl.col("__unknown_slot") | pl.col(ROW_COLUMN).is_in(ticked_blank.implode())).alias("__slot_without_image")
    ).drop("__unknown_slot")
