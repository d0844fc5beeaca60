"""Where the project's non-Python parts live.

In a checkout (and an editable install) sql/ and templates/ sit beside the etl/ package, where
people read and run them; a wheel installs them inside the package as etl/sql and etl/templates
(pyproject.toml maps them there). The package's own copy wins when it exists.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


def _located(name: str) -> Path:
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PROJECT_ROOT / name


SQL_DIR = _located("sql")
TEMPLATES_DIR = _located("templates")
