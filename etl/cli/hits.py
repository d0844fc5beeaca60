"""`crowdaudit hits ...`, `crowdaudit cost` and `crowdaudit mturk-local`: design, plan, price and
publish HITs, follow them, and run a local MTurk-compatible endpoint. Thin: parse, call, print."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from etl.cli.base import SEED, Settings, cli, pass_settings
from etl.cli.loading import allow_warnings_option
from etl.errors import CrowdauditError, crowdaudit_command
from etl.hits.pricing import GROUPED_THOUSANDS, is_whole_cents
from etl.warehouse import open_warehouse

ENDPOINT_ENV = "CROWDAUDIT_MTURK_ENDPOINT"


class Money(click.ParamType):
    """Dollars as Decimal ("$0.01", "0.01"), never float: money is counted exactly.

    `whole_cents`: MTurk pays rewards and bonuses in whole cents, and would round $0.015 to the
    cent while crowdaudit priced the batch at $0.015; such an amount is refused, not rounded."""

    name = "USD"
    # The warehouse keeps amounts as DECIMAL(12, 4).
    LARGEST = Decimal(99999999)
    # A comma only as a thousands separator (1,000.50). Dropping any comma read a decimal comma
    # (0,20, as much of Europe writes twenty cents) as a budget or reward ten or a hundred times more.
    THOUSANDS = re.compile(rf"{GROUPED_THOUSANDS}(\.\d*)?")

    def __init__(self, *, whole_cents: bool = False):
        self.whole_cents = whole_cents

    def convert(self, value, param, ctx):
        if isinstance(value, Decimal):
            return value
        written = str(value).strip().lstrip("$")
        if "_" in written:  # Decimal reads Python's digit separators: '0_20' was $20
            self.fail(f"{value!r} is not an amount of dollars (write cents with a point, e.g. 0.20)", param, ctx)
        if "," in written and not self.THOUSANDS.fullmatch(written):
            self.fail(f"{value!r}: a comma separates thousands only (1,000.50); write cents with a point, "
                      "e.g. 0.20", param, ctx)
        try:
            amount = Decimal(written.replace(",", ""))
        except InvalidOperation:
            self.fail(f"{value!r} is not an amount of dollars", param, ctx)
        if not amount.is_finite():
            self.fail(f"{value!r} is not an amount of dollars", param, ctx)
        if amount < 0:
            self.fail("cannot be negative", param, ctx)
        if amount > self.LARGEST:
            self.fail(f"${amount:f} is more than ${self.LARGEST:,}", param, ctx)
        if self.whole_cents and not is_whole_cents(amount):
            self.fail(f"${amount:f} is not a whole number of cents (MTurk pays whole cents)", param, ctx)
        return amount


MONEY = Money()
CENTS = Money(whole_cents=True)


@cli.group("hits")
def hits() -> None:
    """Design, plan, publish and follow HITs (Mechanical Turk's formats and API).

    \b
    Web-site path:  crowdaudit hits layout > layout.html; crowdaudit hits build  (writes variables.csv)
    API path:       crowdaudit hits build; crowdaudit hits publish --budget 5; crowdaudit hits status
    """


@hits.command("layout")
@click.option("--per-hit", default=12, show_default=True, type=click.IntRange(1, 100), help="Images per HIT.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
def layout_command(per_hit: int, output: Path | None) -> None:
    """Print the HIT design for the requester web site (Design Layout tab).

    Image URLs are ${image1} ... ${imageN} placeholders, filled from the variables.csv that
    `hits build` writes; the site joins the ticked slots into Answer.selected ("image2|image7").

    \b
    Example:
      crowdaudit hits layout --per-hit 12 -o layout.html
    """
    from etl.hits.template import layout_html

    html = layout_html(per_hit)
    if output:
        output.write_text(html, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(html, nl=False)


@hits.command("variables")
@click.option("--batch", "batch_id", help="Batch id. [default: the newest]")
@click.option("-o", "--output", default="variables.csv", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="The web site's input file to write.")
@pass_settings
def variables_command(settings: Settings, batch_id: str | None, output: Path) -> None:
    """Write a planned batch's variables.csv again, byte for byte as `hits build` wrote it.

    For a file a later `hits build` overwrote (the default name is the same for every batch) or
    that was lost: the batch's images all have a HIT, so no later build plans them again.

    \b
    Example:
      crowdaudit hits variables --batch crowdaudit-1 -o batch1-variables.csv
    """
    from etl.atomic_file import write_text_atomically
    from etl.hits.plan import batch_variables

    with open_warehouse(settings.warehouse, read_only=True, wait_seconds=settings.wait_seconds) as con:
        batch_id = _batch(con, batch_id)
        text, n_hits = batch_variables(con, batch_id)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(output, text)
    except OSError as error:
        raise CrowdauditError(f"cannot write {output}: {error.strerror or error}") from None
    click.echo(f"wrote {output}: {n_hits} HITs of batch {batch_id}")


@hits.command("build")
@click.option("--per-hit", default=12, show_default=True, type=click.IntRange(1, 100), help="Images per HIT.")
@click.option("--assignments", default=3, show_default=True, type=click.IntRange(1, 1000),
              help="Workers per HIT.")
@click.option("--reward", default="0.01", show_default=True, type=CENTS, help="Reward per assignment, USD.")
@click.option("--gold-per-hit", default=1, show_default=True, type=click.IntRange(0, 99),
              help="Gold (known-answer) images per HIT, when gold is loaded.")
@click.option("--gold-rate", type=click.FloatRange(0, 1, max_open=True),
              help="Share of each HIT's slots that are gold (at least one); overrides --gold-per-hit.")
@click.option("--where", "where_sql", help="SQL condition on image_id, path, language, word, region.")
@click.option("--seed", type=SEED, help="Random seed: the same seed plans the same HITs.")
@click.option("--limit", type=click.IntRange(1), help="Plan at most this many (non-gold) images.")
@click.option("--variables", "variables_csv", default="variables.csv", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="The web site's input file to write.")
@pass_settings
def build_command(settings: Settings, per_hit: int, assignments: int, reward: Decimal, gold_per_hit: int,
                  gold_rate: float | None, where_sql: str | None, seed: int | None, limit: int | None,
                  variables_csv: Path) -> None:
    """Plan HITs for the images that have none yet, gold mixed in at random slots.

    Records the planned HITs (status 'planned') in the warehouse and writes variables.csv
    (columns image1..imageN) for the web site's "Publish Batch".

    \b
    Examples:
      crowdaudit hits build --per-hit 12 --assignments 3 --reward 0.01 --gold-per-hit 1 --seed 7
      crowdaudit hits build --gold-rate 0.1 --where "region = 'non-Western'"
    """
    from etl.hits.plan import HitDesign, build_hits

    design = HitDesign(per_hit=per_hit, assignments=assignments, reward=reward, gold_per_hit=gold_per_hit,
                       gold_rate=gold_rate)
    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds, must_exist=True) as con:
        batch = build_hits(con, design, where=where_sql, seed=seed, variables_csv=variables_csv, limit=limit)
        any_images = batch is not None or con.execute("SELECT count(*) FROM raw.images").fetchall()[0][0] > 0
    if not any_images:
        raise CrowdauditError("no images to plan HITs for: load them first "
                              f"({crowdaudit_command('load images DIR --url-prefix URL')}, or a manifest CSV)")
    if batch is None:
        click.echo("every matching image already has a HIT; nothing planned")
        return
    click.echo(
        f"planned batch {batch.batch_id}: {batch.n_hits} HITs for {batch.n_images} images, "
        f"{batch.gold_per_hit} gold per HIT (seed {batch.seed}); wrote {batch.variables_csv}\n"
        f"price: ${batch.price.total} ({batch.price.n_assignments} assignments x ${batch.price.per_assignment:.2f} "
        "with fees)\n"
        # The site shows only the slots its layout has: a 12-slot layout over a 16-column file
        # would never show images 13-16, and every worker's answer would read as 'no' on them.
        f"web site: its Design Layout must have {per_hit} slots (crowdaudit hits layout --per-hit {per_hit}); "
        f"{crowdaudit_command(f'hits variables --batch {batch.batch_id}')} writes this file again"
    )
    if batch.site_garbled.len():
        click.echo(
            f"note: {batch.site_garbled.len()} image URL(s) hold an HTML character reference, e.g. "
            f"{batch.site_garbled[0]!r}: the requester site pastes URLs into its page unescaped, so its workers "
            "would see another URL (a broken picture, answered 'no'); publish this batch through the API "
            "(crowdaudit hits publish escapes them), not the site"
        )


def _qualification_options(function):
    options = [
        click.option("--min-approval-rate", default=90, show_default=True, type=click.IntRange(0, 100),
                     help="Workers' HIT approval rate, %."),
        click.option("--min-approved-hits", default=500, show_default=True, type=click.IntRange(0),
                     help="Workers' number of approved HITs."),
        click.option("--country", "countries", multiple=True, default=("IN",), show_default=True,
                     help="Workers' locale (ISO country code); repeat for several."),
        click.option("--any-worker", is_flag=True, help="No qualification requirements at all."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _target_options(function):
    options = [
        click.option("--sandbox/--live", "sandbox", default=None,
                     help="MTurk's sandbox (default for publish) or the live marketplace (real money)."),
        click.option("--endpoint-url", envvar=ENDPOINT_ENV, show_envvar=True,
                     help="An MTurk-compatible endpoint, e.g. crowdaudit mturk-local's URL."),
        click.option("--batch", "batch_id", help="Batch id. [default: the newest]"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _batch_platform(con, batch_id: str, sandbox: bool | None, endpoint_url: str | None):
    """The platform a batch lives on. A batch published (even in part) on one target is followed
    and finished there: a re-run that named another would pay for HITs twice, on two targets."""
    from etl.crowd.mturk import MTurkPlatform, target_for
    from etl.hits.manage import batch_target

    if sandbox is not None and endpoint_url:
        raise CrowdauditError(f"--{'sandbox' if sandbox else 'live'} and an endpoint URL ({endpoint_url}, from "
                              f"--endpoint-url or {ENDPOINT_ENV}) both name a target: give one")
    recorded = batch_target(con, batch_id)
    asked = None if sandbox is None and not endpoint_url else target_for(live=sandbox is False,
                                                                         endpoint_url=endpoint_url).name
    if recorded is not None and asked is not None and asked != recorded:
        raise CrowdauditError(f"batch {batch_id} is published on {recorded}, not {asked} (named by --sandbox, "
                              f"--live, --endpoint-url or {ENDPOINT_ENV}): leave those out to use it there, or "
                              "plan a new batch for the other target")
    name = recorded or asked or "sandbox"
    return MTurkPlatform(target_for(live=name == "live", endpoint_url=None if name in ("sandbox", "live") else name))


def _batch(con, batch_id: str | None) -> str:
    from etl.hits.plan import latest_batch

    batch_id = batch_id or latest_batch(con)
    if batch_id is None:
        raise CrowdauditError(f"no batch planned yet: run `{crowdaudit_command('hits build')}` first")
    return batch_id


def _confirm_live(platform, yes: bool, what: str):
    """Asks before spending an amount on the live marketplace (not with --yes, a sandbox or an endpoint)."""
    def confirm(amount: Decimal) -> bool:
        if not platform.target.live or yes:
            return True
        return click.confirm(f"{what}: spend ${amount} of real money on the live MTurk marketplace?", default=False)

    return confirm


@contextmanager
def _per_hit_progress(settings: Settings, n_hits: int, label: str) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr (a terminal, not --silent) advanced once per HIT: status, results,
    extend and expire make a call or two per HIT, a fifth of a second each on MTurk, and a batch of
    10,000 HITs was many minutes without a word. The bar is drawn when the first HIT is done, not
    before: `extend` asks before spending real money, and a bar drawn first put the question at the
    end of a 0% bar, with the terminal's cursor hidden while the user typed the answer."""
    if not (settings.show_progress and n_hits):
        yield lambda: None
        return
    with ExitStack() as stack:
        bar = None

        def advance() -> None:
            nonlocal bar
            if bar is None:
                bar = stack.enter_context(click.progressbar(length=n_hits, label=label, file=sys.stderr))
            bar.update(1)

        yield advance


@hits.command("publish")
@_target_options
@click.option("--budget", required=True, type=MONEY, help="Most this publish may cost, fees included, USD.")
@click.option("--dry-run", is_flag=True, help="Print the payloads and the price; call nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before spending real money with --live.")
@_qualification_options
@pass_settings
def publish_command(settings: Settings, sandbox: bool | None, endpoint_url: str | None, batch_id: str | None,
                    budget: Decimal, dry_run: bool, yes: bool, min_approval_rate: int, min_approved_hits: int,
                    countries: tuple[str, ...], any_worker: bool) -> None:
    """Publish a planned batch through the API: one HIT type, one HIT per planned HIT.

    Refuses, before creating anything, when the batch's price (fees included) is over --budget or
    the account balance. Safe to re-run after a crash: a HIT is never created twice. Credentials
    come from boto3's usual chain (AWS_PROFILE, ~/.aws/credentials, ...); region us-east-1.

    \b
    Examples:
      crowdaudit hits publish --budget 5 --dry-run
      crowdaudit hits publish --sandbox --budget 5
      crowdaudit hits publish --live --budget 30
      crowdaudit hits publish --endpoint-url http://127.0.0.1:8765 --budget 5
    """
    from etl.crowd.platform import seed_qualifications
    from etl.hits.publish import publish_batch

    quals = () if any_worker else seed_qualifications(
        min_approval_rate=min_approval_rate, min_approved_hits=min_approved_hits, countries=countries
    )
    say = (lambda _: None) if settings.silent else click.echo
    with open_warehouse(settings.warehouse, read_only=dry_run, wait_seconds=settings.wait_seconds, must_exist=True) as con:
        batch_id = _batch(con, batch_id)
        platform = _batch_platform(con, batch_id, sandbox, endpoint_url)
        ask = _confirm_live(platform, yes, f"publish {batch_id}")
        report = publish_batch(con, platform, batch_id=batch_id, budget=budget, qualifications=quals,
                               dry_run=dry_run, confirm=lambda price: ask(price.total), say=say)
    if dry_run:
        click.echo(json.dumps(report.payloads, indent=2))
        click.echo("qualifications: " + ("; ".join(q.describe() for q in quals) or "none"))
    click.echo(report.summary())


@hits.command("status")
@_target_options
@pass_settings
def status_command(settings: Settings, sandbox: bool | None, endpoint_url: str | None, batch_id: str | None) -> None:
    """Progress of a published batch: assignments available, pending, submitted, approved, rejected.

    \b
    Example:
      crowdaudit hits status
    """
    from etl.hits.manage import batch_progress, published_hit_ids
    from etl.hits.publish import interrupted_publish_note

    with open_warehouse(settings.warehouse, read_only=True, wait_seconds=settings.wait_seconds) as con:
        batch_id = _batch(con, batch_id)
        platform = _batch_platform(con, batch_id, sandbox, endpoint_url)
        if note := interrupted_publish_note(con, batch_id):
            click.echo(note, err=True)
        with _per_hit_progress(settings, len(published_hit_ids(con, batch_id)), "status") as on_hit:
            progress = batch_progress(con, platform, batch_id, on_hit=on_hit)
        click.echo(progress.summary())


@hits.command("expire")
@_target_options
@pass_settings
def expire_command(settings: Settings, sandbox: bool | None, endpoint_url: str | None, batch_id: str | None) -> None:
    """Expire a batch's HITs now: no new worker can accept them; submitted work stays.

    \b
    Example:
      crowdaudit hits expire --batch crowdaudit-1
    """
    from etl.hits.manage import expire_batch, published_hit_ids
    from etl.hits.publish import interrupted_publish, record_interrupted_publish

    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds, must_exist=True) as con:
        batch_id = _batch(con, batch_id)
        platform = _batch_platform(con, batch_id, sandbox, endpoint_url)
        if interrupted_publish(con, batch_id):
            click.echo(f"a publish of {batch_id} stopped half-way: looking for the HITs it created and did not record")
            recorded = record_interrupted_publish(con, platform, batch_id)
            click.echo(f"found {len(recorded)} such HIT(s): recorded, and expired with the others" if recorded
                       else "found none")
        gone: list[str] = []
        with _per_hit_progress(settings, len(published_hit_ids(con, batch_id)), "expire") as on_hit:
            expired = expire_batch(con, platform, batch_id, on_hit=on_hit, gone=gone)
        deleted = (f", of which {len(gone)} no longer on the platform (deleted, or disposed of by MTurk): recorded as "
                   "expired, as they take no more work" if gone else "")
        click.echo(f"expired {expired} HITs of {batch_id}{deleted}")


@hits.command("results")
@_target_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Results file to write. [default: Batch_<batch>_results.csv]")
@click.option("--ingest", "then_ingest", is_flag=True, help="Ingest the file into the warehouse too.")
@click.option("--allow-sandbox", is_flag=True,
              help="With --ingest: ingest a sandbox batch's answers too (they count as votes in every mart).")
@allow_warnings_option("results")
@pass_settings
def results_command(settings: Settings, sandbox: bool | None, endpoint_url: str | None, batch_id: str | None,
                    output: Path | None, then_ingest: bool, allow_sandbox: bool, allow_warnings: bool) -> None:
    """Fetch a published batch's assignments (ListAssignmentsForHIT) into a results file.

    The file has the requester web site's batch-results format, so `crowdaudit ingest` reads the
    API's answers and the site's downloads the same way. A sandbox batch's answers come from test
    workers (often the requester): --ingest refuses them unless --allow-sandbox.

    \b
    Example:
      crowdaudit hits results --ingest
    """
    from etl.hits.manage import published_hit_ids
    from etl.hits.publish import interrupted_publish_note
    from etl.hits.results import gone_note, results_from_platform
    from etl.simulate import write_results_csv

    with open_warehouse(settings.warehouse, read_only=not then_ingest, wait_seconds=settings.wait_seconds,
                        must_exist=True) as con:
        batch_id = _batch(con, batch_id)
        if note := interrupted_publish_note(con, batch_id):
            click.echo(note, err=True)
        # A batch only planned has no answers to fetch, and no target yet (it is not a sandbox batch).
        n_hits = len(published_hit_ids(con, batch_id))
        platform = _batch_platform(con, batch_id, sandbox, endpoint_url)
        if then_ingest and platform.target.name == "sandbox" and not allow_sandbox:
            raise CrowdauditError(
                f"batch {batch_id} is on the MTurk sandbox, whose workers are testers: its answers would count as "
                "votes in every mart. Leave out --ingest to look at them, or pass --allow-sandbox to ingest them"
            )
        gone: list[str] = []
        with _per_hit_progress(settings, n_hits, "results") as on_hit:
            results = results_from_platform(con, platform, batch_id, on_hit=on_hit, gone=gone)
        if note := gone_note(batch_id, gone):
            click.echo(note, err=True)
        path = write_results_csv(results, output or Path(f"Batch_{batch_id}_results.csv"))
        click.echo(f"{batch_id}: answers written to {path}")
        if then_ingest and results.is_empty():
            click.echo(f"{batch_id}: no assignment submitted yet; nothing to ingest")
        elif then_ingest:
            from etl.load.batch_results import ingest_results

            click.echo(ingest_results(con, path, allow_warnings=allow_warnings, allow_sandbox=allow_sandbox).summary())


@hits.command("extend")
@_target_options
@click.option("--assignments", "extra", type=click.IntRange(1), help="Extra assignments for every HIT.")
@click.option("--from-needs-more-votes", is_flag=True,
              help="Extra assignments per HIT from the needs_more_votes mart (after `crowdaudit build`).")
@click.option("--budget", type=MONEY, help="Most the extension may cost, fees included, USD. [required unless "
                                           "--dry-run]")
@click.option("--dry-run", is_flag=True, help="Print the plan and its price; call nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before spending real money on a live batch.")
@pass_settings
def extend_command(settings: Settings, sandbox: bool | None, endpoint_url: str | None, batch_id: str | None,
                   extra: int | None, from_needs_more_votes: bool, budget: Decimal | None, dry_run: bool,
                   yes: bool) -> None:
    """Ask for more assignments on a batch's HITs (CreateAdditionalAssignmentsForHIT).

    Safe to re-run after a crash: an extension that did not finish is completed first, never
    added twice; a different request is then not applied (it says so: run it again for it).

    \b
    Examples:
      crowdaudit hits extend --assignments 2 --budget 3 --dry-run
      crowdaudit hits extend --assignments 2 --budget 3
      crowdaudit hits extend --from-needs-more-votes --budget 3
    """
    from etl.hits.manage import (
        covered_note,
        expired_note,
        extend_batch,
        plan_extension,
        resumed_note,
        settle_resumed,
    )

    if budget is None and not dry_run:
        raise click.UsageError("--budget is required (the most the extension may cost, fees included)")
    with open_warehouse(settings.warehouse, read_only=dry_run, wait_seconds=settings.wait_seconds, must_exist=True) as con:
        batch_id = _batch(con, batch_id)
        plan = plan_extension(con, batch_id, extra=extra, from_needs_more_votes=from_needs_more_votes)
        platform = _batch_platform(con, batch_id, sandbox, endpoint_url) if plan.extra and not dry_run else None
        if plan.resumed_from is not None:
            click.echo(resumed_note(plan, None if from_needs_more_votes else extra))
            if platform is not None:  # what the interrupted run got through is not priced or paid again
                settle_resumed(con, platform, plan)
                _echo_settled(plan)
        for hit_id, why in plan.capped.items():
            click.echo(f"{hit_id}: {why}")
        if covered_note(plan):
            click.echo(covered_note(plan))
        if expired_note(plan):
            click.echo(expired_note(plan))
        if plan.expired and not plan.extra:
            return
        at_most = " at most (HITs the interrupted run extended are not paid again)" if plan.resumed_from and dry_run else ""
        click.echo(f"{sum(plan.extra.values())} extra assignments on {len(plan.extra)} HITs: ${plan.price}{at_most}"
                   + (f" (over the budget of ${budget}: would be refused)"
                      if budget is not None and plan.exact_price > budget else ""))
        if dry_run or not plan.extra:
            return
        ask = _confirm_live(platform, yes, f"extend {batch_id}")
        abandoned_before = len(plan.abandoned)  # those a resumed plan left out are said above
        with _per_hit_progress(settings, len(plan.extra), "extend") as on_hit:
            added = extend_batch(con, platform, plan, budget=budget, confirm=lambda plan: ask(plan.price),
                                 on_hit=on_hit)
        if gone := plan.abandoned[abandoned_before:]:
            click.echo(f"{len(gone)} HIT(s) are no longer on the platform (deleted, or disposed of by MTurk) and got "
                       f"nothing: {', '.join(gone)} (see raw.hit_extensions)")
    click.echo(f"added {added} assignments to {batch_id}")


def _echo_settled(plan) -> None:
    """What a resumed extension found its interrupted run had done, before the price of the rest."""
    if plan.added_before:
        click.echo(f"{sum(plan.added_before.values())} of its assignments, on {len(plan.added_before)} HIT(s), were "
                   "added before the interruption: recorded, not paid again")
    if plan.abandoned:
        click.echo(f"{len(plan.abandoned)} HIT(s) of the unfinished extension expired or are gone and were left "
                   f"out: {', '.join(plan.abandoned)} (see raw.hit_extensions)")


@cli.command("cost")
@click.option("--images", type=click.IntRange(1), help="Images to label. [default: the warehouse's images]")
@click.option("--per-hit", default=12, show_default=True, type=click.IntRange(1), help="Images per HIT.")
@click.option("--assignments", default=3, show_default=True, type=click.IntRange(1), help="Workers per HIT.")
@click.option("--reward", default="0.01", show_default=True, type=CENTS, help="Reward per assignment, USD.")
@click.option("--gold-per-hit", default=0, show_default=True, type=click.IntRange(0),
              help="Gold slots per HIT (they carry no new image; at most all but one slot, as `hits build` "
                   "caps them). `hits build` mixes in 1 when gold is loaded.")
@click.option("--bonus", default="0", show_default=True, type=CENTS, help="Bonus per assignment, USD.")
@click.option("--masters", is_flag=True, help="Require Masters workers (+5% of the reward).")
@pass_settings
def cost_command(settings: Settings, images: int | None, per_hit: int, assignments: int, reward: Decimal,
                 gold_per_hit: int, bonus: Decimal, masters: bool) -> None:
    """What labelling costs on MTurk, fees included, for 1 image per HIT vs N per HIT.

    Answers the seed's questions 7 (the whole wedding set) and 8 (all 35 million MMID images).

    \b
    Examples:
      crowdaudit cost                                  # the warehouse's images
      crowdaudit cost --images 35000000 --per-hit 12 --assignments 3 --reward 0.01
    """
    from etl.hits.pricing import MTURK_FEES, price_images

    if images is None:
        if not settings.warehouse.exists():
            raise CrowdauditError(f"no warehouse at {settings.warehouse} to count images in: give --images N, "
                                  "or point --warehouse at one")
        with open_warehouse(settings.warehouse, read_only=True, wait_seconds=settings.wait_seconds) as con:
            images = con.execute("SELECT count(*) FROM raw.images").fetchall()[0][0]
        if not images:
            raise CrowdauditError("the warehouse has no images: give --images N")
    designs = sorted({1, per_hit})
    click.echo(f"{images:,} images, {assignments} assignments per HIT, reward ${reward:.2f} per assignment"
               + (f", bonus ${bonus:.2f}" if bonus else "") + (", Masters" if masters else ""))
    click.echo(f"{'design':<22}{'HITs':>14}{'assignments':>16}{'per assignment':>16}{'total':>18}")
    for n in designs:
        gold = min(gold_per_hit, n - 1)  # as `hits build` caps gold: a HIT keeps one slot for a new image
        price = price_images(images, per_hit=n, assignments=assignments, reward=reward, gold_per_hit=gold,
                             masters=masters, bonus=bonus)
        design = f"{n} per HIT" + (f" ({gold} gold)" if gold else "")
        click.echo(f"{design:<22}{price.n_hits:>14,}{price.n_assignments:>16,}"
                   f"{f'${price.per_assignment:.2f}':>16}{f'${price.total:,}':>18}")
    fees = MTURK_FEES
    click.echo(
        "assumptions: MTurk fees: commission "
        f"{fees.commission:.0%} of reward (and bonus), {fees.large_hit_commission:.0%} for HITs with "
        f"{fees.large_hit_assignments}+ assignments, at least ${fees.minimum_fee} per assignment, Masters "
        f"+{fees.masters_fee:.0%}, each assignment's fee rounded half up to the cent as MTurk charges it; the last "
        "HIT may be short; every assignment is approved (rejected work is not paid); no re-posting."
    )


@cli.command("mturk-local")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0 = any free port.")
@click.option("--truth", "truth_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of what images show (url or image_id, truth) for the simulated workers. "
                   "[default: the warehouse's gold, when there is one]")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Seed of the simulated crowd.")
@click.option("--balance", default="10000.00", show_default=True, type=MONEY, help="The account's balance.")
@click.option("--no-workers", is_flag=True, help="Nobody answers: HITs stay open.")
@click.option("--verbose", is_flag=True, help="Log every request.")
@pass_settings
def mturk_local_command(settings: Settings, port: int, truth_csv: Path | None, seed: int, balance: Decimal,
                        no_workers: bool, verbose: bool) -> None:
    """Run an MTurk-compatible endpoint on 127.0.0.1 with simulated workers (Ctrl-C stops it).

    boto3 talks to it with endpoint_url exactly as to the sandbox; state lives in memory.

    \b
    Example:
      crowdaudit mturk-local --port 8765 --truth demo-output/truth.csv &
      crowdaudit hits publish --endpoint-url http://127.0.0.1:8765 --budget 5
    """
    import polars as pl

    from etl.crowd.local_server import LocalTurkServer, local_turk
    from etl.hits.loop import truth_mapping

    if truth_csv is not None:
        truth = truth_mapping(pl.read_csv(truth_csv, infer_schema=False).with_columns(
            pl.col("truth").str.to_lowercase().is_in(["true", "1", "yes", "t", "y"])))
    elif settings.warehouse.exists():
        with open_warehouse(settings.warehouse, read_only=True, wait_seconds=settings.wait_seconds) as con:
            truth = dict(con.execute("SELECT image_id, truth FROM raw.gold").fetchall())
    else:
        truth = {}
    turk = local_turk(truth, seed=seed, balance=balance, auto_answer=not no_workers)
    server = LocalTurkServer(turk, port=port, verbose=verbose)
    click.echo(f"mturk-local listening on {server.url} ({len(truth)} images with known truth); Ctrl-C stops it")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
