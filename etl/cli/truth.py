"""`crowdaudit load votes` and `crowdaudit labels`: long-format votes in, truth-inferred labels out."""

from __future__ import annotations

from pathlib import Path

import click

from etl.cli.base import Settings, cli, pass_settings
from etl.cli.loading import allow_warnings_option, load
from etl.cli.models import model_progress
from etl.load.votes import load_votes
from etl.models import build as build_models
from etl.truth.settings import METHODS, labels_summary, update_truth_settings
from etl.warehouse import open_warehouse


@load.command("votes")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--task-col", default="task", show_default=True, help="Column with the task (image) id.")
@click.option("--worker-col", default="worker", show_default=True, help="Column with the worker id.")
@click.option("--label-col", default="label", show_default=True, help="Column with the vote.")
@click.option("--positive", default="1", show_default=True, help="The label value that means yes.")
@allow_warnings_option("votes")
@pass_settings
def load_votes_command(
    settings: Settings, csv_file: Path, task_col: str, worker_col: str, label_col: str, positive: str,
    allow_warnings: bool,
) -> None:
    """Load yes/no votes in long format (one row per vote) from any source.

    The task id becomes the image id; load known answers for the same tasks with
    `crowdaudit load gold` (columns task,truth). Then `crowdaudit build` infers labels.

    \b
    Examples:
      crowdaudit load votes bluebirds_votes.csv
      crowdaudit load votes temp_votes.csv --positive 2
      crowdaudit load votes export.csv --task-col item --worker-col annotator --label-col answer --positive yes
    """
    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds) as con:
        result = load_votes(
            con, csv_file, task_col=task_col, worker_col=worker_col, label_col=label_col, positive=positive,
            allow_warnings=allow_warnings,
        )
    click.echo(result.summary())


@cli.command("labels")
@click.option(
    "--method",
    type=click.Choice(METHODS),
    help="What the labels mart holds; auto = the best the data supports (the initial setting).",
)
@click.option(
    "--target",
    type=click.FloatRange(0.5, 0.95),
    help="Posterior under which needs_more_votes lists an image (initially 0.8).",
)
@pass_settings
def labels(settings: Settings, method: str | None, target: float | None) -> None:
    """Choose how labels are inferred from votes, rebuild, and say what the labels hold.

    dawid_skene: EM over a confusion matrix per worker (Dawid & Skene 1979), gold clamped.
    weighted_vote: each vote weighted by its worker's accuracy on gold (naive Bayes).
    majority: more yes than no votes; ties are no.

    \b
    Examples:
      crowdaudit labels
      crowdaudit labels --method weighted_vote
      crowdaudit labels --method auto --target 0.9
    """
    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds,
                        must_exist=True) as con:
        # In the build's transaction: the marts keep the labels of the settings that made them.
        build_models(con, on_model=model_progress(settings), on_test=model_progress(settings, "tested"),
                     first=lambda con: update_truth_settings(con, method=method, target_posterior=target))
        summary = labels_summary(con)
    click.echo(
        f"labels: {summary['n_labels']} images, {summary['n_yes']} yes, method {summary['method']} "
        f"({summary['reason']})"
    )
    if summary["method"] == "dawid_skene" and summary["ds_iterations"] is None:
        click.echo("Dawid-Skene had no votes to run on")
    elif summary["method"] == "dawid_skene":
        state = "converged" if summary["ds_converged"] else "did not converge"
        click.echo(f"Dawid-Skene {state} in {summary['ds_iterations']} iterations")
    click.echo(
        f"{summary['n_unsure']} labels have posterior < {summary['target_posterior']:g}: see needs_more_votes"
    )
