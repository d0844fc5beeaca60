"""The one command line: `crowdaudit <command>`. Thin: parse options, call a function, print.

Each area of the tool keeps its commands in a module of this package; importing the module
attaches them to the group. Heavy libraries (TensorFlow, Great Expectations) are imported inside
the commands that need them, so `crowdaudit --help` stays fast.

This file itself imports nothing heavy: the command modules pull in click, DuckDB and polars,
which take about half a second. `main` first makes a Ctrl-C wait for the command to start
(`etl.interrupts`), so one in that time is said in one line like one a moment later; `cli` is attached
on first use (PEP 562 module __getattr__), so `from etl.cli import cli` works as before.
"""

from __future__ import annotations

from etl.interrupts import hold_until_a_command_runs

__all__ = ["cli", "main"]


def _cli_with_commands():
    from etl.cli import (  # noqa: F401  (attach commands)
        classify,
        hits,
        loading,
        models,
        quality,
        reporting,
        truth,
    )
    from etl.cli.base import cli

    return cli


def __getattr__(name: str):
    if name == "cli":
        return _cli_with_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point."""
    hold_until_a_command_runs()
    _cli_with_commands()(prog_name="crowdaudit")
