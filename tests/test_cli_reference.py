"""docs/cli.md is the --help of every command, regenerated with `make docs`."""

from __future__ import annotations

from etl.cli.reference import cli_reference
from etl.paths import PROJECT_ROOT


def test_the_cli_reference_in_docs_matches_the_help_text():
    written = (PROJECT_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert written == cli_reference(), "docs/cli.md is stale: run `make docs`"
