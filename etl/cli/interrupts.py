"""When a Ctrl-C interrupts the command line: while a command runs, and only then.

Python turns a Ctrl-C into KeyboardInterrupt wherever the program happens to be. Outside a
command's own code that went wrong three ways: during the half second the libraries load it could
land inside DuckDB's native module setup, which then aborts the process ("Critical nanobind
error"); while click parses the options it printed click's "Aborted!" and exited 1; after the
command had finished (its work committed) it printed "Aborted!" too, or, in the tenth of a second
Python takes to exit (it puts the default action back first), ended the process by SIGINT (status
-2): a script saw a failure for work that was done.

`hold_until_a_command_runs` installs a handler that only notes a Ctrl-C; `while_the_command_runs`
raises a noted one as the command starts (said as an interruption, exit 130), lets one during the
command raise as usual, and ignores Ctrl-C once the command has ended, until the process exits
(Python leaves an ignored signal ignored while it exits). Without the handler (tests that call
the click group in the same process) Python's default applies throughout.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class _CtrlC:
    """Whether a command runs now, and whether a Ctrl-C came before it started."""

    running = False
    noted = False
    installed = False


def hold_until_a_command_runs() -> None:
    """Note a Ctrl-C from now on instead of raising it where it lands (see the module's docstring)."""
    signal.signal(signal.SIGINT, _on_ctrl_c)
    _CtrlC.installed = True


def _on_ctrl_c(signum, frame) -> None:
    if _CtrlC.running:
        raise KeyboardInterrupt
    _CtrlC.noted = True


@contextmanager
def while_the_command_runs() -> Iterator[None]:
    """Let a Ctrl-C interrupt the body, raising at its start one that came while the command loaded."""
    if not _CtrlC.installed or _CtrlC.running:  # Python's own handling; or a group inside the command
        yield
        return
    _CtrlC.running = True
    try:
        if _CtrlC.noted:
            raise KeyboardInterrupt
        yield
    finally:
        _CtrlC.running = False
        signal.signal(signal.SIGINT, signal.SIG_IGN)
