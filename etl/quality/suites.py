"""The expectation suites: what every raw table, staged batch and key mart must satisfy.

A suite is plain data (a list of `Rule`s) so it can be read, diffed and versioned without importing
Great Expectations; `check.run_suite` turns each rule into the GX 1.x expectation of the same name.
Each rule also carries the polars expression that flags the rows it could fail on: the gate uses
it to hand GX only the suspect rows of a million-row batch (see `check.run_suite`); and the same
screen in DuckDB SQL, so that `crowdaudit validate` fetches only those rows of a warehouse table
(see `sql_screen`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import polars as pl

from etl.warehouse import sql_identifier

STATUSES = ("Submitted", "Approved", "Rejected")
# A URL's scheme is case-insensitive (RFC 3986 section 3.1): HTTPS://host/a.jpg is a web URL too.
# Every check of "an http(s) URL" builds on this one, and none rewrites the URL: an image_id is
# the URL exactly as workers were shown it.
URL_SCHEME = r"(?i:https?)://"
URL_PATTERN = rf"^{URL_SCHEME}\S+$"
# DuckDB matches with RE2, whose \S is ASCII-minded: it matches U+00A0, U+2003 and the other
# Unicode spaces that GX (Python's re) counts as space, and \v. So the SQL screen of a GX regex is
# a stricter RE2 pattern: whatever matches it also matches the GX one, and a value it does not
# match is a suspect for GX to judge (an https URL with an accent in it, say).
RE2_SCREENS = {URL_PATTERN: rf"^{URL_SCHEME}[!-~]+$"}
# Under this many seconds for a whole HIT of images, nobody looked at them: a warning, not an error.
FAST_WORK_SECONDS = 3

ERROR = "critical"
WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """One expectation: the GX class name, its arguments, and how bad a failure is."""

    expectation: str
    kwargs: dict = field(hash=False)
    severity: str = ERROR
    description: str = ""

    @property
    def columns(self) -> list[str]:
        k = self.kwargs
        if "column_list" in k:
            return list(k["column_list"])
        if "column_A" in k:
            return [k["column_A"], k["column_B"]]
        return [k["column"]]

    @property
    def label(self) -> str:
        return f"{self.expectation}({', '.join(self.columns)})"

    @property
    def is_key(self) -> bool:
        """A uniqueness rule: whether it can fail depends on other rows, not on a row alone."""
        return self.expectation in ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique")

    def suspect(self) -> pl.Expr:
        """Rows this rule could fail on (a superset is fine: GX decides)."""
        k = self.kwargs
        name = self.expectation
        if name == "ExpectColumnValuesToNotBeNull":
            return pl.col(k["column"]).is_null()
        if name == "ExpectColumnValuesToBeUnique":
            return pl.col(k["column"]).is_duplicated() & pl.col(k["column"]).is_not_null()
        if name == "ExpectCompoundColumnsToBeUnique":
            return pl.struct(k["column_list"]).is_duplicated()
        if name == "ExpectColumnValuesToBeInSet":
            return ~pl.col(k["column"]).is_in(list(k["value_set"])).fill_null(True)
        if name == "ExpectColumnValuesToBeBetween":
            column = pl.col(k["column"])
            outside = pl.lit(False)
            if k.get("min_value") is not None:
                outside = outside | (column < k["min_value"])
            if k.get("max_value") is not None:
                outside = outside | (column > k["max_value"])
            return outside.fill_null(False)
        if name == "ExpectColumnValuesToMatchRegex":
            return ~pl.col(k["column"]).cast(pl.String).str.contains(k["regex"]).fill_null(True)
        if name == "ExpectColumnPairValuesAToBeGreaterThanB":
            return (pl.col(k["column_A"]) < pl.col(k["column_B"])).fill_null(False)
        raise ValueError(f"no suspect-row expression for {name}")

    def suspect_sql(self, relation: str, *, floats: Collection[str] = ()) -> str:
        """`suspect` as a DuckDB boolean over a row of `relation` (a table, or a query in parentheses):
        true, never NULL, on every row this rule could fail on (a superset is fine: GX decides).

        `floats` name the columns of a floating point type: pandas, so GX, takes their NaN for a
        missing value, which DuckDB does not. A key's suspects are the rows of its repeated values;
        a single column's NULLs are never repeats, a compound key's NULLs are values (as GX sees
        them); finding them costs an aggregate over `relation`, so ask `repeats_sql` first."""
        k = self.kwargs
        name = self.expectation
        if name == "ExpectColumnValuesToNotBeNull":
            column = sql_identifier(k["column"])
            return f"({column} IS NULL OR isnan({column}))" if k["column"] in floats else f"{column} IS NULL"
        if name == "ExpectColumnValuesToBeUnique":
            column = sql_identifier(k["column"])
            return (f"coalesce({column} IN (SELECT {column} FROM {relation} WHERE {column} IS NOT NULL "
                    f"GROUP BY ALL HAVING count(*) > 1), false)")
        if name == "ExpectCompoundColumnsToBeUnique":
            row = f"({', '.join(map(sql_identifier, k['column_list']))})"
            # A row of values compares NULL fields as equal, as the key's NULLs should be here.
            return f"coalesce({row} IN (SELECT {row} FROM {relation} GROUP BY ALL HAVING count(*) > 1), false)"
        if name == "ExpectColumnValuesToBeInSet":
            values = ", ".join(map(_literal, k["value_set"]))
            return f"coalesce({sql_identifier(k['column'])} NOT IN ({values}), false)"
        if name == "ExpectColumnValuesToBeBetween":
            column = sql_identifier(k["column"])
            outside = [f"{column} {op} {_literal(k[bound])}" for op, bound in (("<", "min_value"), (">", "max_value"))
                       if k.get(bound) is not None]
            return f"coalesce({' OR '.join(outside) or 'false'}, false)"
        if name == "ExpectColumnValuesToMatchRegex":
            pattern = RE2_SCREENS.get(k["regex"])
            if pattern is None:
                raise ValueError(f"no RE2 screen for the regex {k['regex']!r}: add one to RE2_SCREENS")
            return f"coalesce(NOT regexp_matches(CAST({sql_identifier(k['column'])} AS VARCHAR), {_literal(pattern)}), false)"
        if name == "ExpectColumnPairValuesAToBeGreaterThanB":
            op = "<" if k.get("or_equal") else "<="
            return f"coalesce({sql_identifier(k['column_A'])} {op} {sql_identifier(k['column_B'])}, false)"
        raise ValueError(f"no suspect-row SQL for {name}")

    def repeats_sql(self) -> str:
        """For a key: a DuckDB aggregate, true when some value may repeat (NULLs as in `suspect_sql`).

        It counts distinct hashes rather than values, half the time of hashing 4M URLs into a
        set: equal values have equal hashes, so no repeated hash means no repeat; a collision only
        sends `suspect_sql` looking, and it compares the values themselves."""
        columns = ", ".join(map(sql_identifier, self.columns))
        if self.expectation == "ExpectColumnValuesToBeUnique":
            return f"count({columns}) > count(DISTINCT hash({columns})) FILTER (WHERE {columns} IS NOT NULL)"
        return f"count(*) > count(DISTINCT hash({columns}))"


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {value!r}")


@dataclass(frozen=True)
class Suite:
    """Rules over one frame; `id_columns` name a failing row in messages (source_row in a file)."""

    name: str
    rules: tuple[Rule, ...]
    id_columns: tuple[str, ...]


def not_null(column: str) -> Rule:
    return Rule("ExpectColumnValuesToNotBeNull", {"column": column}, description=f"{column} is never empty")


def unique(column: str) -> Rule:
    return Rule("ExpectColumnValuesToBeUnique", {"column": column}, description=f"{column} is unique")


def unique_together(*columns: str) -> Rule:
    return Rule("ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)},
                description=f"({', '.join(columns)}) is unique")


def key(*columns: str) -> tuple[Rule, ...]:
    """A key: not null and unique."""
    if len(columns) == 1:
        return not_null(columns[0]), unique(columns[0])
    return (*[not_null(c) for c in columns], unique_together(*columns))


def between(column: str, low: float | None, high: float | None = None, *, severity: str = ERROR,
            description: str = "") -> Rule:
    return Rule("ExpectColumnValuesToBeBetween", {"column": column, "min_value": low, "max_value": high},
                severity=severity, description=description or f"{column} in [{low}, {high}]")


def probability(column: str) -> Rule:
    return between(column, 0, 1, description=f"{column} is a probability in [0, 1]")


def is_url(column: str) -> Rule:
    return Rule("ExpectColumnValuesToMatchRegex", {"column": column, "regex": URL_PATTERN},
                description=f"{column} is an http(s) URL")


def is_true(column: str, description: str) -> Rule:
    return Rule("ExpectColumnValuesToBeInSet", {"column": column, "value_set": [True]}, description=description)


def at_least(column_a: str, column_b: str, description: str) -> Rule:
    return Rule("ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": column_a, "column_B": column_b, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
                description=description)


ASSIGNMENT_RULES = (
    *key("assignment_id"),
    not_null("hit_id"),
    not_null("worker_id"),
    Rule("ExpectColumnValuesToBeInSet", {"column": "assignment_status", "value_set": list(STATUSES)},
         description=f"assignment_status is one of {', '.join(STATUSES)}"),
    between("work_time_in_seconds", 0, description="WorkTimeInSeconds ≥ 0"),
    between("work_time_in_seconds", FAST_WORK_SECONDS, severity=WARNING,
            description=f"WorkTimeInSeconds ≥ {FAST_WORK_SECONDS} (faster is an unusually fast worker)"),
    at_least("submit_time", "accept_time", "SubmitTime ≥ AcceptTime"),
)
HIT_RULES = key("hit_id")
# A results file's HIT items have no URL rule: ingest refuses every Input.image<N> cell that is
# not an http(s) URL before the gate, naming its row and column, and an item's image_id is that
# cell stripped, so the rule could never fail there; it only scanned the 4M URLs of a
# million-assignment file a second time (0.4 s, on one core).
RESULTS_HIT_ITEM_RULES = (*key("hit_id", "slot"), not_null("image_id"))
HIT_ITEM_RULES = (*RESULTS_HIT_ITEM_RULES, is_url("image_id"))
IMAGE_RULES = (*key("image_id"), is_url("image_id"))
GOLD_RULES = (*key("image_id"), not_null("truth"))
# Long-format votes (`load votes`): one vote per (image, worker), and it is a yes or a no.
VOTE_RULES = (*key("image_id", "worker_id"), not_null("selected"))
# A predictions file may repeat an image in rows that agree (the loader refuses ones that do not),
# so image_id is not a key here.
PREDICTION_RULES = (not_null("image_id"), is_url("image_id"), not_null("target_in_top_k"))
# What `classify` commits per batch: a model that returns NaN (broken weights) must not land.
CLASSIFIED_RULES = (*key("image_id", "rank"), is_url("image_id"), not_null("label"), not_null("score"),
                    probability("score"), between("rank", 1))

# The gate: suites over the frames a loader staged, by load kind. Rows are named by source_row.
BATCH_SUITES: dict[str, dict[str, Suite]] = {
    "results": {
        "assignments": Suite("results.assignments", ASSIGNMENT_RULES, ("source_row", "assignment_id")),
        "hits": Suite("results.hits", HIT_RULES, ("source_row", "hit_id")),
        "hit_items": Suite("results.hit_items", RESULTS_HIT_ITEM_RULES, ("hit_id", "slot")),
    },
    "images": {"images": Suite("images", IMAGE_RULES, ("image_id",))},
    "gold": {"gold": Suite("gold", GOLD_RULES, ("source_row", "image_id"))},
    "predictions": {"predictions": Suite("predictions", PREDICTION_RULES, ("source_row", "image_id"))},
    "votes": {"votes": Suite("votes", VOTE_RULES, ("source_row", "image_id", "worker_id"))},
    "classify": {"labels": Suite("classify.labels", CLASSIFIED_RULES, ("image_id", "rank"))},
}


@dataclass(frozen=True)
class WarehouseSuite:
    """A suite over a query of the warehouse (`crowdaudit validate`)."""

    suite: Suite
    query: str


def _table(name: str, rules: tuple[Rule, ...], id_columns: tuple[str, ...], query: str | None = None
           ) -> WarehouseSuite:
    return WarehouseSuite(Suite(name, rules, id_columns), query or f"SELECT * FROM {name}")


# Raw tables first, then the marts the report reads. A mart that is not built yet is skipped.
WAREHOUSE_SUITES: tuple[WarehouseSuite, ...] = (
    _table("raw.assignments", ASSIGNMENT_RULES, ("assignment_id",)),
    _table("raw.hits", HIT_RULES, ("hit_id",)),
    _table("raw.hit_items", HIT_ITEM_RULES, ("hit_id", "slot")),
    _table("raw.images", IMAGE_RULES, ("image_id",)),
    _table("raw.gold", (*GOLD_RULES, is_true("image_known", "every gold image is in images (or a task of "
                                                            "long-format votes)")), ("image_id",),
           # Only the gold ids are looked for among the images: hashing every image (4M) to find the few
           # gold ones cost validate 1 s on 1M assignments, 5 s on 3M, even when there was no gold.
           "SELECT g.*, g.image_id IN (SELECT image_id FROM (SELECT image_id FROM raw.images UNION ALL "
           "SELECT image_id FROM raw.external_votes) SEMI JOIN raw.gold USING (image_id)) AS image_known "
           "FROM raw.gold AS g"),
    _table("raw.image_predictions", (*key("run_id", "image_id"), not_null("target_in_top_k")),
           ("run_id", "image_id")),
    _table("raw.prediction_labels", (*key("run_id", "image_id", "rank"), between("rank", 1),
                                     not_null("label"), probability("score")), ("run_id", "image_id", "rank")),
    _table("raw.external_votes", VOTE_RULES, ("image_id", "worker_id")),
    _table("main.votes", (is_true("image_known", "every vote's image is in images"),), ("assignment_id", "slot"),
           # IN rather than a join to the distinct images: half the time (2.4 s vs 5.2 s for 36M votes)
           "SELECT v.assignment_id, v.slot, v.image_id, "
           "coalesce(v.image_id IN (SELECT image_id FROM raw.images), false) AS image_known FROM main.votes AS v "
           # long-format votes (`load votes`) name tasks, which are not registered images
           "WHERE v.assignment_id IS NOT NULL"),
    _table("main.vote_counts", (*key("image_id"), at_least("n_votes", "n_yes", "n_yes ≤ n_votes"),
                                between("n_yes", 0)), ("image_id",)),
    _table("main.labels", (*key("image_id"), not_null("label"), probability("p_yes")), ("image_id",)),
    _table("main.label_confidence", (*key("image_id"), probability("p_yes"), probability("posterior"),
                                     probability("p_yes_gold_weighted"), probability("p_yes_dawid_skene"),
                                     probability("all_agree_wrong_pooled"), probability("all_agree_wrong")),
           ("image_id",)),
    _table("main.majority_labels", key("image_id"), ("image_id",)),
)
