"""TensorFlow's start-up chatter kept off the user's terminal.

TensorFlow's C++ libraries write straight to the process's standard error while they load and
while the first model is built: "oneDNN custom operations are on", "Could not find cuda drivers",
"failed call to cuInit" on every machine without a GPU (each twice), and, as an error, "oneDNN
supports DT_UINT8 only on platforms with AVX-512" the first time an image is resized.
TF_CPP_MIN_LOG_LEVEL no longer silences them (they are written before absl's logging is set up)
and Python's sys.stderr never sees them, so the file descriptor itself is redirected for that phase.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

# absl's line prefix: severity and date (I0000: information, before absl knows the date), time,
# thread, file:line]. Information and warnings at start-up are dropped; errors are kept, save two
# that only say what the hardware lacks.
CHATTER = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] "
    r"|E\d{4} [\d:.]+ +\d+ \S+:\d+\] (?:failed call to cuInit|oneDNN supports DT_UINT8 only)"
)


@contextmanager
def startup_chatter_dropped() -> Iterator[None]:
    """Within the block, what native code writes to standard error is held back; afterwards every
    line that is not start-up chatter is written out, in order (also when the block raises)."""
    sys.stderr.flush()
    try:
        original = os.dup(2)
    except OSError:  # no standard error to redirect (a daemon): nothing to keep quiet
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(original, 2)
            os.close(original)
            held.seek(0)
            kept = [line for line in held.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if not CHATTER.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
