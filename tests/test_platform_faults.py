"""Every platform call of `hits publish` and `hits extend` made to fail, each way it can, then the
command run again: the endpoint must hold each planned HIT once, each extension once, and have
taken exactly the batch's price, and the warehouse must say what the endpoint says."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import query
from platform_faults import FAULTS, CallFaults, patch_clients

from etl.crowd.local_server import LocalTurkServer, local_turk
from etl.hits.plan import HitDesign, build_hits
from etl.warehouse import open_warehouse

N_IMAGES, N_GOLD = 40, 4  # 4 HITs of 11 images and 1 gold, 3 assignments of $0.01 + $0.01 fee: $0.24
PUBLISH_CALLS = ["GetAccountBalance", "ListHITs", "CreateHITType"] + ["CreateHITWithHITType"] * 4
EXTEND_CALLS = ["GetAccountBalance"] + ["CreateAdditionalAssignmentsForHIT"] * 4
BATCH_PRICE, EXTENSION_PRICE = Decimal("0.24"), Decimal("0.16")  # +2 assignments on each of 4 HITs


@pytest.fixture
def server():
    truth = {f"https://img.example/{i}.jpg": i % 3 == 0 for i in range(N_IMAGES + N_GOLD)}
    with LocalTurkServer(local_turk(truth, seed=1)) as running:
        yield running


@pytest.fixture
def planned(warehouse, server):
    with open_warehouse(warehouse, read_only=False) as con:
        urls = list(server.turk.crowd.truth)
        con.executemany("INSERT INTO raw.images (image_id, load_id) VALUES (?, 1)", [[u] for u in urls])
        con.executemany("INSERT INTO raw.gold VALUES (?, true, 1)", [[u] for u in urls[:N_GOLD]])
        return build_hits(con, HitDesign(), seed=5)


def publish_args(server) -> list[str]:
    return ["hits", "publish", "--endpoint-url", server.url, "--budget", "1"]


EXTEND_ARGS = ["hits", "extend", "--assignments", "2", "--budget", "1"]


def run_killed(warehouse: Path, faults: CallFaults, args: list[str]) -> subprocess.CompletedProcess:
    """The command in a child process that SIGKILLs itself right after call k reached the endpoint."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import pytest
        from platform_faults import CallFaults, patch_clients
        from etl.cli import cli

        with pytest.MonkeyPatch.context() as monkeypatch:
            patch_clients(monkeypatch, CallFaults({faults.call}, {faults.fault!r}))
            cli(["--warehouse", {str(warehouse)!r}, "--silent", *{args!r}])
    """)
    return subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)


def run_with_fault(run_cli, monkeypatch, warehouse, faults: CallFaults, args: list[str]) -> bool:
    """The command with call k failing; it either succeeds (boto3's retry met the fault) or fails
    saying so in one line (exit 1), never a traceback. Returns whether it succeeded."""
    if faults.fault == "killed_after":
        child = run_killed(warehouse, faults, args)
        assert child.returncode == -9, child.stdout + child.stderr
        return False
    with monkeypatch.context() as patched:
        patch_clients(patched, faults)
        result = run_cli(*args, expect=None)
    assert faults.hits, f"call {faults.call} was never made: {faults.operations}"
    assert result.exit_code in (0, 1), result.output
    if faults.persistent and faults.fault != "connection_lost_after":
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    return result.exit_code == 0


def assert_published_once(warehouse, server, planned) -> None:
    """One HIT per planned HIT on the endpoint, the batch's price taken once, the warehouse agreeing."""
    endpoint = server.turk
    annotations = sorted(h.annotation for h in endpoint.hits.values())
    assert annotations == sorted(r[0] for r in query(warehouse, "SELECT requester_annotation FROM raw.hits"))
    assert len(set(annotations)) == len(annotations) == planned.n_hits
    assert endpoint.balance == Decimal("10000.00") - BATCH_PRICE
    assert query(warehouse, "SELECT hit_id, status FROM raw.hits ORDER BY 1") == [
        (h, "published") for h in sorted(endpoint.hits)]
    assert query(warehouse, "SELECT hit_id FROM raw.publish_log ORDER BY 1") == [(h,) for h in sorted(endpoint.hits)]
    assert query(warehouse, "SELECT sum(price) FROM raw.publish_log") == [(BATCH_PRICE,)]


def assert_extended_once(warehouse, server) -> None:
    endpoint = server.turk
    assert sorted(h.max_assignments for h in endpoint.hits.values()) == [5] * len(endpoint.hits)
    assert len(endpoint.extend_tokens) == len(endpoint.hits)
    assert endpoint.balance == Decimal("10000.00") - BATCH_PRICE - EXTENSION_PRICE
    assert query(warehouse, "SELECT hit_id, max_assignments FROM raw.hits ORDER BY 1") == [
        (h, 5) for h in sorted(endpoint.hits)]
    assert query(warehouse, "SELECT count(*), count(done_at), count(*) FILTER (outcome = 'added') "
                            "FROM raw.hit_extensions") == [(len(endpoint.hits),) * 3]


CASES = [(call, fault, persistent) for call in range(len(PUBLISH_CALLS)) for fault in FAULTS
         for persistent in ((True, False) if fault != "killed_after" else (True,))]


@pytest.mark.parametrize(("call", "fault", "persistent"), CASES)
def test_a_publish_whose_call_k_failed_then_run_again_creates_and_pays_each_hit_once(
        run_cli, monkeypatch, warehouse, server, planned, call, fault, persistent):
    faults = CallFaults(call, fault, persistent)
    run_with_fault(run_cli, monkeypatch, warehouse, faults, publish_args(server))
    if faults.operations:
        # GetHIT follows a CreateHIT whose retry met the HIT its lost first attempt made (see below)
        made = [op for op in faults.operations if op != "GetHIT"]
        assert made == PUBLISH_CALLS[:len(made)]
    run_cli(*publish_args(server))
    assert_published_once(warehouse, server, planned)


EXTEND_CASES = [(call, fault, persistent) for call in range(len(EXTEND_CALLS)) for fault in FAULTS
                for persistent in ((True, False) if fault != "killed_after" else (True,))]


@pytest.mark.parametrize(("call", "fault", "persistent"), EXTEND_CASES)
def test_an_extension_whose_call_k_failed_then_run_again_adds_and_pays_each_assignment_once(
        run_cli, monkeypatch, warehouse, server, planned, call, fault, persistent):
    run_cli(*publish_args(server))
    faults = CallFaults(call, fault, persistent)
    succeeded = run_with_fault(run_cli, monkeypatch, warehouse, faults, EXTEND_ARGS)
    if faults.operations:
        assert faults.operations == EXTEND_CALLS[:len(faults.operations)]
    if not succeeded:  # a second extension, asked once the first is through, is the user's to make
        run_cli(*EXTEND_ARGS)
    assert_extended_once(warehouse, server)


def start(warehouse: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "etl.cli", "--warehouse", str(warehouse), "--silent", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_publish_and_an_extend_started_while_a_publish_runs_wait_for_it_and_pay_nothing_twice(
        monkeypatch, warehouse, server, planned):
    """DuckDB lets one process write the file, and publish holds it from its first call to its last:
    a second publish of the batch waits, then finds nothing to do; an extend waits, then extends
    each HIT once. Had publish let go of the file between calls, their writes would interleave."""
    import time

    slow = server.turk.op_CreateHITWithHITType
    monkeypatch.setattr(server.turk, "op_CreateHITWithHITType", lambda params: (time.sleep(0.5), slow(params))[1])
    first = start(warehouse, *publish_args(server))
    deadline = time.monotonic() + 60
    while "CreateHITWithHITType" not in server.turk.calls:
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.02)
    second, extend = start(warehouse, *publish_args(server)), start(warehouse, *EXTEND_ARGS)
    outputs = [p.communicate(timeout=120)[0] for p in (first, second, extend)]
    assert [p.returncode for p in (first, second, extend)] == [0, 0, 0], outputs
    assert "4 HITs created" in outputs[0]
    assert outputs[1].strip().endswith("every HIT is already published; nothing to do")
    assert outputs[2].strip().endswith(f"added 8 assignments to {planned.batch_id}")
    assert len(server.turk.hits) == planned.n_hits
    assert_extended_once(warehouse, server)


def test_a_hit_whose_create_reply_was_lost_is_logged_as_created_by_this_run_with_the_platforms_times(
        run_cli, monkeypatch, warehouse, server, planned):
    """boto3 retries a CreateHIT whose reply was lost, and the retry meets the HIT the first attempt
    made: this run created and paid for it, so the log must not say an earlier run did, and the
    HIT's creation and expiry are the platform's."""
    from datetime import UTC, datetime

    first_create = PUBLISH_CALLS.index("CreateHITWithHITType")
    faults = CallFaults(first_create, "connection_lost_after", persistent=False)
    assert run_with_fault(run_cli, monkeypatch, warehouse, faults, publish_args(server))
    assert faults.operations.count("GetHIT") == 1
    assert_published_once(warehouse, server, planned)
    assert query(warehouse, "SELECT outcome, count(*) FROM raw.publish_log GROUP BY ALL") == [("created", 4)]
    on_endpoint = {hit_id: (datetime.fromtimestamp(hit.creation_time, UTC).replace(tzinfo=None),
                            datetime.fromtimestamp(hit.expiration, UTC).replace(tzinfo=None))
                   for hit_id, hit in server.turk.hits.items()}
    in_warehouse = {hit_id: (created, expires) for hit_id, created, expires
                    in query(warehouse, "SELECT hit_id, creation_time, expiration FROM raw.hits")}
    assert in_warehouse.keys() == on_endpoint.keys()
    for hit_id, (created, expires) in on_endpoint.items():
        assert abs((in_warehouse[hit_id][0] - created).total_seconds()) < 0.01, hit_id
        assert in_warehouse[hit_id][1] is not None and abs((in_warehouse[hit_id][1] - expires).total_seconds()) < 0.01
