"""`crowdaudit build` and `crowdaudit sql`: the SQL models and ad-hoc queries over them."""

from __future__ import annotations

import click

from etl.cli.base import Settings, cli, pass_settings
from etl.models import build as build_models
from etl.query import FORMATS, query_output
from etl.warehouse import open_warehouse


def model_progress(settings: Settings, done: str = "built"):
    """Names each model as it is built, or with done="tested" each SQL test as it passes (stderr;
    not with --silent): a build can take a while."""
    def progress(name: str, seconds: float) -> None:
        if settings.show_progress:
            click.echo(f"  {done} {name} ({seconds:.2f} s)", err=True)

    return progress


@cli.command("build")
@pass_settings
def build(settings: Settings) -> None:
    """Build the SQL models in sql/ (staging -> intermediate -> marts), then run sql/tests.

    All models build in one transaction: if one fails, or a SQL test returns rows, the marts
    stay as they were and the command names the model or test.
    """
    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds) as con:
        report = build_models(con, on_model=model_progress(settings),
                              on_test=model_progress(settings, "tested"))
        labels_reason = con.execute(
            "SELECT method, reason FROM intermediate.int_truth_choice"
        ).fetchall()
        loads = con.execute("SELECT count(*) FROM raw.load_log").fetchall()[0][0]
    click.echo(f"built {len(report.built)} models; {report.tests_run} SQL tests passed")
    if not loads:  # a mistyped --warehouse creates a new, empty file: say so rather than look fine
        click.echo(f"note: {settings.warehouse} holds no loaded files yet; the marts are empty", err=True)
        return
    for method, reason in labels_reason:
        click.echo(f"labels: {method} ({reason})")


@cli.command("sql")
@click.argument("query")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="table", show_default=True)
@pass_settings
def sql(settings: Settings, query: str, output_format: str) -> None:
    """Run a read-only SQL QUERY against the warehouse (no writes, no file or network access).

    \b
    Examples:
      crowdaudit sql "SELECT * FROM classifier_metrics WHERE grouping = 'region'"
      crowdaudit sql "SELECT region, count(*) FROM images GROUP BY ALL" --format csv
    """
    with open_warehouse(settings.warehouse, read_only=True, wait_seconds=settings.wait_seconds) as con:
        # Read-only stops writes to the warehouse; these stop COPY TO, ATTACH, INSTALL and file reads.
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        for text in query_output(con, query, output_format):
            click.echo(text, nl=False)
