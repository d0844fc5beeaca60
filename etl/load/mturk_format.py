"""How the Mechanical Turk requester site writes values, as polars expressions.

Timestamps look like `Wed Feb 20 11:04:42 PST 2019` (Pacific time, PST or PDT) and are stored in
UTC; the API and re-exports use ISO 8601, accepted too. Rewards look like `$0.01`.
"""

from __future__ import annotations

import polars as pl

# The site writes Pacific time; UTC/GMT appear in re-exports. Each zone name is parsed as a literal
# in the format, which is several times faster than a regular expression per value.
ZONE_OFFSET_HOURS = {"PST": -8, "PDT": -7, "UTC": 0, "GMT": 0}
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}"


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    stripped = expr.str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def parse_timestamp(column: str) -> pl.Expr:
    """UTC datetime of an MTurk or ISO timestamp; null when blank or unparseable (checked separately)."""
    text = blank_to_null(pl.col(column))
    in_zone = [
        text.str.strptime(pl.Datetime("us"), f"%a %b %d %H:%M:%S {zone} %Y", strict=False)
        - pl.duration(hours=offset)
        for zone, offset in ZONE_OFFSET_HOURS.items()
    ]
    iso = pl.when(text.str.contains(ISO_TIMESTAMP)).then(
        text.str.replace(r"Z$", "+00:00").str.to_datetime(time_zone="UTC", strict=False).dt.replace_time_zone(None)
    )
    return pl.coalesce(*in_zone, iso).alias(column)


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
