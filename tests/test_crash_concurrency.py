"""Crash and concurrency: a SIGKILLed ingest leaves all of its batch or none; a second writer waits
for the lock (or says plainly that the warehouse is being written); readers get the same message."""

from __future__ import annotations

import importlib.util
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import copy_of, results_rows

from etl.load.predictions import FLAG
from etl.simulate import write_results_csv

ROOT = Path(__file__).parents[1]
CROWDAUDIT = Path(sys.executable).with_name("crowdaudit")
N_ASSIGNMENTS = 150_000


def _generate(n: int, path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_ingest", ROOT / "bench" / "ingest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(n, path)


def start(warehouse: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(CROWDAUDIT), "--warehouse", str(warehouse), "--silent", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(warehouse: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(CROWDAUDIT), "--warehouse", str(warehouse), "--silent", *args],
                          check=False, capture_output=True, text=True, timeout=timeout)


def assignments(warehouse: Path) -> tuple[int, int]:
    """(assignments, results loads logged), opening the file read-write as a user would next."""
    con = duckdb.connect(str(warehouse))
    try:
        return (con.execute("SELECT count(*) FROM raw.assignments").fetchall()[0][0],
                con.execute("SELECT count(*) FROM raw.load_log WHERE kind = 'results'").fetchall()[0][0])
    finally:
        con.close()


def wait_until_locked(warehouse: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if warehouse.exists():
            try:
                duckdb.connect(str(warehouse), read_only=True).close()
            except duckdb.IOException:
                return
        time.sleep(0.02)
    raise AssertionError("the ingest never took the warehouse lock")


@pytest.fixture(scope="module")
def big_batch(tmp_path_factory) -> tuple[Path, Path, float]:
    """(a large results file, an empty migrated warehouse, seconds a complete ingest takes)."""
    folder = tmp_path_factory.mktemp("big")
    path = folder / "Batch_900_batch_results.csv"
    _generate(N_ASSIGNMENTS, path)
    empty = folder / "empty.duckdb"
    assert run(empty, "build").returncode == 0  # creates and migrates it
    probe = folder / "probe.duckdb"
    shutil.copyfile(empty, probe)
    started = time.monotonic()
    done = run(probe, "ingest", str(path))
    assert done.returncode == 0, done.stderr
    assert assignments(probe) == (N_ASSIGNMENTS, 1)
    return path, empty, time.monotonic() - started


@pytest.mark.parametrize("kill_point", ["25%", "50%", "75%", "90%", "while writing"])
def test_sigkill_during_ingest_leaves_all_of_the_batch_or_none(kill_point, big_batch, tmp_path):
    path, empty, seconds = big_batch
    warehouse = tmp_path / "wh.duckdb"
    shutil.copyfile(empty, warehouse)
    process = start(warehouse, "ingest", str(path))
    if kill_point == "while writing":
        # DuckDB's write-ahead log appears once the load transaction starts writing.
        deadline = time.monotonic() + seconds * 3
        while not warehouse.with_name("wh.duckdb.wal").exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    else:
        time.sleep(seconds * int(kill_point[:-1]) / 100)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert assignments(warehouse) in [(0, 0), (N_ASSIGNMENTS, 1)]
    again = run(warehouse, "ingest", str(path))
    assert again.returncode == 0, again.stderr
    assert assignments(warehouse) == (N_ASSIGNMENTS, 1)


def small_batch(tmp_path: Path) -> Path:
    urls = [f"https://img.example/weddings-indian-languages/hindi/50{k}/01.jpg" for k in range(1, 4)]
    answers = [{"AssignmentId": "3SMALL1", "HITId": "3SMALLHIT", "WorkerId": "WS1", "selected": "image1"}]
    return write_results_csv(results_rows({"3SMALLHIT": urls}, answers), tmp_path / "Batch_901_batch_results.csv")


def test_a_second_ingest_waits_for_the_first_then_loads(big_batch, tmp_path):
    path, empty, seconds = big_batch
    warehouse = tmp_path / "wh.duckdb"
    shutil.copyfile(empty, warehouse)
    first = start(warehouse, "ingest", str(path))
    wait_until_locked(warehouse, first)
    second = run(warehouse, "--wait", str(seconds * 4 + 30), "ingest", str(small_batch(tmp_path)))
    assert first.wait(timeout=300) == 0
    assert second.returncode == 0, second.stderr
    assert assignments(warehouse) == (N_ASSIGNMENTS + 1, 2)


@pytest.mark.parametrize("command", [["ingest", "SMALL"], ["sql", "SELECT count(*) FROM raw.assignments"],
                                     ["report", "-o", "REPORT"], ["validate"]])
def test_while_ingest_runs_other_commands_say_the_warehouse_is_in_use(command, big_batch, tmp_path):
    path, empty, _ = big_batch
    warehouse = tmp_path / "wh.duckdb"
    shutil.copyfile(empty, warehouse)
    args = [str(small_batch(tmp_path)) if a == "SMALL" else str(tmp_path / "r.html") if a == "REPORT" else a
            for a in command]
    first = start(warehouse, "ingest", str(path))
    try:
        wait_until_locked(warehouse, first)
        started = time.monotonic()
        blocked = run(warehouse, "--wait", "0.5", *args)
        waited = time.monotonic() - started
        still_running = first.poll() is None
    finally:
        first.wait(timeout=300)
    if still_running:
        assert blocked.returncode == 1, blocked.stdout
        assert "is in use: another process" in blocked.stderr
        assert "Retry" in blocked.stderr and "Traceback" not in blocked.stderr
        assert waited >= 0.5
    # When the big ingest ended within the wait, the small one was free to load after it.
    loaded_after = command[0] == "ingest" and not still_running and blocked.returncode == 0
    assert assignments(warehouse)[0] == N_ASSIGNMENTS + (1 if loaded_after else 0)


def test_a_reader_holding_the_warehouse_makes_a_writer_say_so(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    assert run(warehouse, "build").returncode == 0
    reader = duckdb.connect(str(warehouse), read_only=True)
    try:
        blocked = run(warehouse, "--wait", "0.5", "build")
    finally:
        reader.close()
    assert blocked.returncode == 1 and "a reader such as `crowdaudit sql` or a DuckDB shell" in blocked.stderr


@pytest.mark.parametrize("when", ["while parsing", "while writing"])
def test_ctrl_c_during_ingest_says_so_in_one_line_and_leaves_all_of_the_batch_or_none(when, big_batch, tmp_path):
    path, empty, seconds = big_batch
    warehouse = tmp_path / "wh.duckdb"
    shutil.copyfile(empty, warehouse)
    process = start(warehouse, "ingest", str(path))
    if when == "while writing":  # the write-ahead log appears once the load transaction writes
        deadline = time.monotonic() + seconds * 3
        while not warehouse.with_name("wh.duckdb.wal").exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    else:
        time.sleep(seconds / 3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:  # finished before the signal arrived: then all of it is there
        assert assignments(warehouse) == (N_ASSIGNMENTS, 1)
        return
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert assignments(warehouse) in [(0, 0), (N_ASSIGNMENTS, 1)]  # a Ctrl-C inside COMMIT may land after it
    assert run(warehouse, "ingest", str(path)).returncode == 0
    assert assignments(warehouse) == (N_ASSIGNMENTS, 1)


def test_a_warehouse_that_cannot_be_written_says_so_in_one_line_and_keeps_its_marts(demo_warehouse_template,
                                                                                      tmp_path):
    # A full disk, or a folder DuckDB may not create its .wal in, made the build's COMMIT a traceback. A
    # limit on file sizes makes DuckDB's writes fail the same way, for any user.
    warehouse = copy_of(demo_warehouse_template, tmp_path / "wh.duckdb")

    def built_at() -> list[tuple]:
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            return con.execute("SELECT built_at FROM build_info").fetchall()
        finally:
            con.close()

    before = built_at()
    failed = subprocess.run([str(CROWDAUDIT), "--warehouse", str(warehouse), "--silent", "build"],
                            check=False, capture_output=True, text=True, timeout=120,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000)))
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert "Error: could not write the warehouse: " in failed.stderr and str(warehouse) in failed.stderr
    assert "File too large" in failed.stderr and "run the command again" in failed.stderr
    assert built_at() == before
    assert run(warehouse, "build").returncode == 0
    assert built_at() != before


def warehouse_state(warehouse: Path) -> dict[str, object]:
    """Rows and an order-free checksum of every raw table and mart (counts only where rows carry
    the time they were written), opening the file read-write as the next command would."""
    con = duckdb.connect(str(warehouse))
    try:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                             "WHERE table_type = 'BASE TABLE' AND table_schema IN ('raw', 'main')").fetchall()
        timed = {"load_log", "prediction_runs", "build_info", "dq_results"}
        return {f"{schema}.{table}": con.execute(
            f'SELECT count(*){"" if table in timed else ", bit_xor(hash(t))"} FROM "{schema}"."{table}" AS t'
        ).fetchall() for schema, table in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def loader_inputs(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """(a folder of one file per loader, warehouses by name: 'empty'; 'images', holding the
    manifest's 100,000 images; 'built', those with votes, gold and predictions, built, then more gold)."""
    folder = tmp_path_factory.mktemp("loaders")
    n = 100_000
    images = pl.DataFrame({"k": range(n)}).select(
        (pl.lit("https://img.example/w/") + pl.col("k").mod(4).replace_strict([0, 1, 2, 3], ["hindi", "tamil",
                                                                                "spanish", "french"])
         + "/" + (pl.col("k") // 10).cast(pl.String) + "/" + (pl.col("k") % 10).cast(pl.String) + ".jpg").alias("url"),
        pl.col("k"))
    images.select("url", pl.col("url").str.extract(r"w/(\w+)/").alias("language")).write_csv(folder / "manifest.csv")
    images.select(pl.col("url").alias("path"), pl.lit("['vestment', 'abaya']").alias("predictions"),
                  pl.lit("False").alias(FLAG)).write_csv(folder / "predictions.csv")
    images.select("url", (pl.col("k") % 3 == 0).alias("truth")).write_csv(folder / "gold.csv")
    images.select(pl.col("url").alias("task"), (pl.col("k") % 2).alias("label")).join(
        pl.DataFrame({"worker": ["W1", "W2", "W3"]}), how="cross").write_csv(folder / "votes.csv")
    pl.DataFrame({"language": [f"language {k}" for k in range(n)], "region": "Western"}).write_csv(
        folder / "regions.csv")
    images.head(n // 10).select("url", pl.lit("false").alias("truth")).write_csv(folder / "more_gold.csv")
    for k in range(2_000):
        (folder / "dir" / "hindi" / str(k)).mkdir(parents=True)
        (folder / "dir" / "hindi" / str(k) / "01.jpg").write_bytes(b"")
    empty, with_images, built = folder / "empty.duckdb", folder / "with_images.duckdb", folder / "built.duckdb"
    assert run(empty, "build").returncode == 0  # creates and migrates it
    shutil.copyfile(empty, with_images)
    assert run(with_images, "load", "images", str(folder / "manifest.csv")).returncode == 0
    shutil.copyfile(with_images, built)
    for args in (["votes", "votes.csv"], ["gold", "gold.csv"], ["predictions", "predictions.csv"], ["build"],
                 ["gold", "more_gold.csv"]):  # gold the marts do not hold yet: the next build changes them
        done = run(built, *(["load", args[0], str(folder / args[1])] if len(args) == 2 else args))
        assert done.returncode == 0, done.stderr
    return folder, {"empty": empty, "images": with_images, "built": built}


# Each command, and the warehouse (of loader_inputs) it runs on.
LOADS = {"images": (["load", "images", "manifest.csv"], "empty"),
         "images DIR": (["load", "images", "dir", "--url-prefix", "https://img.example/d"], "images"),
         "predictions": (["load", "predictions", "predictions.csv"], "images"),
         "gold": (["load", "gold", "gold.csv"], "images"), "votes": (["load", "votes", "votes.csv"], "images"),
         "regions": (["load", "regions", "regions.csv"], "images"), "build": (["build"], "built")}


@pytest.mark.parametrize("signal_sent", [signal.SIGKILL, signal.SIGINT], ids=["kill -9", "Ctrl-C"])
@pytest.mark.parametrize("command", list(LOADS))
def test_a_loader_or_build_killed_half_way_leaves_all_or_none_and_the_same_command_then_loads_it_once(
        command, signal_sent, loader_inputs, tmp_path):
    folder, warehouses = loader_inputs
    command_args, base_name = LOADS[command]
    base = warehouses[base_name]
    args = [str(folder / a) if (folder / a).exists() else a for a in command_args]
    done = copy_of(base, tmp_path / "done.duckdb")
    started = time.monotonic()
    assert run(done, *args).returncode == 0
    seconds = time.monotonic() - started
    before, after = warehouse_state(base), warehouse_state(done)
    assert before != after
    warehouse = copy_of(base, tmp_path / "wh.duckdb")
    process = start(warehouse, *args)
    time.sleep(seconds / 2)
    process.send_signal(signal_sent)
    _, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr
    assert process.returncode in ((-signal.SIGKILL, 0) if signal_sent == signal.SIGKILL else (130, 0)), stderr
    assert warehouse_state(warehouse) in (before, after)  # the previous marts, for a build
    again = run(warehouse, *args)
    assert again.returncode == 0, again.stderr
    assert warehouse_state(warehouse) == after


def test_ctrl_c_while_a_build_step_reads_a_python_frame_is_said_as_an_interruption_not_a_failed_model(
        demo_warehouse_template, warehouse, run_cli, monkeypatch):
    """A Ctrl-C while DuckDB reads a frame Python registered (Dawid-Skene's result) reaches the build
    as DuckDB's error naming KeyboardInterrupt: it was reported as the model failing (exit 1),
    where every other Ctrl-C says it was interrupted (exit 130). The marts stay as they were."""
    import etl.truth.model as truth_model
    from etl.errors import INTERRUPTED

    copy_of(demo_warehouse_template, warehouse)
    labels_before = duckdb.connect(str(warehouse), read_only=True).sql("SELECT count(*) FROM labels").fetchall()

    def interrupted(*args, **kwargs):
        raise duckdb.InvalidInputException(
            "Invalid Input Error: reading the stream registered as 'dawid_skene_result' failed: Unknown error: . "
            "Detail: Python exception: Traceback (most recent call last):\nKeyboardInterrupt\n")

    monkeypatch.setattr(truth_model, "fit_dawid_skene", interrupted)
    result = run_cli("build", expect=130)
    assert INTERRUPTED in result.output and "failed" not in result.output
    assert duckdb.connect(str(warehouse), read_only=True).sql("SELECT count(*) FROM labels").fetchall() == labels_before
