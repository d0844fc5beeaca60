"""TensorFlow's start-up chatter kept off the user's terminal.

TensorFlow's C++ libraries write straight to the process's standard error while they load and
while the first model is built: "oneDNN custom operations are on", "Could not find cuda drivers",
"failed call to cuInit" on every machine without a GPU (each twice), and, as an error, "oneDNN
supports DT_UINT8 only on platforms with AVX-512" the first time an image is resized.
TF_CPP_MIN_LOG_LEVEL no longer silences them (they are written before absl's logging is set up)
and Python's sys.stderr never sees them, so the file descriptor itself is redirected for that phase,
into a small child process that passes on every other line as it comes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def _log_prefix(severity: str) -> str:
    """The start of a line TensorFlow logs with `severity`: absl's (severity and date, I0000 for
    information before absl knows the date; time; thread; file:line]) or, before TensorFlow 2.17,
    its own (date, time, severity, file:line])."""
    return rf"(?:{severity}\d{{4}} [\d:.]+ +\d+|\d{{4}}-\d\d-\d\d [\d:.]+: {severity}) \S+:\d+\] "


# Information and warnings at start-up are dropped; errors are kept, save two that only say what
# the hardware lacks.
CHATTER = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    rf"|{_log_prefix('[IW]')}"
    rf"|{_log_prefix('E')}(?:failed call to cuInit|oneDNN supports DT_UINT8 only)"
)
# The filter runs in a process of its own because TensorFlow may end this one without a word to
# Python: built for AVX on a CPU without it, it says so and calls abort(). The child still reads
# that line from the pipe and writes it out; a file replayed afterwards would never be. It ignores
# Ctrl-C, which reaches it too, so that it passes on what comes until this process lets go.
SIEVE = """\
import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
chatter = re.compile(sys.argv[1])
for line in sys.stdin.buffer:
    if not chatter.match(line.decode("utf-8", "replace")):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
"""


@contextmanager
def startup_chatter_dropped() -> Iterator[None]:
    """Within the block, what is written to standard error, native code's included, reaches it
    without the start-up chatter, in order; every line is out when the block ends (also when it
    raises), and none is lost if the process dies in the block."""
    sys.stderr.flush()
    sieve, original = _started_sieve()
    if sieve is None or sieve.stdin is None:
        yield
        return
    try:
        os.dup2(sieve.stdin.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            finally:
                os.dup2(original, 2)
    finally:
        os.close(original)
        sieve.stdin.close()  # the sieve's end of input: it writes what is left, then exits
        sieve.wait()


def _started_sieve() -> tuple[subprocess.Popen | None, int]:
    """The filter process, writing to a copy of standard error, and that copy's descriptor; None
    when there is no standard error (a daemon) or no interpreter to start: the chatter then shows."""
    try:
        original = os.dup(2)
    except OSError:
        return None, -1
    try:
        return subprocess.Popen([sys.executable, "-I", "-S", "-c", SIEVE, CHATTER.pattern], stdin=subprocess.PIPE,
                                stdout=original, stderr=subprocess.DEVNULL), original
    except OSError:
        os.close(original)
        return None, -1
