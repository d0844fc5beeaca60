"""The one command line: `crowdaudit <command>`. Thin: parse options, call a function, print.

Each area of the tool keeps its commands in a module of this package; importing the module
attaches them to the group. Heavy libraries (TensorFlow, Great Expectations) are imported inside
the commands that need them, so `crowdaudit --help` stays fast.

This file itself imports nothing heavy: the command modules pull in click, DuckDB and polars,
which take about half a second, and a Ctrl-C in that time printed a Python traceback where a
Ctrl-C a moment later prints one line. `main` holds it back around those imports and then
prints that line; `cli` is attached on first use (PEP 562 module __getattr__), so
`from etl.cli import cli` works as before.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from etl.errors import INTERRUPTED

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
    try:
        with _ctrl_c_held_back():
            cli = _cli_with_commands()
    except KeyboardInterrupt:
        print(f"Error: {INTERRUPTED}", file=sys.stderr)
        raise SystemExit(130) from None
    cli(prog_name="crowdaudit")


@contextmanager
def _ctrl_c_held_back() -> Iterator[None]:
    """Hold a Ctrl-C back while the libraries load, and raise it here once they have. Caught where it
    lands instead, it could fall inside DuckDB's native module setup, which then aborts the process
    ("Critical nanobind error", status -6), or leave CPython ending the process by SIGINT (status
    -2) although it was handled; held back, 80 Ctrl-Cs at random moments all printed the line (130)."""
    if not hasattr(signal, "pthread_sigmask"):  # not on Windows
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)  # a Ctrl-C held back is raised by this call
