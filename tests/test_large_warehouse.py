"""Loaders at scale: what holds at the demo's 300 images must hold at millions, and a large file
loaded again must cost no more than reading its bytes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.warehouse import open_warehouse

# DuckDB 2.0 hung for good on a query over a CTE of more than about 1.2 million image ids.
MANY_IMAGES = 1_500_000
FILES = {
    "gold": ("url,truth\n", "https://img.example/7.jpg,true\nhttps://elsewhere.example/x.jpg,false\n"),
    "predictions": ("path,predictions,predictions_include_groom_or_bridegroom\n",
                    ("https://img.example/7.jpg,\"['groom', 'suit']\",True\n"
                     "https://elsewhere.example/x.jpg,\"['cake']\",False\n")),
    "votes": ("task,worker,label\n", "https://img.example/7.jpg,W1,1\nhttps://elsewhere.example/x.jpg,W1,0\n"),
}


@pytest.fixture(scope="module")
def warehouse_of_many_images(tmp_path_factory) -> Path:
    warehouse = tmp_path_factory.mktemp("large") / "crowdaudit.duckdb"
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute(f"INSERT INTO raw.images (image_id, load_id) "
                    f"SELECT 'https://img.example/' || i || '.jpg', 1 FROM range({MANY_IMAGES}) t(i)")
    return warehouse


@pytest.mark.parametrize("kind", FILES)
def test_a_loader_notes_unknown_ids_in_a_warehouse_of_millions_of_images(kind, warehouse_of_many_images, tmp_path):
    header, rows = FILES[kind]
    source = tmp_path / f"{kind}.csv"
    source.write_text(header + rows)
    warehouse = tmp_path / "crowdaudit.duckdb"
    warehouse.write_bytes(warehouse_of_many_images.read_bytes())
    # A guard, not a speed target: the loads take seconds; before the fix they never ended.
    done = subprocess.run([sys.executable, "-m", "etl.cli", "--warehouse", str(warehouse), "--silent", "load", kind,
                           str(source)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "1 of the file's 2" in done.stdout + done.stderr
    assert "elsewhere.example/x.jpg" in done.stdout + done.stderr


def test_the_seeds_relative_paths_find_their_images_among_millions(warehouse_of_many_images, tmp_path):
    source = tmp_path / "image_paths_and_predictions.csv"
    source.write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                      "7.jpg,\"['groom']\",True\n"
                      "/1499999.jpg,\"['cake']\",False\n")
    warehouse = tmp_path / "crowdaudit.duckdb"
    warehouse.write_bytes(warehouse_of_many_images.read_bytes())
    done = subprocess.run([sys.executable, "-m", "etl.cli", "--warehouse", str(warehouse), "--silent", "load",
                           "predictions", str(source)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    with open_warehouse(warehouse, read_only=True) as con:
        loaded = con.execute("SELECT image_id, target_in_top_k FROM raw.image_predictions ORDER BY 1").fetchall()
    assert loaded == [("https://img.example/1499999.jpg", False), ("https://img.example/7.jpg", True)]


# What parses each kind of file, and a file of that kind: replaced after the first load by a parser
# that fails, a second load must be skipped on the file's bytes alone.
PARSERS = {
    "gold": ("etl.load.gold.gold_frame", "url,truth\nhttps://img.example/7.jpg,true\n"),
    "predictions": ("etl.load.predictions.predictions_frame", FILES["predictions"][0] + FILES["predictions"][1]),
    "votes": ("etl.load.votes.votes_frame", "".join(FILES["votes"])),
    "images": ("etl.load.images._manifest_frame", "url,language\nhttps://img.example/7.jpg,hindi\n"),
}


@pytest.mark.parametrize("kind", PARSERS)
def test_a_file_loaded_before_is_skipped_without_being_parsed_again(kind, tmp_path, monkeypatch):
    parser, text = PARSERS[kind]
    source = tmp_path / f"{kind}.csv"
    source.write_text(text)
    base = ["--warehouse", str(tmp_path / "crowdaudit.duckdb"), "--silent", "load", kind, str(source)]
    first = CliRunner().invoke(cli, base)
    assert first.exit_code == 0 and "(load 1)" in first.output, first.output

    def not_again(*args, **kwargs):
        raise AssertionError("parsed a file the warehouse already holds")

    monkeypatch.setattr(parser, not_again)
    again = CliRunner().invoke(cli, base)
    assert again.exit_code == 0, again.output
    assert "already loaded (same file and options), nothing changed" in again.output
    # Another option is another load: that one is parsed.
    if kind == "gold":
        other = CliRunner().invoke(cli, [*base, "--positive", "yes"])
        assert isinstance(other.exception, AssertionError)
