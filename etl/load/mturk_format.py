"""How the Mechanical Turk requester site writes values, as polars expressions.

Timestamps look like `Wed Feb 20 11:04:42 PST 2019` (Pacific time, PST or PDT) and are stored in
UTC; the API and re-exports use ISO 8601, accepted too. Downloads of 2015-2016 write an
auto-approved assignment's ApprovalTime as `2015-03-03 22:44:13 UTC` (or GMT), ISO 8601 but for
the zone's name, read as UTC. Rewards look like `$0.01`.
"""

from __future__ import annotations

import polars as pl

from etl.hits.pricing import GROUPED_THOUSANDS

# The site writes Pacific time; UTC/GMT appear in re-exports. The form is fixed-width
# (`Wed Feb 20 11:04:42 PST 2019`), so slicing it beats any regex by several times.
ZONE_OFFSET_HOURS = {"PST": -8, "PDT": -7, "UTC": 0, "GMT": 0}
MTURK_LENGTH = len("Wed Feb 20 11:04:42 PST 2019")
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}"
# UTC as ISO 8601 writes it (`Z`, or `z` as RFC 3339 allows), and as the site's 2015-2016
# downloads did (` UTC`).
UTC_SUFFIX = r"(?:[Zz]| UTC| GMT)$"
# Offsets written `+hhmm` and `+hh` (as PostgreSQL writes them), to be written `+hh:mm`; and a
# timestamp without an offset, read as UTC as the API's are.
ISO_OFFSET_NO_COLON = r"([+-]\d{2})(\d{2})$"
ISO_OFFSET_HOURS = r"([+-]\d{2})$"
ISO_WITHOUT_OFFSET = r"(\d{2}:\d{2}:\d{2}(?:\.\d+)?)$"


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    stripped = expr.str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def parse_mturk_timestamp(text: pl.Expr) -> pl.Expr:
    """UTC datetime of `Wed Feb 20 11:04:42 PST 2019`; null when it is not in that form."""
    local = (text.str.slice(4, 15) + pl.lit(" ") + text.str.slice(24, 4)).str.strptime(
        pl.Datetime("us"), "%b %d %H:%M:%S %Y", strict=False
    )
    offset = text.str.slice(20, 3).replace_strict(ZONE_OFFSET_HOURS, default=None, return_dtype=pl.Int64)
    in_form = (text.str.len_bytes() == MTURK_LENGTH) & (text.str.slice(19, 1) == " ")
    return pl.when(in_form).then(local - pl.duration(hours=offset))


def parse_iso_timestamp(text: pl.Expr) -> pl.Expr:
    """UTC datetime of an ISO 8601 timestamp (the API's form) or of `2015-03-03 22:44:13 UTC`; null
    otherwise. One without an offset is read as UTC, as the API's are.

    polars infers one format for a column and refuses the cells of any other, so every offset is
    first written `+hh:mm`, and `+00:00` added where there is none: a column mixing them (a file
    merged from two exports, `+05` among `+05:30`) parses whole. Parsed apart instead, one `+05`
    ahead of the cells without an offset had every one of those refused, and `+05` and `z` alone
    were refused; it also parsed each cell twice."""
    return pl.when(text.str.contains(ISO_TIMESTAMP)).then(
        text.str.replace(UTC_SUFFIX, "+00:00")
        .str.replace(ISO_OFFSET_NO_COLON, "${1}:${2}")
        .str.replace(ISO_OFFSET_HOURS, "${1}:00")
        .str.replace(ISO_WITHOUT_OFFSET, "${1}+00:00")
    ).str.to_datetime(time_zone="UTC", strict=False).dt.replace_time_zone(None)


def parse_timestamps(frame: pl.DataFrame, columns: tuple[str, ...], *, suffix: str) -> pl.DataFrame:
    """Add `<column><suffix>` parsed timestamps. Values are parsed as written first; only a column
    where that left some unparsed is parsed again with surrounding spaces stripped (a hand-edited
    file), then in the ISO form. A site-written file so pays for one parse per value: stripping
    a million values first cost as much as parsing them."""
    parsed = frame.with_columns(parse_mturk_timestamp(pl.col(c)).alias(c + suffix) for c in columns)
    unparsed = parsed.select(
        unparsed_and_not_blank(pl.col(c), pl.col(c + suffix)).any().alias(c) for c in columns
    ).row(0, named=True)
    retry = [c for c, any_unparsed in unparsed.items() if any_unparsed]
    return parsed.with_columns(
        pl.coalesce(pl.col(c + suffix), parse_mturk_timestamp(pl.col(c).str.strip_chars()),
                    parse_iso_timestamp(blank_to_null(pl.col(c)))).alias(c + suffix)
        for c in retry
    )


def unparsed_and_not_blank(text: pl.Expr, parsed: pl.Expr) -> pl.Expr:
    """Where `text` holds something `parsed` is null for. Only those cells are searched for a
    character that is not a space: in a site-written file every timestamp parses, and searching
    a million of them cost 8 times what masking them out does."""
    return is_not_blank(pl.when(parsed.is_null()).then(text))


def is_not_blank(text: pl.Expr) -> pl.Expr:
    """`blank_to_null(text).is_not_null()` without building the stripped strings: the search for a
    character that is not a space ends at a timestamp's first."""
    return text.str.contains(r"\S").fill_null(False)


# Dollars as the site writes them (`$0.01`, `$1,250.00`), or bare. A comma only groups thousands:
# `0,01` or `0,010` (a decimal comma from a spreadsheet's locale) must not become $1 or $10, nor a
# minus sign pass.
MONEY = rf"^(?:\$|USD\s*)?(?:{GROUPED_THOUSANDS}|\d+)(?:\.\d+)?$"


def parse_money(column: str) -> pl.Expr:
    """`$0.01` or `0.01` as a float of dollars; null when blank or not such an amount."""
    text = blank_to_null(pl.col(column))
    return (
        pl.when(text.str.contains(MONEY))
        .then(text.str.replace_all(r"^\$|^USD\s*|,", "").cast(pl.Float64, strict=False))
        .alias(column)
    )


def parse_integer(column: str) -> pl.Expr:
    return blank_to_null(pl.col(column)).cast(pl.Int64, strict=False).alias(column)
