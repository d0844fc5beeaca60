"""How the Mechanical Turk requester site writes values, as polars expressions.

Timestamps look like `Wed Feb 20 11:04:42 PST 2019` (Pacific time, PST or PDT) and are stored in
UTC; the API and re-exports use ISO 8601, accepted too. Rewards look like `$0.01`.
"""

from __future__ import annotations

import polars as pl

# Offsets of the zone names the site writes (it writes Pacific time; others seen in re-exports).
ZONE_OFFSET_HOURS = {
    "PST": -8, "PDT": -7, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
}
MTURK_TIMESTAMP = r"^[A-Za-z]{3} ([A-Za-z]{3} +\d{1,2} \d{1,2}:\d{2}:\d{2}) ([A-Za-z]+) (\d{4})$"
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}"


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    stripped = expr.str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def parse_timestamp(column: str) -> pl.Expr:
    """UTC datetime of an MTurk or ISO timestamp; null when blank or unparseable (checked separately)."""
    text = blank_to_null(pl.col(column))
    parts = text.str.extract_groups(MTURK_TIMESTAMP)
    local = (
        (parts.struct.field("1").str.replace_all(r" +", " ") + pl.lit(" ") + parts.struct.field("3"))
        .str.strptime(pl.Datetime("us"), "%b %d %H:%M:%S %Y", strict=False)
    )
    offset = parts.struct.field("2").str.to_uppercase().replace_strict(
        ZONE_OFFSET_HOURS, default=None, return_dtype=pl.Int64
    )
    mturk = local - pl.duration(hours=offset)
    iso = (
        pl.when(text.str.contains(ISO_TIMESTAMP))
        .then(
            text.str.replace(r"Z$", "+00:00")
            .str.to_datetime(time_zone="UTC", strict=False)
            .dt.replace_time_zone(None)
        )
    )
    return pl.coalesce(mturk, iso).alias(column)


def timestamp_unparseable(column: str) -> pl.Expr:
    """True where a non-blank timestamp did not parse."""
    return blank_to_null(pl.col(column)).is_not_null() & parse_timestamp(column).is_null()


def parse_money(column: str) -> pl.Expr:
    """`$0.01` or `0.01` as a float of dollars; null when blank or unparseable."""
    return (
        blank_to_null(pl.col(column))
        .str.replace_all(r"^\$|^USD\s*|,", "")
        .cast(pl.Float64, strict=False)
        .alias(column)
    )


def parse_integer(column: str) -> pl.Expr:
    return blank_to_null(pl.col(column)).cast(pl.Int64, strict=False).alias(column)
