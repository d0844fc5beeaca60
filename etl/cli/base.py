"""The click group, its shared options, and how errors reach the user."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import duckdb
from click.core import ParameterSource

from etl import __version__
from etl.errors import COMMAND_PREFIX, INTERRUPTED, CrowdauditError, is_interrupt
from etl.interrupts import while_the_command_runs
from etl.warehouse import LOCK_WAIT_SECONDS, WAREHOUSE_ENV, warehouse_path


@dataclass
class Settings:
    """What every command may need: which warehouse, how long to wait for it, whether to be quiet."""

    warehouse: Path
    wait_seconds: float
    silent: bool

    @property
    def show_progress(self) -> bool:
        return not self.silent and sys.stderr.isatty()


pass_settings = click.make_pass_decorator(Settings)

# A seed numpy's generators take (not negative) that the warehouse keeps (raw.hit_batches.seed, BIGINT).
SEED = click.IntRange(0, 2**63 - 1)


class CrowdauditGroup(click.Group):
    """A group whose commands' errors become one-line messages: CrowdauditErrors, what the operating
    system refuses (a report path in a read-only folder) and writes DuckDB cannot make (a full disk)
    exit 1, Ctrl-C exits 130."""

    def invoke(self, ctx: click.Context):
        prefix = COMMAND_PREFIX.set(_command_prefix(ctx))
        try:
            with while_the_command_runs():
                return super().invoke(ctx)
        except CrowdauditError as error:
            raise click.ClickException(str(error)) from error
        except BrokenPipeError:  # the reader stopped early (`crowdaudit sql ... | head`): click exits quietly
            raise
        except (KeyboardInterrupt, OSError, duckdb.Error, RuntimeError) as error:
            if _from_an_interrupt(error):  # checked first: a statement failing as a Ctrl-C unwinds is that Ctrl-C
                raise Interrupted() from error
            said = _said_to_the_user(error)
            if said is None:
                raise
            raise said from error
        finally:
            COMMAND_PREFIX.reset(prefix)


def _said_to_the_user(error: BaseException) -> click.ClickException | None:
    """The one-line message for what the operating system refuses (a report path in a read-only
    folder) and for writes DuckDB cannot make (a full disk); None for a fault to show in full."""
    if isinstance(error, duckdb.IOException) or (
            isinstance(error, duckdb.TransactionException) and "Failed to commit" in str(error)):
        # DuckDB could not write the file or its .wal (a full disk, a folder it may not write in):
        # the transaction was rolled back, so the warehouse holds what was committed before.
        return click.ClickException(
            f"could not write the warehouse: {error}. The step it was writing was rolled back; free "
            "space on its disk, or make its folder writable (DuckDB keeps a .wal file beside the "
            "warehouse), then run the command again")
    if isinstance(error, OSError):
        return click.ClickException(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))
    return None


def _from_an_interrupt(error: BaseException | None) -> bool:
    """Whether an error is DuckDB's word for a Ctrl-C, or came while one was on its way up (a
    statement in a `finally` meeting the transaction the Ctrl-C aborted)."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt) or is_interrupt(error):
            return True
        error = error.__context__
    return False


def _command_prefix(ctx: click.Context) -> str:
    """`crowdaudit`, with the --warehouse typed on this command line when a command without it would
    use another file, so that a follow-up command a message suggests acts on the same warehouse.
    CROWDAUDIT_WAREHOUSE is left out: it is in the environment the suggestion is run in too."""
    typed = ctx.params.get("warehouse")
    if ctx.get_parameter_source("warehouse") != ParameterSource.COMMANDLINE or typed == warehouse_path(None):
        return "crowdaudit"
    return f"crowdaudit --warehouse {shlex.quote(str(typed))}"


class Interrupted(click.ClickException):
    exit_code = 130

    def __init__(self) -> None:
        super().__init__(INTERRUPTED)


@click.group(
    cls=CrowdauditGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="crowdaudit")
@click.option(
    "--warehouse",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=WAREHOUSE_ENV,
    show_envvar=True,
    help="DuckDB warehouse file. [default: warehouse/crowdaudit.duckdb]",
)
@click.option(
    "--wait",
    "wait_seconds",
    type=float,
    metavar="SECONDS",
    default=LOCK_WAIT_SECONDS,
    show_default=True,
    help="Seconds to wait while another process writes the warehouse.",
)
@click.option("--silent", is_flag=True, help="No progress output.")
@click.pass_context
def cli(ctx: click.Context, warehouse: Path | None, wait_seconds: float, silent: bool) -> None:
    """crowdaudit: audit an image classifier with crowd labels.

    Load images, predictions and Mechanical Turk batch results into a DuckDB warehouse, build
    the SQL models (votes, majority labels, worker accuracy, classifier precision/recall by
    region), query them, and write a self-contained HTML report.

    Start with `crowdaudit demo` to see the whole chain on generated data.
    """
    if not wait_seconds >= 0:  # nan passes any comparison a range makes, and never ends a wait
        raise click.BadParameter(f"{wait_seconds} is not a number of seconds (0 or more)", param_hint="'--wait'")
    ctx.obj = Settings(warehouse=warehouse_path(warehouse), wait_seconds=wait_seconds, silent=silent)

