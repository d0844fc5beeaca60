"""A wheel (a normal, non-editable install) carries what `build` and `report` read at run time."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from etl.paths import PROJECT_ROOT


def test_a_wheel_install_builds_and_reports_without_the_checkout(tmp_path):
    built_wheel = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                                  "-w", str(tmp_path / "dist"), str(PROJECT_ROOT)], check=True, cwd=tmp_path,
                                  capture_output=True, text=True)
    # A folder of SQL or templates missing from pyproject's packages: ~35 lines of warning at every install.
    assert "Package would be ignored" not in built_wheel.stderr, built_wheel.stderr
    wheel = next((tmp_path / "dist").glob("crowdaudit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, inside in (("sql", "etl/sql"), ("templates", "etl/templates")):
        shipped = {f"{inside}/{p.relative_to(PROJECT_ROOT / folder).as_posix()}"
                   for p in (PROJECT_ROOT / folder).rglob("*") if p.is_file() and p.suffix in {".sql", ".j2"}}
        assert shipped and shipped <= names, sorted(shipped - names)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
                   check=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import etl.paths as p; print(p.SQL_DIR); print(p.TEMPLATES_DIR)"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(path).is_relative_to(site) for path in where), where
    cli = [sys.executable, "-m", "etl.cli", "--warehouse", str(tmp_path / "wh.duckdb")]
    built = subprocess.run([*cli, "build"], check=False, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert built.returncode == 0 and "SQL tests passed" in built.stderr + built.stdout, built.stderr
    reported = subprocess.run([*cli, "report", "-o", str(tmp_path / "r.html")], check=False, env=env, cwd=tmp_path,
                              capture_output=True, text=True)
    assert reported.returncode == 0, reported.stderr
    assert (tmp_path / "r.html").stat().st_size > 1000
