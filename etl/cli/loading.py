"""`crowdaudit load ...` and `crowdaudit ingest`: files into the warehouse, one transaction each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from etl.cli.base import Settings, cli, pass_settings
from etl.errors import CrowdauditError
from etl.load.batch_results import ingest_results
from etl.load.gold import load_gold
from etl.load.images import load_images_dir, load_images_manifest
from etl.load.listing import RESULTS_SUFFIX, UnreadableFolder, each_file_once, results_files_below
from etl.load.predictions import load_predictions
from etl.load.regions import load_regions
from etl.load.transaction import LoadResult
from etl.quality.suites import BATCH_SUITES, WARNING
from etl.warehouse import open_warehouse

existing_path = click.Path(exists=True, path_type=Path)
existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


def allow_warnings_option(kind: str) -> Callable:
    """--allow-warnings, the same on every loader, its help naming the warnings the gate checks for
    `kind` (a suite without any says so: the option is still there, so that a script can pass it to
    every loader, and keeps working when a warning is added)."""
    warnings = [rule.description for suite in BATCH_SUITES[kind].values() for rule in suite.rules
                if rule.severity == WARNING]
    which = (f"Warnings checked here: {'; '.join(warnings)}." if warnings
             else "This file's quality suite has no warnings at present, so it changes nothing yet.")
    return click.option("--allow-warnings", is_flag=True,
                        help="Load the file even if quality-gate expectations of warning severity fail (they are "
                        f"listed in the summary); a failed error expectation still refuses it. {which}")


@cli.group("load")
def load() -> None:
    """Load images, predictions, gold answers, long-format votes or the language -> region table.

    Each file loads in one transaction: all of it or nothing. Loading the same file again
    changes nothing.
    """


@load.command("images")
@click.argument("source", type=existing_path)
@click.option("--url-prefix", help="With a DIR: the URL the directory is served at (image URL = prefix + path).")
@allow_warnings_option("images")
@pass_settings
def load_images(settings: Settings, source: Path, url_prefix: str | None, allow_warnings: bool) -> None:
    """Register images from a manifest CSV or a directory.

    SOURCE is either a CSV with columns url,language (optional path, word, region; a relative
    path is taken from the CSV's folder and stored absolute), or a directory laid out like the
    MMID wedding sets (weddings-indian-languages/punjabi/7899/01.jpg), where language and word
    come from the path; then --url-prefix is required. An image's region is the manifest's, else
    its language's in the language -> region table (`load regions` adds languages); a note names
    the languages of a manifest's images that get region 'unknown'.

    \b
    Examples:
      crowdaudit load images manifest.csv
      crowdaudit load images ./weddings --url-prefix https://example.org/weddings
    """
    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds) as con:
        if source.is_dir():
            if not url_prefix:
                raise click.UsageError("a directory needs --url-prefix (the URL workers will load it from)")
            result = load_images_dir(con, source, url_prefix=url_prefix, allow_warnings=allow_warnings)
        else:
            if url_prefix:
                raise click.UsageError("--url-prefix is for a directory; a manifest gives each image's url")
            result = load_images_manifest(con, source, allow_warnings=allow_warnings)
    click.echo(result.summary())


@load.command("predictions")
@click.argument("csv_file", type=existing_file)
@click.option("--model", help="Model name to record. [default: csv:<file name>]")
@click.option("--url-prefix", help="Prefix that turns each row's path into the image URL.")
@allow_warnings_option("predictions")
@pass_settings
def load_predictions_command(settings: Settings, csv_file: Path, model: str | None, url_prefix: str | None,
                             allow_warnings: bool) -> None:
    """Load a predictions CSV (the seed's image_paths_and_predictions.csv).

    Columns: path (a URL, or a path matching a loaded image), predictions (a list such as
    ['vestment', 'abaya', 'cloak']), predictions_include_groom_or_bridegroom (True/False).
    """
    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds) as con:
        result = load_predictions(con, csv_file, model=model, url_prefix=url_prefix,
                                  allow_warnings=allow_warnings)
    click.echo(result.summary())


@load.command("gold")
@click.argument("csv_file", type=existing_file)
@click.option("--positive", help="The truth value that means yes, for files not coded true/false, 1/0 or "
              "yes/no (e.g. --positive 2 for labels 1/2).")
@allow_warnings_option("gold")
@pass_settings
def load_gold_command(settings: Settings, csv_file: Path, positive: str | None, allow_warnings: bool) -> None:
    """Load known answers: columns url,truth (or task,truth); truth is true/false, 1/0 or yes/no.

    \b
    Examples:
      crowdaudit load gold gold.csv
      crowdaudit load gold temp_truth.csv --positive 2
    """
    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds) as con:
        result = load_gold(con, csv_file, positive=positive, allow_warnings=allow_warnings)
    click.echo(result.summary())


@load.command("regions")
@click.argument("csv_file", type=existing_file)
@pass_settings
def load_regions_command(settings: Settings, csv_file: Path) -> None:
    """Set which region languages belong to: columns language,region.

    A new warehouse starts from the shipped table (etl/data/language_regions.csv: the 8 Indian
    languages of the seed non-Western, European languages Western); editing that file later
    does not change a warehouse that exists, this does. Languages are matched case-insensitively;
    a known region in another spelling ('western') is written as the table has it. Images whose
    URL names a language new to the table get it; run `crowdaudit build` to re-label by region.

    \b
    Example:
      printf 'language,region\\nurdu,South Asian\\n' > regions.csv
      crowdaudit load regions regions.csv && crowdaudit build
    """
    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds) as con:
        result = load_regions(con, csv_file)
    click.echo(result.summary())


@cli.command("ingest")
@click.argument("results_files", nargs=-1, required=True, type=click.Path(path_type=Path))  # checked per file
@allow_warnings_option("results")
@click.option("--allow-sandbox", is_flag=True,
              help="Ingest answers to HITs `hits publish` put on the MTurk sandbox too (testers' answers, which "
                   "then count as votes in every mart).")
@pass_settings
def ingest(settings: Settings, results_files: tuple[Path, ...], allow_warnings: bool, allow_sandbox: bool) -> None:
    """Ingest MTurk batch results CSVs (as downloaded from the requester site), or every one below a folder.

    A folder stands for the files below it whose name ends in results.csv (the site's
    Batch_<id>_batch_results.csv, and what `hits results` writes) or in results (1).csv (a
    browser's name for a batch downloaded again), in name order; others, such
    as a batch's .variables.csv, hidden files and folders (a Mac's ._ copies, __MACOSX/) and the
    warehouse's quarantine/ are left alone. Files loaded before are recognised and skipped, so
    a nightly job can ingest its downloads folder every night: those found in a folder are only
    counted in the closing line (e.g. "7 files: 1 loaded, 5 loaded before, 1 not loaded"), a file
    named on the command line says "already loaded". Each file is taken whole or not
    at all. The same file twice changes nothing; a
    re-download where assignments were approved or rejected updates their status only.
    A bad file is reported with its row and column, a link whose target is gone with where it
    points, a folder that cannot be listed by name, and the other files still load. Each
    file passes the data-quality gate first; a refused file is copied to quarantine/ beside
    the warehouse with a summary of the failed expectations. A browser's download not finished
    (an empty file beside its <name>.part, .crdownload or .download; a file inside Safari's
    <name>.download folder) is named, not loaded nor quarantined, and loads on a later run, as
    does a file that changes while it is read (both exit 1). Answers to HITs `hits publish` put
    on the MTurk sandbox are refused unless --allow-sandbox.

    \b
    Examples:
      crowdaudit ingest Batch_3512345_batch_results.csv
      crowdaudit ingest ~/mturk-downloads/          # nightly: only new files load
    """
    paths, failures = results_files_given(results_files, quarantine=settings.warehouse.parent / "quarantine")
    given = len(paths) + len(failures)  # a folder holding no results file counts as one
    named = {path for path in results_files if not path.is_dir()}
    results: list[LoadResult] = []
    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds) as con:
        for path in paths:
            _say_when_large(settings, path)
            try:
                result = ingest_results(con, path, allow_warnings=allow_warnings, allow_sandbox=allow_sandbox)
            except (CrowdauditError, OSError) as error:  # OSError: unreadable, or gone since it was listed
                failures.append(f"{path}: {error.strerror or error}" if isinstance(error, OSError) else str(error))
                click.echo(f"Error: {failures[-1]}", err=True)
                continue
            results.append(result)
            if path in named or not result.already_loaded:
                click.echo(result.summary())
    if given > 1 or any(path.is_dir() for path in results_files):
        click.echo(ingest_summary(results, len(failures)))
    if failures:
        raise CrowdauditError(f"{len(failures)} of {given} file(s) not loaded (see above)")


def ingest_summary(results: list[LoadResult], not_loaded: int) -> str:
    """One line for a nightly job's log or mail: how many files loaded, were loaded before (skipped
    unread), held nothing the warehouse lacked, held no answers yet (only a header), and were not
    loaded. The lines above it say which."""
    loaded = sum(1 for r in results if r.counts and (r.counts.inserted or r.counts.updated))
    before = sum(1 for r in results if r.already_loaded)
    no_answers = sum(1 for r in results if r.no_rows_yet is not None)
    nothing_new = len(results) - loaded - before - no_answers
    parts = [f"{loaded} loaded", f"{before} loaded before",
             *([f"{nothing_new} with nothing new"] if nothing_new else []),
             *([f"{no_answers} with no answers yet"] if no_answers else []), f"{not_loaded} not loaded"]
    total = len(results) + not_loaded
    return f"{total} file{'' if total == 1 else 's'}: {', '.join(parts)}"


# A results file this large takes seconds (about 12 s per GB on 2 cores): say so before, on a terminal.
LARGE_FILE_BYTES = 100 * 2**20


def _say_when_large(settings: Settings, path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError:
        return  # ingest_results says what is wrong with it
    if settings.show_progress and size >= LARGE_FILE_BYTES:
        click.echo(f"{path}: reading {size / 2**20:,.0f} MB ...", err=True)


def results_files_given(given: tuple[Path, ...], *, quarantine: Path) -> tuple[list[Path], list[str]]:
    """(the files to ingest, errors): a folder stands for the results files below it, and one
    holding none is an error of its own, as is each link there named as a results file whose
    target is gone, and each folder there that cannot be listed (the other files still load). A file
    given twice (named, and again through its folder) is ingested once, where it first came."""
    paths: list[Path] = []
    errors: list[str] = []
    for path in given:
        if not path.is_dir():
            paths.append(path)
            continue
        unreadable: list[UnreadableFolder] = []
        below, broken = results_files_below(path, skip=quarantine, unreadable=unreadable)
        for link_path, link in broken:
            errors.append(f"{link_path}: {link.describe()}")
            click.echo(f"Error: {errors[-1]}", err=True)
        for folder in unreadable:
            errors.append(f"{path / folder.relative}: cannot list this folder ({folder.reason}); "
                          "a results file in it was not looked for")
            click.echo(f"Error: {errors[-1]}", err=True)
        if not below and not broken and not unreadable:
            errors.append(f"{path}: no results file (a name ending in {RESULTS_SUFFIX}) below this folder")
            click.echo(f"Error: {errors[-1]}", err=True)
        if below:
            click.echo(f"{path}: {len(below)} results file{'s' if len(below) != 1 else ''}")
        paths += below
    return each_file_once(paths), errors
