"""The one command line: `crowdaudit <command>`. Thin: parse options, call a function, print.

Each area of the tool keeps its commands in a module of this package; importing the module
attaches them to the group. Heavy libraries (TensorFlow, Great Expectations) are imported inside
the commands that need them, so `crowdaudit --help` stays fast.
"""

from __future__ import annotations

from etl.cli import (  # noqa: F401  (attach commands)
    classify,
    hits,
    loading,
    models,
    quality,
    reporting,
    truth,
)
from etl.cli.base import cli, main

__all__ = ["cli", "main"]
