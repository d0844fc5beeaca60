"""`crowdaudit report`, `crowdaudit demo` and `crowdaudit simulate`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click
from click.core import ParameterSource

from etl.cli.base import SEED, Settings, cli, pass_settings
from etl.cli.hits import CENTS
from etl.errors import crowdaudit_command
from etl.warehouse import open_warehouse

# simulate draws every worker's id, kind and rates up front: measured 2.9 GB and 32 s for 10 million
# workers, so 10**12 died of a MemoryError traceback. A million (0.4 GB) is more than MTurk ever had active.
MAX_WORKERS = 1_000_000


@cli.command("report")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True, help="Where to write the HTML file (its folder must exist); - for standard output.")
@pass_settings
def report(settings: Settings, output: Path) -> None:
    """Write a self-contained HTML report (metrics by region and language, wrong images, workers)."""
    from etl.report import gather, render, save_report

    with open_warehouse(settings.warehouse, read_only=True, wait_seconds=settings.wait_seconds) as con:
        context = gather(con)
    html = render(context)
    if str(output) == "-":
        click.echo(html, nl=False)
    behind = context["loads_since_build"]
    if behind:
        click.echo(f"warning: {behind} load(s) since the last build are not in the report's votes, labels and "
                   f"metrics; run `{crowdaudit_command('build')}` first", err=True)
    if str(output) != "-":
        click.echo(save_report(html, output).resolve())


@cli.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
              show_default=True, help="Directory for the generated data, its warehouse and the report. What "
              "an earlier demo wrote there is deleted first; a folder holding anything else is refused.")
@click.option("--seed", type=SEED, default=7, show_default=True, help="Seed for the generated data.")
@click.pass_context
def demo(ctx: click.Context, out: Path, seed: int) -> None:
    """Run the whole audit on generated data and print the report's path (last line).

    Generates MMID-style images for 8 Indian and 4 European languages, classifier predictions,
    gold answers and an archived batch results file; loads them into OUT/crowdaudit.duckdb (or
    into --warehouse when typed on this command line and the file does not exist yet; the demo
    never replaces a warehouse, and ignores CROWDAUDIT_WAREHOUSE). The images the archive lacks go through the API path:
    HITs built, published with boto3 to a local MTurk-compatible endpoint (as `mturk-local`),
    answered by simulated workers, fetched and ingested. Then it builds the models and writes
    OUT/report.html.
    """
    from etl.demo import run_demo

    settings: Settings = ctx.obj
    # Only a --warehouse typed on this command line: CROWDAUDIT_WAREHOUSE names a team's real
    # warehouse, which a demo must not fill with generated data.
    given = ctx.parent is not None and ctx.parent.get_parameter_source("warehouse") == ParameterSource.COMMANDLINE
    explicit = ctx.parent.params.get("warehouse") if given else None
    say = (lambda _: None) if settings.silent else (lambda text: click.echo(text, err=True))
    path = run_demo(out, seed=seed, warehouse=explicit, say=say)
    click.echo(path)


@cli.command("simulate")
@click.option("--truth", "truth_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="CSV with url,truth: the images to label and whether each really shows a wedding.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Batch results CSV to write, in the requester site's format.")
@click.option("--gold", "gold_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with url,truth of gold images to mix into every HIT; each must be in --truth, with "
                   "the same truth.")
@click.option("--per-hit", type=click.IntRange(1, 100), default=12, show_default=True)
@click.option("--assignments", type=click.IntRange(1, 100), default=3, show_default=True)
@click.option("--gold-per-hit", type=click.IntRange(0, 50), default=1, show_default=True,
              help="Gold images mixed into every HIT; at least 1 with --gold (gold is never asked as a new image).")
@click.option("--workers", type=click.IntRange(2, MAX_WORKERS), default=40, show_default=True,
              help="Workers in the crowd, each drawn before any HIT is answered (about 0.3 KB each, so at most "
                   "a million: 0.4 GB and 3 s).")
@click.option("--spammers", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="Share of workers who tick at random or never.")
@click.option("--reward", type=CENTS, default="0.01", show_default=True,
              help="Reward per assignment, USD, in whole cents (MTurk's unit; the file shows it as the site does).")
@click.option("--seed", type=SEED, default=0, show_default=True)
def simulate(truth_csv: Path, output: Path, gold_csv: Path | None, per_hit: int, assignments: int,
             gold_per_hit: int, workers: int, spammers: float, reward: Decimal, seed: int) -> None:
    """Simulate a crowd answering HITs over known-truth images; write a batch results CSV."""
    from etl.simulate import CrowdSpec, read_truth_and_gold, simulate_batch, write_results_csv

    if not 0 <= spammers <= 1:  # click's FloatRange lets nan through
        raise click.BadParameter(f"{spammers} is not a share between 0 and 1", param_hint="'--spammers'")
    truth, gold_ids = read_truth_and_gold(truth_csv, gold_csv)
    if gold_ids and gold_per_hit == 0:
        # Gold images are kept out of the images to label (as `hits build` keeps them), so none would be shown.
        raise click.UsageError(f"--gold-per-hit 0 would show none of the {len(set(gold_ids))} --gold images: they are "
                               "mixed in as gold or not at all. Give --gold-per-hit 1 or more, or leave out --gold "
                               "to ask about every --truth image")
    if gold_ids and gold_per_hit > len(set(gold_ids)):
        raise click.UsageError(f"--gold-per-hit {gold_per_hit}: --gold has only {len(set(gold_ids))} images, and a "
                               "HIT shows each image once")
    if gold_ids and gold_per_hit >= per_hit:
        raise click.UsageError(f"--gold-per-hit {gold_per_hit} leaves no slot of a {per_hit}-image HIT (--per-hit) for "
                               "an image that is not gold")
    if assignments > workers:
        raise click.UsageError("--assignments cannot exceed --workers: a worker answers a HIT once")
    results, _ = simulate_batch(
        truth, per_hit=per_hit, assignments=assignments, reward=reward,
        crowd=CrowdSpec(n_workers=workers, spammer_share=spammers), gold_ids=gold_ids,
        gold_per_hit=gold_per_hit if gold_ids else 0, seed=seed,
    )
    write_results_csv(results, output)
    click.echo(f"{output}: {results.height} assignments over {results['HITId'].n_unique()} HITs")
