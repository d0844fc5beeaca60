"""The README as a new user reads it: its tables of marts name what a demo-built warehouse holds,
and its `crowdaudit sql` (and DuckDB shell) examples run there."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from conftest import query

from etl.cli import cli
from etl.paths import PROJECT_ROOT, SQL_DIR

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def mart_table(header: str) -> dict[str, str]:
    """The rows of the README's table whose header row is `header`: mart name -> its second cell."""
    lines = README.splitlines()
    start = lines.index(header) + 2  # past the header and its |---|---| line
    rows = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        name, cell = re.fullmatch(r"\| `(\w+)` \| (.*) \|", line).groups()
        rows[name] = cell
    return rows


def listed_columns(cell: str) -> list[str]:
    """'a, b (a note, with commas), c; more prose' -> ['a', 'b', 'c']."""
    while re.search(r"\([^()]*\)", cell):
        cell = re.sub(r"\s*\([^()]*\)", "", cell)
    return [column.strip() for column in re.split(r" — |;", cell)[0].split(",")]


COLUMNS_TABLE = mart_table("| mart | columns |")
HOLDS_TABLE = mart_table("| mart | what it holds |")
SQL_EXAMPLES = [
    sql
    for block in re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
    for sql in re.findall(r'(?:crowdaudit(?: --warehouse \S+)? sql|duckdb [^"\n]*-c) "([^"]*)"', block)
]


def test_every_column_the_readme_lists_is_in_its_mart_in_a_demo_built_warehouse(demo_warehouse_template):
    for mart, cell in COLUMNS_TABLE.items():
        documented = listed_columns(cell)
        assert all(re.fullmatch(r"[a-z_][a-z0-9_]*", column) for column in documented), (mart, documented)
        actual = {row[0] for row in query(demo_warehouse_template, f"DESCRIBE {mart}")}
        assert set(documented) <= actual, f"{mart}: the README lists {set(documented) - actual}, not in the mart"


def test_every_mart_the_build_makes_is_in_a_readme_table_and_every_one_there_exists(demo_warehouse_template):
    marts = {path.stem for path in (SQL_DIR / "marts").glob("*.sql")}
    in_readme = set(COLUMNS_TABLE) | set(HOLDS_TABLE)
    assert marts == in_readme
    tables = {row[0] for row in query(demo_warehouse_template,
                                      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}
    assert in_readme <= tables


@pytest.mark.parametrize("sql", SQL_EXAMPLES)
def test_the_readme_sql_example_runs_on_a_demo_built_warehouse(demo_warehouse_template, sql):
    result = CliRunner().invoke(cli, ["--warehouse", str(demo_warehouse_template), "sql", sql])
    assert result.exit_code == 0, result.output


def test_the_readme_has_its_sql_examples_where_this_test_looks_for_them():
    assert len(SQL_EXAMPLES) >= 6 and len(COLUMNS_TABLE) >= 8 and len(HOLDS_TABLE) >= 6
