"""What a Ctrl-C does to the command line: it interrupts a command's work, and nothing else.

Python turns a Ctrl-C into KeyboardInterrupt wherever the main thread next runs Python code.
That went wrong four ways:
- during the half second the libraries load it could land inside DuckDB's native module setup,
  which then aborts the process ("Critical nanobind error");
- while click parses the options it printed click's "Aborted!" and exited 1;
- after the command had finished (its work committed) it printed "Aborted!" too, or, in the tenth
  of a second Python takes to exit (it puts the default action back first), ended the process by
  SIGINT (status -2): a script saw a failure for work that was done;
- during a long DuckDB query it did nothing at all: the main thread runs no Python code until the
  query ends, and DuckDB 2.0.0, and any query read as an Arrow stream (`crowdaudit sql`), never
  look. A cross join typed by mistake could only be killed.

`hold_until_a_command_runs` installs a handler that only notes a Ctrl-C, and a thread that hears
each one at once (signal.set_wakeup_fd) and interrupts the queries of the open connections
(`interruptible`) while a command runs. `while_the_command_runs` raises a noted Ctrl-C as the
command starts (said as an interruption, exit 130), lets one during the command raise as usual,
and ignores Ctrl-C once the command has ended, until the process exits (Python leaves an ignored
signal ignored while it exits). Without the handler (tests that call the click group in the same
process) Python's default applies throughout.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, ClassVar

from etl.errors import is_interrupt

if TYPE_CHECKING:
    import socket

    import duckdb


class _CtrlC:
    """Whether a command runs now, whether a Ctrl-C came before it started, and the connections
    whose queries a Ctrl-C interrupts."""

    running = False
    noted = False
    installed = False
    connections: ClassVar[set[duckdb.DuckDBPyConnection]] = set()


def hold_until_a_command_runs() -> None:
    """Note a Ctrl-C from now on instead of raising it where it lands (see the module's docstring)."""
    signal.signal(signal.SIGINT, _on_ctrl_c)
    _CtrlC.installed = True
    import socket  # only now: a Ctrl-C while these load, or while the thread starts, is noted too
    import threading

    heard, told = socket.socketpair()
    told.setblocking(False)
    signal.set_wakeup_fd(told.fileno(), warn_on_full_buffer=False)
    threading.Thread(target=_interrupt_queries_on_ctrl_c, args=(heard, told), name="ctrl-c", daemon=True).start()


def _on_ctrl_c(signum, frame) -> None:
    if not _CtrlC.running:
        _CtrlC.noted = True
    elif not is_interrupt(sys.exception() or Exception()):
        raise KeyboardInterrupt
    # else: this Ctrl-C already stopped a query, and DuckDB's error for it is on its way up. A second
    # exception raised in the midst (in a `with` block's exit, before its rollback) skipped that
    # rollback, and the load's next statement failed on the aborted transaction with a traceback.


def _interrupt_queries_on_ctrl_c(heard: socket.socket, told: socket.socket) -> None:
    """Interrupt every open connection's query as a Ctrl-C comes (Python writes each signal's number
    to the wakeup socket from the thread the signal reaches). `told` is held so it stays open."""
    while signals := heard.recv(64):
        if signal.SIGINT in signals and _CtrlC.running:
            _interrupt_open_queries()


def _interrupt_open_queries() -> None:
    """A function of its own so that no connection stays referenced from the waiting thread's frame
    (DuckDB's bindings then report it leaked as the process exits)."""
    import duckdb  # loaded long before: a connection is open

    for con in list(_CtrlC.connections):
        with suppress(duckdb.ConnectionException):  # closed meanwhile: nothing to interrupt
            con.interrupt()


@contextmanager
def interruptible(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """`con`, whose running query a Ctrl-C interrupts while the block runs."""
    _CtrlC.connections.add(con)
    try:
        yield con
    finally:
        _CtrlC.connections.discard(con)


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
