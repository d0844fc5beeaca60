"""Run a suite on a frame with Great Expectations 1.x (pandas execution), fast enough for a gate.

GX's pandas engine costs over a second per expectation on a million rows, so the frame GX sees is
the rows any rule's polars `suspect` expression flags (every row it could fail on: for a unique
key, all rows of a repeated value) plus the first rows as a sample. Counts stay exact: a row no
rule suspects passes every rule (tests/test_quality.py checks the screen against GX on whole
frames). A clean batch of a million rows costs one parallel polars pass.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field

import polars as pl

from etl.quality.suites import ERROR, Rule, Suite

SAMPLE_ROWS = 1_000
EXAMPLES = 5


@dataclass
class Outcome:
    """One rule's verdict on one frame."""

    suite: str
    expectation: str
    columns: list[str]
    description: str
    severity: str
    success: bool
    element_count: int
    unexpected_count: int
    examples: list[dict] = field(default_factory=list)

    @property
    def is_error(self) -> bool:
        return not self.success and self.severity == ERROR

    @property
    def is_warning(self) -> bool:
        return not self.success and self.severity != ERROR

    def to_dict(self) -> dict:
        return asdict(self)

    def sentence(self) -> str:
        kind = "error" if self.severity == ERROR else "warning"
        if self.examples and "exception" in self.examples[0]:  # GX raised: no row count to give
            return (f"{self.suite}: {kind}: could not check {self.description} [{self.expectation}]: "
                    f"{self.examples[0]['exception']}")
        where = "; ".join(", ".join(f"{k} {v}" for k, v in example.items()) for example in self.examples)
        return (f"{self.suite}: {kind}: expected {self.description} [{self.expectation}]; "
                f"{self.unexpected_count} of {self.element_count} row(s) fail"
                + (f", e.g. {where}" if where else ""))


@functools.cache
def _batch_definition():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("crowdaudit").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def _has_repeats(frame: pl.DataFrame, columns: list[str]) -> bool:
    """Whether some value of `columns` occurs twice (as `suspect` sees it: a single column's
    nulls aside, nulls in a compound key count as values), without building a per-row mask.

    First on hashes: equal values hash alike, so when no two rows' hashes are equal no value
    repeats (exact), and that costs a fraction of comparing strings (0.03 s vs 0.13 s for a
    million assignment ids); a repeated hash (a repeat, or a rare collision) is then decided on
    the values. A group-by on all but the last column, counting the last one's distinct values,
    is four times faster than hashing a struct of the columns (0.2 s vs 0.9 s for 4M HIT items)."""
    if len(columns) == 1:
        column = pl.col(columns[0]).drop_nulls()
        if frame.select(column.hash().n_unique() == column.len()).item():
            return False
        return bool(frame.select(column.n_unique() < column.len()).item())
    # Each column's hash with its own seed, so that swapping two columns' values makes another hash.
    row_hash = pl.reduce(lambda a, b: a ^ b, [pl.col(c).hash(seed=i) for i, c in enumerate(columns)])
    if frame.select(row_hash.n_unique() == pl.len()).item():
        return False
    *group, last = columns
    counts = frame.group_by(group).agg((pl.len() > pl.col(last).n_unique()).alias("repeats"))
    return bool(counts["repeats"].any())


def rules_with_suspects(frame: pl.DataFrame, rules: list[Rule]) -> list[Rule]:
    """The rules at least one row could fail: row-wise rules in one parallel pass, keys by group-by."""
    row_wise = [rule for rule in rules if not rule.is_key]
    flags: tuple = ()
    if row_wise:
        flags = frame.select([rule.suspect().any().alias(str(i)) for i, rule in enumerate(row_wise)]).row(0)
    keys = [rule for rule in rules if rule.is_key and _has_repeats(frame, rule.columns)]
    return [rule for rule, flagged in zip(row_wise, flags, strict=True) if flagged] + keys


def suspect_rows(frame: pl.DataFrame, rules: list[Rule], *, sample: int = SAMPLE_ROWS) -> pl.DataFrame:
    """The rows GX must see: any rule's suspects, plus the first `sample` rows.

    Rules no row can fail are left out of the row mask, so a clean batch never pays for the
    per-row duplicate masks of its keys."""
    live = rules_with_suspects(frame, rules)
    if not live:
        return frame.head(min(sample, frame.height))
    flagged = pl.any_horizontal([rule.suspect() for rule in live])
    return frame.with_row_index("__row").filter(flagged | (pl.col("__row") < sample)).drop("__row")


def applicable(suite: Suite, columns: list[str]) -> tuple[list[Rule], list[str]]:
    """The suite's rules over `columns` (others are skipped), and the columns they and the ids need."""
    rules = [rule for rule in suite.rules if all(c in columns for c in rule.columns)]
    return rules, list(dict.fromkeys([*_id_columns(suite, columns), *(c for rule in rules for c in rule.columns)]))


def _id_columns(suite: Suite, columns: list[str]) -> list[str]:
    """The suite's columns that name a row (in messages and GX's examples), of those present."""
    return [c for c in suite.id_columns if c in columns]


def run_suite(frame: pl.DataFrame, suite: Suite, *, screen: bool = True, gx_when_clean: bool = True,
              element_count: int | None = None) -> list[Outcome]:
    """Validate `frame` against `suite`; rules whose columns the frame lacks are skipped.

    With `screen`, GX sees only the suspect rows and a sample (see the module docstring); without
    `gx_when_clean`, a frame with no suspect row passes without starting GX at all (the gate: GX's
    import alone is a fifth of a million-row ingest). `element_count` is the row count of the
    table `frame` was screened from elsewhere (`crowdaudit validate` screens in SQL, see
    `sql_screen`): the outcomes report it, not the frame's height."""
    rules, needed = applicable(suite, frame.columns)
    if not rules:
        return []
    id_columns = _id_columns(suite, frame.columns)
    outcomes = [Outcome(suite.name, rule.label, rule.columns, rule.description, rule.severity, True,
                        frame.height if element_count is None else element_count, 0) for rule in rules]
    rows = frame.select(needed)
    if screen:
        rows = suspect_rows(rows, rules, sample=SAMPLE_ROWS if gx_when_clean else 0)
    if rows.height == 0:
        return outcomes
    import great_expectations as gx
    batch_definition = _batch_definition()  # creates the context a suite needs
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for number, rule in enumerate(rules):
        expectation_class = getattr(gx.expectations, rule.expectation)
        gx_suite.add_expectation(expectation_class(**rule.kwargs, severity=rule.severity, meta={"rule": number}))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": rows.to_pandas()})
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES,
                     "unexpected_index_column_names": id_columns}
    validation = batch.validate(gx_suite, result_format=result_format)
    for result in validation.results:
        outcome = outcomes[result.expectation_config.meta["rule"]]
        outcome.success = bool(result.success)
        details = result.result or {}
        outcome.unexpected_count = int(details.get("unexpected_count") or 0)
        failure = _exception_message(result.exception_info)
        if failure is not None:
            outcome.success = False
            outcome.examples = [{"exception": failure}]
            continue
        outcome.examples = [_plain(example, id_columns)
                            for example in (details.get("partial_unexpected_index_list") or [])][:EXAMPLES]
    return outcomes


def _exception_message(info: dict | None) -> str | None:
    """Why GX could not evaluate an expectation, or None. GX 1.x keys `exception_info` by the metric
    that raised ({"MetricConfigurationID(...)": {"raised_exception": True, ...}}); looking for the
    flag at the top only found nothing, and such a failure read as '0 of N row(s) fail'."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    raised = [entry for entry in entries if entry.get("raised_exception")]
    return str(raised[0].get("exception_message")) if raised else None


def _plain(example: dict | object, id_columns: list[str]) -> dict:
    """The row's ids first, then the values at fault; numpy scalars, timestamps and NaN (a missing
    value, to pandas) made JSON-friendly, as quarantine's .json and dq_results.examples hold them."""
    if not isinstance(example, dict):
        return {"value": str(example)}
    plain = {}
    for name in sorted(example, key=lambda name: (name not in id_columns, name)):
        value = example[name]
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and math.isnan(value):  # pandas' missing string: NaN is not JSON
            value = None
        plain[name] = value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
    return plain
