"""The one command line: `crowdaudit <command>`. Thin: parse options, call a function, print.

Each area of the tool keeps its commands in a module of this package; importing the module
attaches them to the group. Heavy libraries (TensorFlow, Great Expectations) are imported inside
the commands that need them, so `crowdaudit --help` stays fast.
"""

from __future__ import annotations

from etl.cli.base import cli, main
from etl.cli import loading, models, reporting  # noqa: F401  (attach commands)
from etl.cli import truth  # noqa: F401  (load votes, labels: issue 3)

__all__ = ["cli", "main"]
