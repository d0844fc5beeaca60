"""Publishing against mturk-local: never twice (even after a kill), never over budget, and what
was asked is what the endpoint holds."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import query, table_fingerprints

from etl.crowd.local_server import LocalTurkServer, local_turk
from etl.crowd.mturk import MTurkPlatform, target_for
from etl.crowd.platform import PlatformError, seed_qualifications
from etl.errors import CrowdauditError
from etl.hits.manage import batch_progress, expire_batch, extend_batch, plan_extension
from etl.hits.plan import HitDesign, build_hits
from etl.hits.publish import publish_batch
from etl.hits.results import results_from_platform
from etl.hits.template import question_xml, slot_images
from etl.warehouse import open_warehouse

N_IMAGES, N_GOLD = 40, 4  # 40 fresh images, 11 per HIT -> 4 HITs


@pytest.fixture
def truth() -> dict[str, bool]:
    return {f"https://img.example/{i}.jpg": i % 3 == 0 for i in range(N_IMAGES + N_GOLD)}


@pytest.fixture
def reward() -> Decimal:
    """The planned batch's reward; a test where the Masters fee must show overrides it (at $0.01 it
    rounds away: the fee is $0.01, the minimum, with or without Masters)."""
    return HitDesign().reward


@pytest.fixture
def planned(warehouse, truth, reward):
    with open_warehouse(warehouse, read_only=False) as con:
        urls = list(truth)
        con.executemany("INSERT INTO raw.images (image_id, load_id) VALUES (?, 1)", [[u] for u in urls])
        con.executemany("INSERT INTO raw.gold VALUES (?, ?, 1)", [[u, truth[u]] for u in urls[:N_GOLD]])
        return build_hits(con, HitDesign(reward=reward), seed=5)


@pytest.fixture
def server(truth):
    with LocalTurkServer(local_turk(truth, seed=1)) as running:
        yield running


def platform_for(server) -> MTurkPlatform:
    return MTurkPlatform(target_for(endpoint_url=server.url))


def publish(warehouse, server, batch_id, budget="10", **kwargs):
    with open_warehouse(warehouse, read_only=False) as con:
        return publish_batch(con, platform_for(server), batch_id=batch_id, budget=Decimal(budget),
                             qualifications=seed_qualifications(), **kwargs)


def test_publishing_twice_leaves_one_hit_per_planned_hit(warehouse, server, planned):
    first = publish(warehouse, server, planned.batch_id)
    second = publish(warehouse, server, planned.batch_id)
    assert len(first.created) == planned.n_hits == 4
    assert second.created == [] and second.already_existed == []
    assert len(server.turk.hits) == planned.n_hits
    assert sorted(server.turk.hits) == [r[0] for r in query(warehouse, "SELECT hit_id FROM raw.hits ORDER BY 1")]
    assert query(warehouse, "SELECT DISTINCT status FROM raw.hits") == [("published",)]


def test_publishing_a_published_batch_again_says_there_is_nothing_to_do(run_cli, warehouse, server, planned):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    again = run_cli("hits", "publish", "--budget", "1").output
    assert again.strip() == f"batch {planned.batch_id} on {server.url}: every HIT is already published; nothing to do"


def publish_killed_after_creating(n_created: int, warehouse, server, planned, tmp_path) -> None:
    """A child publishes and dies (SIGKILL) right after MTurk created its n-th HIT, before the
    warehouse heard of it: the worst moment for money."""
    script = tmp_path / "crash.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal
        from decimal import Decimal
        from etl.crowd.mturk import MTurkPlatform, target_for
        from etl.crowd.platform import seed_qualifications
        from etl.hits.publish import publish_batch
        from etl.warehouse import open_warehouse

        class Dying(MTurkPlatform):
            created = 0
            def create_hit(self, **kwargs):
                hit = super().create_hit(**kwargs)
                Dying.created += 1
                if Dying.created == {n_created}:
                    os.kill(os.getpid(), signal.SIGKILL)
                return hit

        with open_warehouse({str(warehouse)!r}, read_only=False) as con:
            publish_batch(con, Dying(target_for(endpoint_url={server.url!r})), batch_id={planned.batch_id!r},
                          budget=Decimal("10"), qualifications=seed_qualifications())
    """))
    child = subprocess.run([sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr
    assert len(server.turk.hits) == n_created
    assert query(warehouse, "SELECT count(*) FROM raw.hits WHERE status = 'published'") == [(n_created - 1,)]


def test_publish_killed_after_create_hit_then_rerun_creates_no_second_hit(warehouse, server, planned, tmp_path):
    publish_killed_after_creating(2, warehouse, server, planned, tmp_path)
    rerun = publish(warehouse, server, planned.batch_id)
    assert len(rerun.already_existed) == 1 and len(rerun.created) == planned.n_hits - 2
    assert len(server.turk.hits) == planned.n_hits
    assert sorted(server.turk.hits) == [r[0] for r in query(warehouse, "SELECT hit_id FROM raw.hits ORDER BY 1")]
    assert query(warehouse, "SELECT outcome, count(*) FROM raw.publish_log GROUP BY ALL ORDER BY 1") == [
        ("already_existed", 1), ("created", planned.n_hits - 1)]


def test_a_publish_rerun_checks_the_balance_against_only_the_hits_still_to_create(warehouse, truth, planned,
                                                                                  tmp_path):
    """The killed run paid for the HITs it created: checked against the whole batch, an account
    holding exactly the rest refused the re-run, and the batch stayed half published."""
    with LocalTurkServer(local_turk(truth, balance=planned.price.total)) as server:
        publish_killed_after_creating(2, warehouse, server, planned, tmp_path)
        assert platform_for(server).account_balance() == planned.price.total / 2
        rerun = publish(warehouse, server, planned.batch_id)
        assert len(rerun.already_existed) == 1 and len(rerun.created) == planned.n_hits - 2
        assert len(server.turk.hits) == planned.n_hits
        assert platform_for(server).account_balance() == 0


def test_a_publish_rerun_is_refused_when_the_balance_does_not_cover_the_hits_still_to_create(warehouse, truth,
                                                                                             planned, tmp_path):
    with LocalTurkServer(local_turk(truth, balance=planned.price.total)) as server:
        publish_killed_after_creating(2, warehouse, server, planned, tmp_path)
        server.turk.balance -= planned.price.total / planned.n_hits  # spent elsewhere meanwhile
        before = table_fingerprints(warehouse)
        with pytest.raises(CrowdauditError, match=r"costs \$0\.12 for the 2 HITs an earlier run did not create "
                                                  r"but the .* account holds \$0\.06; nothing was created"):
            publish(warehouse, server, planned.batch_id)
        assert len(server.turk.hits) == 2 and table_fingerprints(warehouse) == before


def test_expiring_a_batch_whose_publish_was_killed_also_expires_the_hit_it_did_not_record(run_cli, warehouse,
                                                                                         server, planned, tmp_path):
    """`hits expire` went by the HITs recorded: it said the batch was expired and left the HIT the
    killed publish created open, taking workers and money."""
    publish_killed_after_creating(2, warehouse, server, planned, tmp_path)
    assert "stopped half-way and left 3 HIT(s) unrecorded" in run_cli("hits", "status", "--endpoint-url",
                                                                       server.url).output
    out = run_cli("hits", "expire", "--endpoint-url", server.url).output
    assert "found 1 such HIT(s)" in out and "expired 2 HITs" in out, out
    assert len(server.turk.hits) == 2
    assert all(hit.expiration <= time.time() for hit in server.turk.hits.values())
    assert sorted(server.turk.hits) == [r[0] for r in query(
        warehouse, "SELECT hit_id FROM raw.hits WHERE status = 'expired' ORDER BY 1")]
    # The two HITs never created stay planned: a publish again creates them, and only them.
    assert query(warehouse, "SELECT count(*) FROM raw.hits WHERE status = 'planned'") == [(planned.n_hits - 2,)]


def test_a_batch_published_through_the_web_site_is_not_published_again_through_the_api(run_cli, warehouse, server,
                                                                                       planned, write_results,
                                                                                       tmp_path):
    """The site gives the HITs of variables.csv ids of its own: after their results were ingested,
    nothing marked the plan as published, and `hits publish` created and paid for every HIT again."""
    run_cli("hits", "variables", "-o", str(tmp_path / "variables.csv"))
    variables = pl.read_csv(tmp_path / "variables.csv", infer_schema=False)
    site_hits = {f"SITEHIT{i:023d}": [url for url in reversed(row) if url]  # any slot order
                 for i, row in enumerate(variables.iter_rows())}
    answers = [{"HITId": hit_id, "AssignmentId": f"A{hit_id}{k}", "WorkerId": f"W{k}", "selected": "image1"}
               for hit_id in site_hits for k in range(3)]
    run_cli("ingest", str(write_results("Batch_77_batch_results.csv", site_hits, answers)))
    before = table_fingerprints(warehouse)
    refused = run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1", expect=1).output
    assert f"{planned.n_hits} HIT(s) of batch {planned.batch_id} were published through the requester web site" in refused
    assert "Batch_77_batch_results.csv" in refused
    assert server.turk.hits == {} and table_fingerprints(warehouse) == before
    status = run_cli("hits", "status", "--endpoint-url", server.url, expect=1).output
    assert "published through the requester web site" in status and "hits publish` first" not in status


def test_a_planned_hit_sharing_only_some_images_with_a_site_hit_is_published(run_cli, warehouse, server, planned,
                                                                            write_results, tmp_path):
    """Gold images recur in many HITs: only a HIT showing exactly a site HIT's images went out there."""
    run_cli("hits", "variables", "-o", str(tmp_path / "variables.csv"))
    variables = pl.read_csv(tmp_path / "variables.csv", infer_schema=False)
    first = [url for url in variables.row(0) if url]
    run_cli("ingest", str(write_results("Batch_78_batch_results.csv", {"SITEHIT1": first[:-1]}, [
        {"HITId": "SITEHIT1", "AssignmentId": "A1", "WorkerId": "W1", "selected": "image1"}])))
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    assert len(server.turk.hits) == planned.n_hits


def test_a_budget_one_cent_under_the_price_creates_nothing(warehouse, server, planned):
    price = planned.price.total  # 4 HITs x 3 x $0.02 = $0.24
    assert price == Decimal("0.24")
    before = table_fingerprints(warehouse)
    with pytest.raises(CrowdauditError, match="over the budget"):
        publish(warehouse, server, planned.batch_id, budget=str(price - Decimal("0.01")))
    assert server.turk.calls == []
    assert table_fingerprints(warehouse) == before
    assert len(publish(warehouse, server, planned.batch_id, budget=str(price)).created) == 4


def test_a_refusal_over_budget_states_each_price_in_dollars_and_cents(run_cli, warehouse, server, planned):
    # publish said '$0.0200 with fees' per assignment, extend '$0.4' where its own plan line says $0.40
    refused = run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "0.23", expect=1)
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    extension = run_cli("hits", "extend", "--assignments", "5", "--budget", "0.01", expect=1)
    assert "costs $0.24 (4 HITs x 3 assignments x $0.02 with fees)" in refused.output
    assert "extension costs $0.40," in extension.output
    for output in (refused.output, extension.output):
        prices = re.findall(r"(?:costs|x) \$(\d[\d,]*(?:\.\d+)?)", output)
        assert prices and all(re.fullmatch(r"[\d,]+\.\d\d", p) for p in prices), prices


def test_a_balance_under_the_price_creates_nothing(warehouse, truth, planned):
    with LocalTurkServer(local_turk(truth, balance=Decimal("0.23"))) as poor:
        with pytest.raises(CrowdauditError, match="account holds"):
            publish(warehouse, poor, planned.batch_id)
        assert poor.turk.calls == ["GetAccountBalance"]
        assert poor.turk.hits == {}


def test_a_published_hit_reads_back_as_asked(warehouse, server, planned):
    publish(warehouse, server, planned.batch_id)
    platform = platform_for(server)
    items = query(warehouse, "SELECT hit_id, 'image' || slot, image_id FROM raw.hit_items")
    for hit_id in server.turk.hits:
        hit = platform.get_hit(hit_id)
        assert hit.qualifications == seed_qualifications()
        assert hit.reward == Decimal("0.01")
        assert hit.max_assignments == 3
        assert hit.title == "Which of these images show a wedding?"
        assert slot_images(hit.question) == {slot: url for h, slot, url in items if h == hit_id}
        assert len(list(platform.list_assignments(hit_id))) == 3


def test_the_endpoint_took_the_batch_price_from_the_balance(warehouse, server, planned):
    publish(warehouse, server, planned.batch_id)
    assert platform_for(server).account_balance() == Decimal("10000.00") - planned.price.total


def test_dry_run_prints_payloads_and_calls_nothing(run_cli, warehouse, server, planned):
    result = run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1", "--dry-run")
    assert "CreateHITWithHITType" in result.output and "UniqueRequestToken" in result.output
    assert "$0.24" in result.output
    assert server.turk.calls == []


def test_status_extend_and_expire_through_the_cli(run_cli, warehouse, server, planned):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    assert "12 submitted" in run_cli("hits", "status").output
    # 2 more on each of 4 HITs: 8 x $0.02
    assert "$0.16" in run_cli("hits", "extend", "--assignments", "2", "--budget", "1").output
    assert query(warehouse, "SELECT DISTINCT max_assignments FROM raw.hits") == [(5,)]
    assert "20 submitted" in run_cli("hits", "status").output
    run_cli("hits", "expire")
    assert all(platform_for(server).get_hit(h).available == 0 for h in server.turk.hits)


def test_a_hit_deleted_on_the_platform_does_not_stop_results_status_extend_or_expire_and_its_answers_stay(run_cli, warehouse,
                                                                                             server, planned, tmp_path):
    """Requesters delete HITs once reviewed, and MTurk disposes of old ones: refusing the batch
    stopped the nightly `hits results --ingest` for good."""
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    output = tmp_path / "answers.csv"
    run_cli("hits", "results", "--output", str(output), "--ingest")
    deleted = sorted(server.turk.hits)[1]
    del server.turk.hits[deleted]
    before = table_fingerprints(warehouse)
    again = run_cli("hits", "results", "--output", str(output), "--ingest").output
    assert f"1 HIT(s) of {planned.batch_id} are no longer on the platform ({deleted})" in again
    assert "their answers already in the warehouse are kept" in again
    assert pl.read_csv(output)["HITId"].n_unique() == planned.n_hits - 1
    assert table_fingerprints(warehouse) == before  # nothing lost, nothing counted twice
    assert query(warehouse, f"SELECT count(*) FROM raw.assignments WHERE hit_id = '{deleted}'") == [(3,)]
    status = run_cli("hits", "status").output
    assert f"{planned.batch_id}: 3 HITs, 9 assignments asked" in status
    assert "9 submitted" in status and "1 HIT(s) no longer on the platform" in status
    extended = run_cli("hits", "extend", "--assignments", "1", "--budget", "1").output
    assert f"1 HIT(s) are no longer on the platform (deleted, or disposed of by MTurk) and got nothing: {deleted}" \
        in extended and "added 3 assignments" in extended
    assert query(warehouse, "SELECT max_assignments, count(*) FROM raw.hits GROUP BY 1 ORDER BY 1") == [(3, 1), (4, 3)]
    assert query(warehouse, "SELECT count(*) FROM raw.hit_extensions WHERE done_at IS NULL") == [(0,)]
    assert f"expired {planned.n_hits} HITs of {planned.batch_id}, of which 1 no longer on the platform" \
        in run_cli("hits", "expire").output
    assert all(hit.expiration <= time.time() for hit in server.turk.hits.values())
    assert query(warehouse, "SELECT DISTINCT status FROM raw.hits") == [("expired",)]


def test_status_results_and_expire_refuse_when_the_platform_has_none_of_the_batchs_hits(run_cli, warehouse,
                                                                                          server, planned, tmp_path):
    """Other credentials (another AWS account), or an mturk-local started afresh, answer that every
    HIT does not exist: recording them all as expired left them open where they are, and `hits
    extend` refusing them as expired; skipping them all as deleted wrote an empty results file, and
    a nightly job with the wrong account passed every night."""
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    hits = dict(server.turk.hits)
    server.turk.hits.clear()
    before = table_fingerprints(warehouse)
    none_of_them = f"has none of the {planned.n_hits} HITs of batch {planned.batch_id}"
    refused = run_cli("hits", "expire", expect=1).output
    assert none_of_them in refused and "Nothing was recorded as expired" in refused
    output = tmp_path / "answers.csv"
    refused = run_cli("hits", "results", "--output", str(output), "--ingest", expect=1).output
    assert none_of_them in refused and "No results file was written" in refused and not output.exists()
    assert none_of_them in run_cli("hits", "status", expect=1).output
    assert table_fingerprints(warehouse) == before
    server.turk.hits.update(hits)
    assert f"expired {planned.n_hits} HITs" in run_cli("hits", "expire").output
    assert all(hit.expiration <= time.time() for hit in server.turk.hits.values())
    assert query(warehouse, "SELECT DISTINCT status FROM raw.hits") == [("expired",)]


def test_results_fetches_the_batch_and_ingests_it_once(run_cli, warehouse, server, planned, tmp_path):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    output = tmp_path / "answers.csv"
    first = run_cli("hits", "results", "--output", str(output), "--ingest").output
    assert "12 inserted" in first
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(12,)]
    again = run_cli("hits", "results", "--output", str(output), "--ingest").output
    assert "12 inserted" not in again
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(12,)]


def test_results_before_any_worker_answered_ingests_nothing_and_quarantines_nothing(run_cli, warehouse, truth, planned,
                                                                                   tmp_path):
    with LocalTurkServer(local_turk(truth, auto_answer=False)) as quiet:
        run_cli("hits", "publish", "--endpoint-url", quiet.url, "--budget", "1")
        before = table_fingerprints(warehouse)
        output = run_cli("hits", "results", "--output", str(tmp_path / "answers.csv"), "--ingest").output
    assert "no assignment submitted yet; nothing to ingest" in output
    assert table_fingerprints(warehouse) == before
    assert not (warehouse.parent / "quarantine").exists() and not (tmp_path / "quarantine").exists()


@pytest.mark.parametrize("ingest", [[], ["--ingest"]])
def test_results_of_a_batch_only_planned_says_to_publish_it_and_writes_nothing(run_cli, warehouse, planned, tmp_path,
                                                                              ingest):
    # Not "answers written" (an empty file), nor, with --ingest, "is on the MTurk sandbox".
    output = tmp_path / "answers.csv"
    result = run_cli("hits", "results", "--output", str(output), *ingest, expect=1)
    assert f"batch '{planned.batch_id}' has no published HITs: `crowdaudit --warehouse {warehouse} hits publish` first" in result.output
    assert "sandbox" not in result.output and not output.exists()


def test_results_ingest_takes_allow_warnings_as_the_gate_tells_it_to(run_cli, warehouse, server, planned, tmp_path):
    # A worker who submitted a whole HIT a second after accepting it fails a warning expectation:
    # the refusal says to pass --allow-warnings, which `hits results --ingest` must then accept.
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    fast = next(iter(server.turk.assignments.values()))
    fast["AcceptTime"] = fast["SubmitTime"] - 1
    output = str(tmp_path / "answers.csv")
    refused = run_cli("hits", "results", "--output", output, "--ingest", expect=1).output
    assert "pass --allow-warnings" in refused
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(0,)]
    loaded = run_cli("hits", "results", "--output", output, "--ingest", "--allow-warnings").output
    assert "12 inserted" in loaded
    assert query(warehouse, "SELECT work_time_in_seconds FROM raw.assignments "
                            f"WHERE assignment_id = '{fast['AssignmentId']}'") == [(1,)]


def test_extend_never_takes_a_hit_across_ten_assignments(run_cli, warehouse, server, planned):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    output = run_cli("hits", "extend", "--assignments", "8", "--budget", "5").output
    assert "capped at 6" in output
    assert query(warehouse, "SELECT DISTINCT max_assignments FROM raw.hits") == [(9,)]


def test_the_endpoint_refuses_approving_twice_as_mturk_does(warehouse, server, planned):
    from etl.crowd.platform import PlatformError

    publish(warehouse, server, planned.batch_id)
    platform = platform_for(server)
    assignment = next(platform.list_assignments(next(iter(server.turk.hits))))
    platform.approve_assignment(assignment.assignment_id)
    with pytest.raises(PlatformError, match="RequestError"):
        platform.approve_assignment(assignment.assignment_id)
    with pytest.raises(PlatformError, match="RequestError"):
        platform.reject_assignment(assignment.assignment_id, "late")


def test_the_local_loop_publishes_fetches_and_ingests(tmp_path: Path, warehouse, truth):
    from etl.hits.loop import run_local_loop

    with open_warehouse(warehouse, read_only=False) as con:
        con.executemany("INSERT INTO raw.images (image_id, load_id) VALUES (?, 1)", [[u] for u in truth])
        con.executemany("INSERT INTO raw.gold VALUES (?, ?, 1)", [[u, truth[u]] for u in list(truth)[:N_GOLD]])
    result = run_local_loop(warehouse, truth, tmp_path / "Batch_local_results.csv", ingest=True, seed=2)
    assert result.n_hits == 4 and result.n_assignments == 12
    assert query(warehouse, "SELECT count(*), count(DISTINCT hit_id) FROM raw.assignments") == [(12, 4)]
    # the simulated crowd is mostly honest: on average, images that are weddings get more ticks
    votes = query(warehouse, """
        SELECT avg(CASE WHEN list_contains(a.selected_slots, i.slot) THEN 1 ELSE 0 END), g.truth
        FROM raw.assignments a JOIN raw.hit_items i USING (hit_id) JOIN raw.gold g USING (image_id)
        GROUP BY g.truth ORDER BY g.truth""")
    assert votes[1][0] > votes[0][0]


def test_the_endpoint_pages_filters_and_takes_worker_operations_through_boto3(warehouse, server, planned):
    from etl.crowd.mturk import mturk_client

    publish(warehouse, server, planned.batch_id)
    client = mturk_client(target_for(endpoint_url=server.url))
    hit_id = next(iter(server.turk.hits))
    first = client.list_assignments_for_hit(HITId=hit_id, MaxResults=2)
    assert first["NumResults"] == 2 and "NextToken" in first
    rest = client.list_assignments_for_hit(HITId=hit_id, MaxResults=2, NextToken=first["NextToken"])
    ids = [a["AssignmentId"] for a in first["Assignments"] + rest["Assignments"]]
    assert len(ids) == len(set(ids)) == 3
    assert "<QuestionFormAnswers" in first["Assignments"][0]["Answer"]
    client.reject_assignment(AssignmentId=ids[0], RequesterFeedback="gold answers wrong")
    rejected = client.list_assignments_for_hit(HITId=hit_id, AssignmentStatuses=["Rejected"])
    assert [a["AssignmentId"] for a in rejected["Assignments"]] == [ids[0]]
    worker = rejected["Assignments"][0]["WorkerId"]
    client.create_worker_block(WorkerId=worker, Reason="failed gold")
    assert client.notify_workers(Subject="s", MessageText="m", WorkerIds=[worker])["NotifyWorkersFailureStatuses"] == []
    listed = client.list_hits(MaxResults=3)
    assert listed["NumResults"] == 3 and "NextToken" in listed


def test_extend_from_needs_more_votes_adds_what_the_mart_asks_for(run_cli, warehouse, server, planned, tmp_path):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    run_cli("hits", "results", "--output", str(tmp_path / "answers.csv"), "--ingest")
    run_cli("build")
    wanted = dict(query(warehouse, "SELECT hit_id, max(hit_extra_assignments) FROM needs_more_votes "
                                   "WHERE hit_id IS NOT NULL GROUP BY hit_id"))
    before = dict(query(warehouse, "SELECT hit_id, max_assignments FROM raw.hits"))
    assert wanted, "the simulated crowd should leave some images unsure"
    run_cli("hits", "extend", "--from-needs-more-votes", "--budget", "5")
    after = dict(query(warehouse, "SELECT hit_id, max_assignments FROM raw.hits"))
    for hit_id, n in before.items():
        assert after[hit_id] == min(n + wanted.get(hit_id, 0), 9 if n < 10 else n + wanted.get(hit_id, 0))
        assert server.turk.hits[hit_id].max_assignments == after[hit_id]


def test_extending_from_needs_more_votes_again_before_the_extras_are_answered_buys_nothing(run_cli, warehouse,
                                                                                            server, planned,
                                                                                            tmp_path):
    """The mart counts answers; the assignments the first run asked for are still open (workers take
    hours). A nightly `results, build, extend` bought them again every night."""
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    run_cli("hits", "results", "--output", str(tmp_path / "answers.csv"), "--ingest")
    run_cli("build")
    server.turk.auto_answer = False
    run_cli("hits", "extend", "--from-needs-more-votes", "--budget", "5")
    asked = {hit_id: hit.max_assignments for hit_id, hit in server.turk.hits.items()}
    balance = server.turk.balance
    assert sum(asked.values()) > 3 * planned.n_hits, "the simulated crowd should leave some images unsure"
    run_cli("hits", "results", "--output", str(tmp_path / "again.csv"), "--ingest")  # nothing new yet
    run_cli("build")
    again = run_cli("hits", "extend", "--from-needs-more-votes", "--budget", "5").output
    assert {hit_id: hit.max_assignments for hit_id, hit in server.turk.hits.items()} == asked
    assert server.turk.balance == balance
    assert "cover what needs_more_votes asks for" in again, again
    # Without a build in between, the mart's older need is covered by the same assignments.
    run_cli("hits", "extend", "--from-needs-more-votes", "--budget", "5")
    assert {hit_id: hit.max_assignments for hit_id, hit in server.turk.hits.items()} == asked


def test_extending_from_needs_more_votes_asks_only_what_open_assignments_do_not_cover(run_cli, warehouse,
                                                                                     server, planned, tmp_path):
    """A HIT published with 3 assignments of which the build saw 2 answered has 1 vote coming: the
    need is met by it first."""
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    run_cli("hits", "results", "--output", str(tmp_path / "answers.csv"), "--ingest")
    run_cli("build")
    need = dict(query(warehouse, "SELECT hit_id, max(hit_extra_assignments) FROM needs_more_votes "
                                 "WHERE hit_id IS NOT NULL GROUP BY hit_id"))
    assert need
    with open_warehouse(warehouse, read_only=False) as con:  # as if the build had seen one answer fewer
        con.execute("UPDATE main.needs_more_votes SET hit_answered_assignments = hit_answered_assignments - 1")
    server.turk.auto_answer = False
    before = {hit_id: hit.max_assignments for hit_id, hit in server.turk.hits.items()}
    run_cli("hits", "extend", "--from-needs-more-votes", "--budget", "5")
    for hit_id, n in before.items():
        assert server.turk.hits[hit_id].max_assignments == min(n + max(need.get(hit_id, 0) - 1, 0), 9)


def test_a_hit_past_its_expiration_with_slots_never_taken_is_named_expired_not_covered(run_cli, warehouse,
                                                                                        server, planned, tmp_path):
    """Its slots never taken bring no votes: counted as covering the need, the HIT was left out for
    good under a note saying the votes were on their way."""
    from datetime import UTC, datetime, timedelta

    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    run_cli("hits", "results", "--output", str(tmp_path / "answers.csv"), "--ingest")
    run_cli("build")
    needing = [h for (h,) in query(warehouse, "SELECT DISTINCT hit_id FROM needs_more_votes WHERE hit_id IS NOT NULL "
                                              "ORDER BY 1")]
    assert needing
    lapsed, past = needing[0], datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    platform_for(server).set_expiration(lapsed, past)
    with open_warehouse(warehouse, read_only=False) as con:  # its lifetime ended; a slot was never taken
        con.execute("UPDATE raw.hits SET expiration = ? WHERE hit_id = ?", [past, lapsed])
        con.execute("UPDATE main.needs_more_votes SET hit_answered_assignments = hit_answered_assignments - 1 "
                    "WHERE hit_id = ?", [lapsed])
    server.turk.auto_answer = False
    before = server.turk.hits[lapsed].max_assignments
    output = run_cli("hits", "extend", "--from-needs-more-votes", "--budget", "5").output
    assert f"({lapsed}): they expired at {past:%Y-%m-%d %H:%M} UTC, and MTurk adds no assignments" in output
    assert "cover what needs_more_votes asks for" not in output
    assert server.turk.hits[lapsed].max_assignments == before
    assert query(warehouse, f"SELECT count(*) FROM raw.hit_extensions WHERE hit_id = '{lapsed}'") == [(0,)]


def test_a_budget_that_only_a_fraction_of_a_cent_fee_would_meet_is_refused(warehouse, server):
    # 11 images, 1 HIT x 3 assignments x ($0.13 + 20% fee $0.026, charged $0.03) = $0.48: over a
    # $0.47 budget, which the unrounded fees ($0.468) would have passed.
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.images (image_id, load_id) SELECT 'https://img.example/' || i, 1 FROM range(11) t(i)")
        batch = build_hits(con, HitDesign(reward=Decimal("0.13")), seed=1)
    with pytest.raises(CrowdauditError, match=r"costs \$0\.48"):
        publish(warehouse, server, batch.batch_id, budget="0.47")
    assert server.turk.calls == []
    assert publish(warehouse, server, batch.batch_id, budget="0.48").price.total == Decimal("0.48")


def test_a_reward_that_is_not_whole_cents_is_refused_before_planning(run_cli, warehouse):
    result = run_cli("hits", "build", "--reward", "0.015", expect=2)
    assert "whole number of cents" in result.output
    for amount in ("NaN", "Infinity", "1e9"):
        assert "Invalid value for '--budget'" in run_cli("hits", "publish", "--budget", amount, expect=2).output


def test_a_batch_published_on_one_target_is_finished_there_and_never_on_another(run_cli, warehouse, server, planned):
    # A crash half-way, then a re-run that names another target, would pay for HITs twice.
    with open_warehouse(warehouse, read_only=False) as con:
        publish_batch(con, platform_for(server), batch_id=planned.batch_id, budget=Decimal(10),
                      qualifications=seed_qualifications())
        con.execute("UPDATE raw.hits SET status = 'planned' WHERE hit_id = (SELECT max(hit_id) FROM raw.hits)")
    calls = len(server.turk.calls)
    for target in (["--sandbox"], ["--live", "--yes"], ["--endpoint-url", "http://127.0.0.1:9/"]):
        result = run_cli("hits", "publish", "--budget", "5", *target, expect=1)
        assert f"is published on {server.url}" in result.output
        assert run_cli("hits", "extend", "--assignments", "1", "--budget", "5", *target, expect=1).exit_code == 1
    assert len(server.turk.calls) == calls
    result = run_cli("hits", "publish", "--live", "--endpoint-url", server.url, "--budget", "5", expect=1)
    assert "both name a target" in result.output


def test_a_hit_of_another_warehouse_with_the_same_annotation_is_not_taken_for_ours(warehouse, server, planned):
    from etl.hits.publish import batch_design, hit_type_spec, ours_by_annotation, planned_hits

    with open_warehouse(warehouse, read_only=True) as con:
        ours = planned_hits(con, planned.batch_id)
        spec = hit_type_spec(batch_design(con, planned.batch_id), ())
    # Another warehouse's first batch, planned before annotations had a random part: same
    # annotation, other images.
    platform = platform_for(server)
    theirs = platform.create_hit(
        hit_type_id=platform.create_hit_type(spec), max_assignments=3, lifetime_in_seconds=3600,
        question="<HTMLQuestion>https://elsewhere.example/1.jpg</HTMLQuestion>",
        requester_annotation=ours[0].requester_annotation, unique_request_token="another-warehouse")
    assert ours_by_annotation(ours, platform.list_hits()) == {}
    # A HIT with the annotation that shows our images (ours, created before a crash) is taken.
    mine = dataclasses.replace(platform.get_hit(theirs.hit_id),
                               question=question_xml(ours[0].image_urls, submit_url=platform.submit_url))
    assert ours_by_annotation(ours, [mine]) == {ours[0].requester_annotation: mine}
    report = publish(warehouse, server, planned.batch_id)
    assert len(report.created) == planned.n_hits and theirs.hit_id not in report.created
    assert theirs.hit_id not in [r[0] for r in query(warehouse, "SELECT hit_id FROM raw.hits")]


def _extension_cut_off_after_its_second_call(warehouse, server, batch_id: str) -> None:
    """`hits extend --assignments 2`: the first HIT extended and recorded, the second taken by the
    platform but the connection reset before the warehouse heard, the others not reached."""
    from etl.crowd.platform import PlatformError
    from etl.hits.manage import extend_batch, plan_extension

    class DiesOnSecondCall(MTurkPlatform):
        calls = 0

        def add_assignments(self, hit_id, extra, token):
            type(self).calls += 1
            if self.calls == 2:
                super().add_assignments(hit_id, extra, token)  # the platform took it; the warehouse never hears
                raise PlatformError("connection reset")
            return super().add_assignments(hit_id, extra, token)

    with open_warehouse(warehouse, read_only=False) as con:
        plan = plan_extension(con, batch_id, extra=2, from_needs_more_votes=False)
        with pytest.raises(PlatformError):
            extend_batch(con, DiesOnSecondCall(target_for(endpoint_url=server.url)), plan, budget=Decimal(1))


def test_an_extension_killed_half_way_is_finished_by_the_next_run_and_adds_nothing_twice(
        run_cli, warehouse, server, planned):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    _extension_cut_off_after_its_second_call(warehouse, server, planned.batch_id)
    # The user runs the same command again: the unfinished plan is completed, not planned afresh.
    output = run_cli("hits", "extend", "--assignments", "2", "--budget", "1").output
    assert "finishing the extension planned at" in output
    assert sorted(h.max_assignments for h in server.turk.hits.values()) == [5, 5, 5, 5]
    assert query(warehouse, "SELECT DISTINCT max_assignments FROM raw.hits") == [(5,)]
    assert query(warehouse, "SELECT count(*) FROM raw.hit_extensions WHERE done_at IS NULL") == [(0,)]
    # Now a new request applies to every HIT once.
    run_cli("hits", "extend", "--assignments", "1", "--budget", "1")
    assert sorted(h.max_assignments for h in server.turk.hits.values()) == [6, 6, 6, 6]


def test_a_resumed_extension_prices_and_budgets_only_what_remains_to_be_paid(run_cli, warehouse, server, planned):
    """The resumed run showed and checked against --budget the price of every HIT left unrecorded,
    the one the platform had already taken (and charged) included: $0.12 for $0.08 of calls, and a
    budget of $0.08 was refused."""
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    _extension_cut_off_after_its_second_call(warehouse, server, planned.batch_id)
    args = ("hits", "extend", "--assignments", "2")
    assert "6 extra assignments on 3 HITs: $0.12 at most" in run_cli(*args, "--dry-run").output
    balance = platform_for(server).account_balance()
    refused = run_cli(*args, "--budget", "0.07", expect=1).output
    assert "2 of its assignments, on 1 HIT(s), were added before the interruption: recorded, not paid again" in refused
    assert "4 extra assignments on 2 HITs: $0.08 (over the budget of $0.07" in refused
    assert platform_for(server).account_balance() == balance
    output = run_cli(*args, "--budget", "0.08").output
    assert "4 extra assignments on 2 HITs: $0.08\n" in output and "added 4 assignments" in output
    assert platform_for(server).account_balance() == balance - Decimal("0.08")
    assert sorted(h.max_assignments for h in server.turk.hits.values()) == [5] * planned.n_hits
    assert query(warehouse, "SELECT DISTINCT max_assignments FROM raw.hits") == [(5,)]


def test_every_question_is_checked_before_anything_is_created(warehouse, server, truth):
    with open_warehouse(warehouse, read_only=False) as con:
        urls = [f"https://img.example/{i}.jpg" for i in range(34)]
        con.executemany("INSERT INTO raw.images (image_id, load_id) VALUES (?, 1)", [[u] for u in urls])
        batch = build_hits(con, HitDesign(), seed=2)
        # `hits build` refuses to plan such a HIT now; a batch planned before it did still reaches publish.
        con.execute("UPDATE raw.hit_items SET image_id = 'https://img.example/' || repeat('x', 70000) "
                    "WHERE image_id = 'https://img.example/33.jpg'")
    with pytest.raises(CrowdauditError, match="bytes"):
        publish(warehouse, server, batch.batch_id)
    assert server.turk.hits == {}


def _extension_left_unfinished(warehouse, server, batch_id: str) -> None:
    """`hits extend --assignments 2` planned and written, its every call failing (a network down)."""
    from etl.crowd.platform import PlatformError
    from etl.hits.manage import extend_batch, plan_extension

    class Unreachable(MTurkPlatform):
        def add_assignments(self, hit_id, extra, token):
            raise PlatformError("connection reset")

    with open_warehouse(warehouse, read_only=False) as con:
        plan = plan_extension(con, batch_id, extra=2, from_needs_more_votes=False)
        with pytest.raises(PlatformError):
            extend_batch(con, Unreachable(target_for(endpoint_url=server.url)), plan, budget=Decimal(1))


def test_an_unfinished_extension_whose_hits_expired_is_abandoned_not_retried_for_ever(
        run_cli, warehouse, server, planned):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    _extension_left_unfinished(warehouse, server, planned.batch_id)
    run_cli("hits", "expire")
    output = run_cli("hits", "extend", "--assignments", "1", "--budget", "1").output
    assert "4 HIT(s) of the unfinished extension expired or are gone" in output
    assert query(warehouse, "SELECT count(*) FROM raw.hit_extensions WHERE done_at IS NULL") == [(0,)]
    assert query(warehouse, "SELECT DISTINCT max_assignments FROM raw.hits") == [(3,)]
    assert "finishing" not in run_cli("hits", "extend", "--assignments", "1", "--budget", "1", "--dry-run").output


@pytest.mark.parametrize("reward", [Decimal("0.10")])
def test_a_masters_batch_extension_is_priced_with_the_masters_fee(warehouse, server, planned):
    from etl.crowd.platform import MASTERS, Qualification
    from etl.hits.manage import plan_extension

    with open_warehouse(warehouse, read_only=False) as con:
        publish_batch(con, platform_for(server), batch_id=planned.batch_id, budget=Decimal(10),
                      qualifications=[Qualification(MASTERS, "Exists")])
        plan = plan_extension(con, planned.batch_id, extra=1, from_needs_more_votes=False)
    # 4 HITs x 1 assignment x ($0.10 + 20% + 5% Masters of $0.10 = $0.025, charged $0.03)
    assert plan.masters and plan.exact_price == Decimal(4) * Decimal("0.13")


def test_a_sandbox_batchs_answers_are_not_ingested_unless_asked(run_cli, warehouse, planned):
    # Refused before any call: the sandbox cannot be reached from the tests, and need not be.
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("UPDATE raw.hits SET status = 'published'")
        con.execute("INSERT INTO raw.publish_log SELECT hit_id, hit_id, batch_id, 't', 'sandbox', 'tok', "
                    "'created', 0.06, now()::TIMESTAMP FROM raw.hits")
    before = table_fingerprints(warehouse)
    result = run_cli("hits", "results", "--ingest", expect=1)
    assert "is on the MTurk sandbox" in result.output and "--allow-sandbox" in result.output
    assert table_fingerprints(warehouse) == before


def test_the_endpoint_answers_bad_paging_and_its_own_faults_with_errors_boto3_reads(warehouse, server, planned):
    from botocore.exceptions import ClientError

    from etl.crowd.mturk import mturk_client

    publish(warehouse, server, planned.batch_id)
    client = mturk_client(target_for(endpoint_url=server.url))
    hit_id = next(iter(server.turk.hits))
    # botocore checks only minimums client-side; MTurk refuses the rest.
    for bad, code in [({"NextToken": "not-a-token"}, "RequestError"), ({"MaxResults": 101}, "ValidationException"),
                      ({"AssignmentStatuses": ["Approve"]}, "ValidationException")]:
        with pytest.raises(ClientError) as refused:
            client.list_assignments_for_hit(HITId=hit_id, **bad)
        assert refused.value.response["Error"]["Code"] == code, bad
    server.turk.op_GetAccountBalance = lambda params: 1 / 0
    with pytest.raises(ClientError) as fault:
        client.get_account_balance()
    assert fault.value.response["Error"]["Code"] == "ServiceFault"
    assert "ZeroDivisionError" in fault.value.response["Error"]["Message"]


def test_extending_hits_we_expired_leaves_them_out_instead_of_failing_on_them(run_cli, warehouse, server, planned):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    run_cli("hits", "expire")
    calls = len(server.turk.calls)
    output = run_cli("hits", "extend", "--assignments", "2", "--budget", "1").output
    # Said once, not a line per HIT followed by "$0.00".
    assert output.count("\n") == 1 and output.startswith(
        f"nothing to extend on {planned.batch_id}: its {planned.n_hits} HIT(s) expired at ")
    assert output.rstrip().endswith("MTurk adds no assignments to an expired HIT")
    assert len(server.turk.calls) == calls
    assert query(warehouse, "SELECT count(*) FROM raw.hit_extensions") == [(0,)]


def test_extending_a_batch_with_one_hit_we_expired_names_it_once_and_extends_the_others(
        run_cli, warehouse, server, planned):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    from datetime import UTC, datetime

    ended = min(server.turk.hits)
    now = datetime.now(UTC).replace(tzinfo=None)
    platform_for(server).set_expiration(ended, now)
    with open_warehouse(warehouse, read_only=False) as con:  # as `hits expire` records it
        con.execute("UPDATE raw.hits SET expiration = ?, status = 'expired' WHERE hit_id = ?", [now, ended])
    output = run_cli("hits", "extend", "--assignments", "2", "--budget", "1").output
    assert output.splitlines()[0] == (f"1 HIT(s) left out ({ended}): they expired at {now:%Y-%m-%d %H:%M} "
                                      "UTC, and MTurk adds no assignments to an expired HIT")
    assert f"added {2 * (planned.n_hits - 1)} assignments" in output
    assert sorted(h.max_assignments for h in server.turk.hits.values()) == [3] + [5] * (planned.n_hits - 1)


def test_a_hit_extended_again_after_an_abandoned_extension_of_the_same_size_gets_a_new_request_token(
        run_cli, warehouse, server, planned):
    # An extension that failed, then was abandoned when its HIT expired, then the HIT given more
    # time (on the requester site) and extended by as many again: the abandoned token is taken.
    from datetime import UTC, datetime, timedelta

    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    _extension_left_unfinished(warehouse, server, planned.batch_id)
    platform = platform_for(server)
    now = datetime.now(UTC).replace(tzinfo=None)
    for hit_id in server.turk.hits:
        platform.set_expiration(hit_id, now)
    assert "expired or are gone" in run_cli("hits", "extend", "--assignments", "2", "--budget", "1").output
    for hit_id in server.turk.hits:
        platform.set_expiration(hit_id, now + timedelta(days=1))
    output = run_cli("hits", "extend", "--assignments", "2", "--budget", "1").output
    assert f"added {2 * planned.n_hits} assignments" in output
    tokens = [token for (token,) in query(warehouse, "SELECT unique_request_token FROM raw.hit_extensions")]
    assert len(tokens) == len(set(tokens)) == 2 * planned.n_hits
    assert query(warehouse, "SELECT DISTINCT max_assignments FROM raw.hits") == [(5,)]


def _second_batch_of_the_same_design(warehouse, reward: Decimal) -> str:
    """Another batch planned with the same design as `planned`: MTurk gives both one HIT type."""
    with open_warehouse(warehouse, read_only=False) as con:
        con.executemany("INSERT INTO raw.images (image_id, load_id) VALUES (?, 1)",
                        [[f"https://img.example/second/{i}.jpg"] for i in range(N_IMAGES)])
        return build_hits(con, HitDesign(reward=reward), seed=6).batch_id


def test_a_second_batch_of_one_design_killed_after_its_first_hit_is_still_pinned_to_its_target(
        run_cli, warehouse, server, planned):
    publish(warehouse, server, planned.batch_id)
    second = _second_batch_of_the_same_design(warehouse, HitDesign().reward)

    class Killed(Exception):
        pass

    class DiesAfterFirstHit(MTurkPlatform):
        def create_hit(self, **kwargs):
            super().create_hit(**kwargs)
            raise Killed  # the process dies before the warehouse records the HIT

    with open_warehouse(warehouse, read_only=False) as con, pytest.raises(Killed):
        publish_batch(con, DiesAfterFirstHit(target_for(endpoint_url=server.url)), batch_id=second,
                      budget=Decimal(10), qualifications=seed_qualifications())
    hits_on_the_endpoint = len(server.turk.hits)
    result = run_cli("hits", "publish", "--batch", second, "--endpoint-url", "http://127.0.0.1:9/", "--budget", "5",
                     expect=1)
    assert f"batch {second} is published on {server.url}" in result.output
    rerun = run_cli("hits", "publish", "--batch", second, "--budget", "5").output
    assert "3 HITs created, 1 already there" in rerun
    assert "of which the 1 already there were paid when an earlier run created them" in rerun
    assert len(server.turk.hits) == hits_on_the_endpoint + 3


@pytest.mark.parametrize("reward", [Decimal("0.10")])
def test_a_second_masters_batch_of_one_design_is_extended_with_the_masters_fee(warehouse, server, planned, reward):
    from etl.crowd.platform import MASTERS, Qualification
    from etl.hits.manage import plan_extension

    second = _second_batch_of_the_same_design(warehouse, reward)
    with open_warehouse(warehouse, read_only=False) as con:
        for batch_id in (planned.batch_id, second):
            publish_batch(con, platform_for(server), batch_id=batch_id, budget=Decimal(10),
                          qualifications=[Qualification(MASTERS, "Exists")])
        plan = plan_extension(con, second, extra=1, from_needs_more_votes=False)
    assert plan.masters and plan.exact_price == Decimal(4) * Decimal("0.13")


def test_mturks_own_hosts_given_as_an_endpoint_are_the_live_and_sandbox_targets():
    live = target_for(endpoint_url="https://mturk-requester.us-east-1.amazonaws.com/")
    assert (live.name, live.live) == ("live", True)
    sandbox = target_for(endpoint_url="https://mturk-requester-sandbox.us-east-1.amazonaws.com")
    assert (sandbox.name, sandbox.live) == ("sandbox", False)
    assert target_for(endpoint_url="http://127.0.0.1:8443").live is False


def test_the_publish_log_adds_up_to_what_the_batch_cost(warehouse, server):
    with open_warehouse(warehouse, read_only=False) as con:
        con.executemany("INSERT INTO raw.images (image_id, load_id) VALUES (?, 1)",
                        [[f"https://img.example/{i}.jpg"] for i in range(N_IMAGES)])
        planned = build_hits(con, HitDesign(reward=Decimal("0.07"), gold_per_hit=0), seed=5)
    # 4 HITs x 3 assignments x ($0.07 + 20% fee $0.014, charged $0.01) = $0.96: $0.24 a HIT
    report = publish(warehouse, server, planned.batch_id)
    assert report.price.exact == Decimal("0.96")
    assert query(warehouse, "SELECT price FROM raw.publish_log") == [(Decimal("0.2400"),)] * 4


@pytest.mark.parametrize("reward", [Decimal("0.10")])
def test_the_reports_cost_card_adds_the_masters_fee_of_a_batch_published_asking_for_masters(
        run_cli, warehouse, server, planned, tmp_path):
    from etl.crowd.platform import MASTERS, Qualification

    with open_warehouse(warehouse, read_only=False) as con:
        publish_batch(con, platform_for(server), batch_id=planned.batch_id, budget=Decimal(10),
                      qualifications=[Qualification(MASTERS, "Exists")])
    run_cli("hits", "results", "--output", str(tmp_path / "answers.csv"), "--ingest")
    run_cli("build")
    run_cli("report", "-o", str(tmp_path / "report.html"))
    card = (tmp_path / "report.html").read_text(encoding="utf-8").split('id="cost">')[1].split("</div>")[0]
    # 12 assignments x ($0.10 + 20% + 5% Masters of $0.10 = $0.025, charged $0.03); $1.44 without Masters
    assert "$1.56 with MTurk's fees" in card


def test_a_sandbox_batchs_results_file_is_not_ingested_unless_asked_and_its_redownload_is(
        run_cli, warehouse, server, planned, tmp_path):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    answers = tmp_path / "Batch_1_results.csv"
    run_cli("hits", "results", "--output", str(answers))
    # The sandbox cannot be reached from the tests: the batch is recorded as published there instead.
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("UPDATE raw.publish_log SET target = 'sandbox'")
    before = table_fingerprints(warehouse)
    refused = run_cli("ingest", str(answers), expect=1).output
    assert "published on the MTurk sandbox" in refused and "--allow-sandbox" in refused
    assert ", row 2, column HITId:" in refused
    assert table_fingerprints(warehouse) == before
    assert "12 inserted" in run_cli("ingest", "--allow-sandbox", str(answers)).output
    # Once in, a re-download of the batch (a decision made since) loads without being asked again.
    redownload = tmp_path / "Batch_1_results (1).csv"
    redownload.write_text(answers.read_text(encoding="utf-8").replace('"Submitted"', '"Rejected"', 1),
                          encoding="utf-8")
    assert "1 updated" in run_cli("ingest", str(redownload)).output


def test_a_resumed_extension_run_while_the_platform_is_unreachable_abandons_nothing(
        run_cli, warehouse, server, planned):
    """Settling a resumed plan took any failed GetHIT (a connection refused, a throttle, a ServiceFault)
    for 'the platform no longer has the HIT': every HIT was abandoned, the one the platform had taken
    and charged included, so the warehouse never counted its assignments and the next run planned
    them afresh. Only the platform saying the HIT does not exist abandons it."""
    from etl.crowd.platform import PlatformError
    from etl.hits.manage import extend_batch, unfinished_extension

    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    _extension_cut_off_after_its_second_call(warehouse, server, planned.batch_id)

    class NetworkDown(MTurkPlatform):
        def _call(self, operation, **params):
            raise PlatformError(f"{self.target.name}: Could not connect to the endpoint URL ({operation})")

    with open_warehouse(warehouse, read_only=False) as con:
        plan = unfinished_extension(con, planned.batch_id)
        with pytest.raises(PlatformError, match="Could not connect"):
            extend_batch(con, NetworkDown(target_for(endpoint_url=server.url)), plan, budget=Decimal(1))
    assert query(warehouse, "SELECT count(*) FROM raw.hit_extensions WHERE outcome LIKE 'abandoned%'") == [(0,)]
    # With the network back, the same command finishes the extension as if nothing had happened.
    output = run_cli("hits", "extend", "--assignments", "2", "--budget", "1").output
    assert "abandoned" not in output and "gone" not in output
    assert sorted(h.max_assignments for h in server.turk.hits.values()) == [5] * planned.n_hits
    assert query(warehouse, "SELECT DISTINCT max_assignments FROM raw.hits") == [(5,)]


def test_a_resumed_extension_abandons_a_hit_the_platform_says_does_not_exist(run_cli, warehouse, server, planned):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    _extension_left_unfinished(warehouse, server, planned.batch_id)
    gone = min(server.turk.hits)
    del server.turk.hits[gone]
    output = run_cli("hits", "extend", "--assignments", "2", "--budget", "1").output
    assert f"1 HIT(s) of the unfinished extension expired or are gone and were left out: {gone}" in output
    assert "added 6 assignments" in output
    assert query(warehouse, "SELECT outcome LIKE 'abandoned: the platform no longer has the HIT%' FROM "
                            f"raw.hit_extensions WHERE hit_id = '{gone}'") == [(True,)]


@pytest.mark.parametrize("budget", ["0,2", "0,20", "1,5", "1,0000", "0,200", "00,100"])
def test_a_budget_written_with_a_decimal_comma_is_refused_not_read_as_many_times_more(
        run_cli, warehouse, server, planned, budget):
    """`--budget 0,2` (twenty cents, written as much of Europe writes it) was read as $2: a batch
    of $0.24 that the budget should have refused was published."""
    refused = run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", budget, expect=2).output
    assert f"{budget!r}" in refused and "thousands" in refused
    assert server.turk.hits == {}


@pytest.mark.parametrize("written", ["0_20", "1_000", "0.0_1"])
def test_an_amount_with_python_digit_separators_is_refused_not_read_as_other_dollars(written):
    """Decimal reads '0_20' as 20: a budget of $20 for a user who meant twenty cents."""
    import click

    from etl.cli.hits import MONEY

    with pytest.raises(click.BadParameter, match="not an amount of dollars"):
        MONEY.convert(written, None, None)


@pytest.mark.parametrize(("written", "dollars"), [("1,000", "1000"), ("$1,234.50", "1234.50"), ("12,345,678", "12345678")])
def test_a_budget_with_thousands_separators_is_read_as_written(written, dollars):
    from etl.cli.hits import MONEY

    assert MONEY.convert(written, None, None) == Decimal(dollars)


def test_a_reward_written_with_a_decimal_comma_is_refused_not_read_as_a_dollar(run_cli, warehouse, truth):
    with open_warehouse(warehouse, read_only=False) as con:
        con.executemany("INSERT INTO raw.images (image_id, load_id) VALUES (?, 1)", [[u] for u in truth])
    assert "'0,01'" in run_cli("hits", "build", "--reward", "0,01", expect=2).output
    # Three decimals after a 0 look like a thousands group: 0,020 was read as a reward of $20.
    assert "'0,020'" in run_cli("hits", "build", "--reward", "0,020", expect=2).output
    assert query(warehouse, "SELECT count(*) FROM raw.hit_batches") == [(0,)]


@pytest.mark.parametrize("url", ["https://mturk-requester.us-east-1.amazonaws.com./",
                                 "https://MTURK-REQUESTER.us-east-1.amazonaws.com.:443"])
def test_the_live_host_written_as_a_fully_qualified_name_is_the_live_target_and_asks_before_spending(url):
    """The host with DNS's trailing dot reaches the live marketplace as surely as without it, but it
    was taken for some other endpoint: no question before real money was spent, and HITs whose form
    posted to the sandbox's submit page, so no worker's answer reached the batch it paid for."""
    from etl.crowd.mturk import LIVE_SUBMIT

    live = target_for(endpoint_url=url)
    assert (live.name, live.live) == ("live", True)
    assert MTurkPlatform(live, client=object()).submit_url == LIVE_SUBMIT
    assert target_for(endpoint_url="https://mturk-requester-sandbox.us-east-1.amazonaws.com.").name == "sandbox"


def test_an_extension_plan_whose_writing_fails_half_way_leaves_no_part_of_it_behind(run_cli, warehouse, server,
                                                                                    planned):
    """The plan was written a row at a time: stopped at its second row (here a row refused; a Ctrl-C
    or a full disk on a batch of thousands of HITs as well), its first row stayed, unfinished. The
    next `hits extend` then finished that one-HIT plan instead of the request and told the user to
    run the command again, which extended that HIT a second time."""
    import duckdb

    from etl.hits.manage import extend_batch, plan_extension

    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    with open_warehouse(warehouse, read_only=False) as con:
        plan = plan_extension(con, planned.batch_id, extra=2, from_needs_more_votes=False)
        first, second, *_ = plan.tokens
        plan.tokens[second] = plan.tokens[first]
        with pytest.raises(duckdb.ConstraintException):
            extend_batch(con, platform_for(server), plan, budget=Decimal(1))
    assert query(warehouse, "SELECT count(*) FROM raw.hit_extensions") == [(0,)]
    output = run_cli("hits", "extend", "--assignments", "2", "--budget", "1").output
    assert "finishing" not in output and "added 8 assignments" in output
    assert sorted(h.max_assignments for h in server.turk.hits.values()) == [5] * planned.n_hits


def test_an_extension_rerun_after_a_crash_says_it_finished_this_request_and_not_to_run_it_again(
        run_cli, warehouse, server, planned):
    """The user re-runs the command that crashed, as one does; it finished the extension and then
    told them their request was not applied and to run the command again for it, which would add
    every HIT's assignments a second time (and pay for them)."""
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    _extension_cut_off_after_its_second_call(warehouse, server, planned.batch_id)
    output = run_cli("hits", "extend", "--assignments", "2", "--budget", "1").output
    assert "run the command again" not in output
    assert "which did not complete (+2 assignments on each of 3 HITs left)" in output
    assert "that is this request: running it again would add 2 more to each HIT" in output
    other = run_cli("hits", "extend", "--assignments", "1", "--budget", "1").output
    assert "finishing" not in other
    assert sorted(h.max_assignments for h in server.turk.hits.values()) == [6] * planned.n_hits


def test_an_extension_rerun_with_another_request_says_that_request_is_still_to_be_made(
        run_cli, warehouse, server, planned):
    run_cli("hits", "publish", "--endpoint-url", server.url, "--budget", "1")
    _extension_cut_off_after_its_second_call(warehouse, server, planned.batch_id)
    output = run_cli("hits", "extend", "--assignments", "3", "--budget", "1").output
    assert "which did not complete (+2 assignments on each of 3 HITs left)" in output
    assert "your request (+3 on each HIT) is not applied: run the command again for it" in output
    assert sorted(h.max_assignments for h in server.turk.hits.values()) == [5] * planned.n_hits


def test_a_resumed_extension_left_with_capped_hits_only_is_still_named_this_request():
    """`--assignments 5` on HITs of 3 and of 7 assignments: the 7s are capped at +2. Cut off once
    the 3s were done, the re-run saw only +2s left and told the user their +5 was not applied and
    to run it again, which added to every HIT a second time (and paid for it)."""
    from datetime import datetime

    from etl.hits.manage import ExtensionPlan, resumed_note

    plan = ExtensionPlan("b", extra={"H2": 2, "H3": 2}, from_assignments={"H2": 7, "H3": 7},
                         resumed_from=datetime(2026, 1, 1))
    assert "that is this request: running it again would add 5 more" in resumed_note(plan, 5)
    assert "your request (+1 on each HIT) is not applied" in resumed_note(plan, 1)
    uncapped = ExtensionPlan("b", extra={"H1": 3}, from_assignments={"H1": 3}, resumed_from=datetime(2026, 1, 1))
    assert "your request (+5 on each HIT) is not applied" in resumed_note(uncapped, 5)


class _FailsAfter:
    """A platform whose set_expiration fails once `calls` HITs have been expired."""

    def __init__(self, platform, calls: int):
        self.platform, self.calls = platform, calls

    def set_expiration(self, hit_id, when):
        if self.calls == 0:
            raise PlatformError("UpdateExpirationForHIT: injected ServiceFault")
        self.calls -= 1
        self.platform.set_expiration(hit_id, when)


def test_expire_records_every_hit_it_expired_also_in_several_updates(warehouse, server, planned, monkeypatch):
    publish(warehouse, server, planned.batch_id)
    monkeypatch.setattr("etl.hits.manage.EXPIRED_PER_UPDATE", 3, raising=False)  # 4 HITs: 3, then 1
    with open_warehouse(warehouse, read_only=False) as con:
        assert expire_batch(con, platform_for(server), planned.batch_id) == 4
    assert query(warehouse, "SELECT status, count(DISTINCT expiration), count(*) FROM raw.hits GROUP BY 1") == [
        ("expired", 1, 4)]
    assert all(platform_for(server).get_hit(h).available == 0 for h in server.turk.hits)


def test_an_expire_whose_call_failed_has_recorded_the_hits_it_expired_before(warehouse, server, planned):
    publish(warehouse, server, planned.batch_id)
    with open_warehouse(warehouse, read_only=False) as con, pytest.raises(PlatformError):
        expire_batch(con, _FailsAfter(platform_for(server), 2), planned.batch_id)
    assert query(warehouse, "SELECT status, count(*) FROM raw.hits GROUP BY 1 ORDER BY 1") == [
        ("expired", 2), ("published", 2)]
    assert sorted(h for h, hit in server.turk.hits.items() if hit.expiration <= time.time()) == [
        r[0] for r in query(warehouse, "SELECT hit_id FROM raw.hits WHERE status = 'expired' ORDER BY 1")]


def test_status_results_extend_and_expire_say_when_each_hit_is_done(warehouse, server, planned):
    publish(warehouse, server, planned.batch_id)
    platform = platform_for(server)
    done: list[str] = []
    with open_warehouse(warehouse, read_only=False) as con:
        batch_progress(con, platform, planned.batch_id, on_hit=lambda: done.append("status"))
        results_from_platform(con, platform, planned.batch_id, on_hit=lambda: done.append("results"))
        plan = plan_extension(con, planned.batch_id, extra=1, from_needs_more_votes=False)
        extend_batch(con, platform, plan, budget=Decimal(1), on_hit=lambda: done.append("extend"))
        expire_batch(con, platform, planned.batch_id, on_hit=lambda: done.append("expire"))
    assert done == [step for step in ("status", "results", "extend", "expire") for _ in range(planned.n_hits)]


def test_listing_more_hits_than_a_page_gives_each_once_in_the_order_they_were_created(server):
    turk = server.turk
    hit_type = turk.handle("CreateHITType", {"Title": "t", "Description": "d", "Reward": "0.01",
                                             "AssignmentDurationInSeconds": 600})["HITTypeId"]
    question = question_xml(["https://img.example/0.jpg"], submit_url="https://submit.example/")
    created = [turk.handle("CreateHITWithHITType", {"HITTypeId": hit_type, "Question": question,
                                                    "LifetimeInSeconds": 3600, "RequesterAnnotation": f"n{n}"})
               ["HIT"]["HITId"] for n in range(230)]
    listed = list(platform_for(server).list_hits())
    assert [hit.hit_id for hit in listed] == created
    assert [hit.requester_annotation for hit in listed] == [f"n{n}" for n in range(230)]
    assert {hit.question for hit in listed} == {question}


def test_a_hit_id_the_warehouse_already_holds_is_refused_not_recorded_over_another_hits(warehouse, truth, server,
                                                                                       planned):
    # mturk-local restarted with the same --seed hands out its first HIT ids again: recorded, two
    # batches' HITs shared ids, and their images and answers were mixed (variables.csv crashed).
    publish(warehouse, server, planned.batch_id)
    more = {f"https://img.example/more-{i}.jpg": i % 2 == 0 for i in range(N_IMAGES)}
    with open_warehouse(warehouse, read_only=False) as con:
        con.executemany("INSERT INTO raw.images (image_id, load_id) VALUES (?, 1)", [[u] for u in more])
        second = build_hits(con, HitDesign(), seed=6)
    held = rf"id \w+, which the warehouse already holds for a HIT of batch {planned.batch_id}"
    with LocalTurkServer(local_turk({**truth, **more}, seed=1)) as restarted, pytest.raises(CrowdauditError, match=held):
        publish(warehouse, restarted, second.batch_id)
    assert query(warehouse, "SELECT count(*) = count(DISTINCT hit_id) FROM raw.hits") == [(True,)]
    assert query(warehouse, f"SELECT DISTINCT status FROM raw.hits WHERE batch_id = '{second.batch_id}'") == [
        ("planned",)]


def test_an_extension_marked_done_through_a_rowid_that_names_another_row_adds_to_its_own_hit(
        warehouse, server, planned):
    from etl.hits.manage import _mark_done, hit_rowids

    publish(warehouse, server, planned.batch_id)
    with open_warehouse(warehouse, read_only=False) as con:
        rowids = hit_rowids(con, planned.batch_id)
        first, second = sorted(rowids)[:2]
        _mark_done(con, first, 2, "no-such-token", rowids[first])
        _mark_done(con, second, 1, "no-such-token", rowids[first])  # a row that moved: found by its id
    assert query(warehouse, "SELECT hit_id, max_assignments FROM raw.hits ORDER BY hit_id")[:3] == [
        (first, 5), (second, 4), (sorted(rowids)[2], 3)]


@pytest.mark.parametrize("answer", ["n", "y"])
def test_extend_on_a_terminal_asks_before_spending_and_only_then_shows_its_progress_bar(
        warehouse, server, planned, monkeypatch, answer):
    # The bar was drawn before the question: on a terminal, "spend $0.10 of real money ...? [y/N]"
    # came at the end of a 0% bar, with the cursor hidden while the user typed the answer.
    from click.testing import CliRunner

    from etl.cli import cli
    from etl.cli.base import Settings

    publish(warehouse, server, planned.batch_id)
    live = dataclasses.replace(target_for(endpoint_url=server.url), name="live", live=True)
    monkeypatch.setattr("etl.cli.hits._batch_platform", lambda *_: MTurkPlatform(live))
    monkeypatch.setattr(Settings, "show_progress", property(lambda _: True))  # as on a terminal
    result = CliRunner().invoke(cli, ["--warehouse", str(warehouse), "hits", "extend", "--assignments", "1",
                                      "--budget", "1"], input=f"{answer}\n")
    lines = result.output.splitlines()
    question = next(n for n, line in enumerate(lines) if "of real money on the live MTurk marketplace?" in line)
    bar = [n for n, line in enumerate(lines) if line == "extend"]  # off a terminal, the bar is its label
    assert bar == ([] if answer == "n" else [question + 1]), result.output
