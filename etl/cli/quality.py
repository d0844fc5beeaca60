"""`crowdaudit validate`: run the expectation suites on the warehouse."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from etl.cli.base import Settings, cli, pass_settings
from etl.errors import CrowdauditError, crowdaudit_command
from etl.warehouse import open_warehouse

if TYPE_CHECKING:
    from etl.quality.check import Outcome


@cli.command("validate")
@pass_settings
def validate(settings: Settings) -> None:
    """Run every expectation suite (raw tables and key marts) on the warehouse.

    Prints one line per suite and every failed expectation with example rows, records the results
    in the dq_results table (the report shows the latest run), and exits 1 when an error-level
    expectation fails. Warnings (an unusually fast worker) are printed but do not fail.

    \b
    Example:
      crowdaudit validate
    """
    from etl.quality.results import record_results, validate_warehouse
    from etl.report import loads_since_build

    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds,
                        must_exist=True) as con:
        outcomes, skipped = validate_warehouse(con, on_suite=_say_suite)
        run_id = record_results(con, outcomes)
        unbuilt_loads = loads_since_build(con)
    if skipped:
        click.echo(f"not built yet, skipped: {', '.join(skipped)} (run {crowdaudit_command('build')})")
    if unbuilt_loads:
        click.echo(f"note: {unbuilt_loads} load(s) since the last build are in the raw tables but not in the marts "
                   f"checked here (run {crowdaudit_command('build')}, then validate)")
    errors = [o for o in outcomes if o.is_error]
    click.echo(f"validation run {run_id}: {len(outcomes)} expectations, {len(errors)} failed, "
               f"{sum(o.is_warning for o in outcomes)} warning(s)")
    if errors:
        raise CrowdauditError(f"{len(errors)} expectation(s) failed (see above; results in dq_results)")


def _say_suite(outcomes: list[Outcome]) -> None:
    """One suite's line and its failed expectations, printed as soon as the suite is checked."""
    failed = [o for o in outcomes if not o.success]
    click.echo(f"{outcomes[0].suite}: {len(outcomes) - len(failed)}/{len(outcomes)} expectations met")
    for outcome in failed:
        click.echo(f"  {outcome.sentence()}")
