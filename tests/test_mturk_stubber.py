"""Every request crowdaudit sends to MTurk, checked by botocore's Stubber against the real MTurk
service model (request parameters by the client's validator, responses by the Stubber)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import boto3
import polars as pl
import pytest
from botocore.stub import ANY, Stubber
from conftest import query, results_rows

from etl.crowd.mturk import MTurkPlatform, target_for
from etl.crowd.platform import seed_qualifications
from etl.errors import CrowdauditError
from etl.hits.answers import answer_xml
from etl.hits.manage import batch_progress, expire_batch, extend_batch, plan_extension
from etl.hits.plan import HitDesign, build_hits
from etl.hits.publish import publish_batch
from etl.hits.results import results_from_platform
from etl.load.batch_results import ingest_results, staged_frames
from etl.simulate import write_results_csv
from etl.warehouse import open_warehouse

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TYPE_ID = "3TYPE0000000000000000000000000"


def hit_id(n: int) -> str:
    return f"3HIT{n:026d}"


def hit_response(n: int, *, annotation: str, max_assignments: int = 3) -> dict:
    return {
        "HITId": hit_id(n), "HITTypeId": TYPE_ID, "HITGroupId": "3GROUP", "CreationTime": NOW,
        "Title": "t", "Description": "d", "Question": "<HTMLQuestion/>", "Keywords": "k",
        "HITStatus": "Assignable", "MaxAssignments": max_assignments, "Reward": "0.01",
        "AutoApprovalDelayInSeconds": 259200, "Expiration": NOW + timedelta(days=7),
        "AssignmentDurationInSeconds": 3600, "RequesterAnnotation": annotation,
        "QualificationRequirements": [], "NumberOfAssignmentsPending": 0,
        "NumberOfAssignmentsAvailable": 2, "NumberOfAssignmentsCompleted": 0,
    }


@pytest.fixture
def stubbed():
    client = boto3.client("mturk", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
                          endpoint_url="https://mturk-requester-sandbox.us-east-1.amazonaws.com")
    with Stubber(client) as stubber:
        yield MTurkPlatform(target_for(), client=client), stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def planned(warehouse):
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.images (image_id, load_id) SELECT 'https://img.example/' || i, 1 FROM range(6) t(i)")
        batch = build_hits(con, HitDesign(per_hit=3, gold_per_hit=0), seed=1)
    return batch


def test_publish_sends_valid_balance_list_hit_type_and_create_hit_requests(stubbed, planned, warehouse):
    platform, stubber = stubbed
    stubber.add_response("get_account_balance", {"AvailableBalance": "10000.00"}, {})
    stubber.add_response("list_hits", {"HITs": [], "NumResults": 0}, {"MaxResults": 100})
    stubber.add_response("create_hit_type", {"HITTypeId": TYPE_ID}, {
        "AutoApprovalDelayInSeconds": 259200, "AssignmentDurationInSeconds": 3600, "Reward": "0.01",
        "Title": "Which of these images show a wedding?", "Keywords": "image, classification, wedding",
        "Description": ANY,
        "QualificationRequirements": [
            {"QualificationTypeId": "000000000000000000L0", "Comparator": "GreaterThanOrEqualTo",
             "IntegerValues": [90], "ActionsGuarded": "Accept"},
            {"QualificationTypeId": "00000000000000000040", "Comparator": "GreaterThanOrEqualTo",
             "IntegerValues": [500], "ActionsGuarded": "Accept"},
            {"QualificationTypeId": "00000000000000000071", "Comparator": "EqualTo",
             "LocaleValues": [{"Country": "IN"}], "ActionsGuarded": "Accept"},
        ],
    })
    with open_warehouse(warehouse, read_only=True) as con:
        annotations = [r[0] for r in con.execute("SELECT requester_annotation FROM raw.hits ORDER BY hit_id").fetchall()]
    assert all(a.startswith(f"crowdaudit:local-1-{n:06d}:") for n, a in enumerate(annotations, start=1))
    for n, annotation in enumerate(annotations, start=1):
        stubber.add_response("create_hit_with_hit_type", {"HIT": hit_response(n, annotation=annotation)}, {
            "HITTypeId": TYPE_ID, "MaxAssignments": 3, "LifetimeInSeconds": 7 * 24 * 3600, "Question": ANY,
            "RequesterAnnotation": annotation, "UniqueRequestToken": ANY,
        })
    with open_warehouse(warehouse, read_only=False) as con:
        report = publish_batch(con, platform, batch_id=planned.batch_id, budget=Decimal(1),
                               qualifications=seed_qualifications())
    assert report.created == [hit_id(1), hit_id(2)]


def test_a_repeated_request_token_records_the_hit_mturk_names(stubbed, planned, warehouse):
    """MTurk names the HIT a request token made, one the run's listing did not show: the run's own
    request, retried by boto3 after its reply was lost. The HIT is recorded as created by this run,
    with the times GetHIT gives it."""
    platform, stubber = stubbed
    stubber.add_response("get_account_balance", {"AvailableBalance": "10000.00"}, {})
    stubber.add_response("list_hits", {"HITs": [], "NumResults": 0}, {"MaxResults": 100})
    stubber.add_response("create_hit_type", {"HITTypeId": TYPE_ID}, None)
    stubber.add_client_error("create_hit_with_hit_type", service_error_code="RequestError",
                             service_message=f'The HIT with ID "{hit_id(7)}" already exists. (1700000000000)',
                             http_status_code=400)
    stubber.add_response("get_hit", {"HIT": hit_response(7, annotation="crowdaudit:local-1-000001")},
                         {"HITId": hit_id(7)})
    stubber.add_response("create_hit_with_hit_type",
                         {"HIT": hit_response(8, annotation="crowdaudit:local-1-000002")}, None)
    with open_warehouse(warehouse, read_only=False) as con:
        report = publish_batch(con, platform, batch_id=planned.batch_id, budget=Decimal(1),
                               qualifications=seed_qualifications())
        ids = con.execute("SELECT hit_id, expiration FROM raw.hits ORDER BY hit_id").fetchall()
    assert report.already_existed == [] and report.created == [hit_id(7), hit_id(8)]
    expires = (NOW + timedelta(days=7)).astimezone(UTC).replace(tzinfo=None)
    assert ids == [(hit_id(7), expires), (hit_id(8), expires)]


def test_status_expire_extend_and_results_send_valid_requests(stubbed, planned, warehouse):
    platform, stubber = stubbed
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("UPDATE raw.hits SET status = 'published', hit_id = replace(hit_id, 'local-1-', 'H')")
        con.execute("UPDATE raw.hit_items SET hit_id = replace(hit_id, 'local-1-', 'H')")
        con.execute("INSERT INTO raw.publish_log SELECT hit_id, hit_id, batch_id, 't', 'sandbox', 'tok', "
                    "'created', 0.06, now()::TIMESTAMP FROM raw.hits")
        hit_ids = [r[0] for r in con.execute("SELECT hit_id FROM raw.hits ORDER BY hit_id").fetchall()]
        assignment = {
            "AssignmentId": "3ASSIGN", "WorkerId": "AWORKER", "HITId": hit_ids[0], "AssignmentStatus": "Submitted",
            "AcceptTime": NOW, "SubmitTime": NOW + timedelta(seconds=40), "AutoApprovalTime": NOW + timedelta(days=3),
            "Answer": answer_xml([("selected", "image1|image3")]),
        }
        for hid in hit_ids:
            stubber.add_response("get_hit", {"HIT": hit_response(1, annotation="a") | {"HITId": hid}}, {"HITId": hid})
            stubber.add_response("list_assignments_for_hit", {"Assignments": [assignment | {"HITId": hid}],
                                                              "NumResults": 1}, {"HITId": hid, "MaxResults": 100})
        assert batch_progress(con, platform, planned.batch_id).submitted == 2
        for hid in hit_ids:
            stubber.add_response("get_hit", {"HIT": hit_response(1, annotation="a") | {"HITId": hid}}, {"HITId": hid})
            stubber.add_response("list_assignments_for_hit", {"Assignments": [assignment | {"HITId": hid}],
                                                              "NumResults": 1}, {"HITId": hid, "MaxResults": 100})
        results = results_from_platform(con, platform, planned.batch_id)
        assert results["Answer.selected"].to_list() == ["image1|image3", "image1|image3"]
        plan = plan_extension(con, planned.batch_id, extra=2, from_needs_more_votes=False)
        stubber.add_response("get_account_balance", {"AvailableBalance": "10000.00"}, {})
        for hid in hit_ids:
            stubber.add_response("create_additional_assignments_for_hit", {},
                                 {"HITId": hid, "NumberOfAdditionalAssignments": 2, "UniqueRequestToken": ANY})
        assert extend_batch(con, platform, plan, budget=Decimal(1)) == 4
        for hid in hit_ids:
            stubber.add_response("update_expiration_for_hit", {}, {"HITId": hid, "ExpireAt": ANY})
        assert expire_batch(con, platform, planned.batch_id) == 2


def first_hit_published(con, stubber) -> str:
    """Mark the planned batch published and stub GetHIT for its first HIT; return that HIT's id."""
    con.execute("UPDATE raw.hits SET status = 'published'")
    first_hit = con.execute("SELECT min(hit_id) FROM raw.hits").fetchall()[0][0]
    stubber.add_response("get_hit", {"HIT": hit_response(1, annotation="a") | {"HITId": first_hit}},
                         {"HITId": first_hit})
    return first_hit


@pytest.mark.parametrize(("answer", "problem"), [
    (answer_xml([("taskAnswers", '[{"image1": {"on": tru')]), "taskAnswers is not JSON"),
    ("", "the answer is not QuestionFormAnswers XML"),
    ("<QuestionFormAnswers><Answer>", "the answer is not QuestionFormAnswers XML"),
    ("not xml", "the answer is not QuestionFormAnswers XML"),
    # Another form's fields: reading them as nothing ticked would invent a "no" on every image.
    (answer_xml([("answer", "yes")]), r"the answer holds no field crowdaudit reads .*: it holds answer \("),
    (answer_xml([("choice", "image2"), ("comment", "ok"), ("choice", "image5")]),
     r"the answer holds no field crowdaudit reads .*: it holds choice, comment \("),
    (answer_xml([]), r"the answer holds no field crowdaudit reads .*: it holds none \("),
])
def test_an_api_answer_that_cannot_be_read_names_its_hit_and_assignment(stubbed, planned, warehouse, answer,
                                                                        problem):
    platform, stubber = stubbed
    with open_warehouse(warehouse, read_only=False) as con:
        first_hit = first_hit_published(con, stubber)
        stubber.add_response("list_assignments_for_hit", {"Assignments": [{
            "AssignmentId": "3BROKEN", "WorkerId": "AWORKER", "HITId": first_hit, "AssignmentStatus": "Submitted",
            "Answer": answer,
        }], "NumResults": 1}, {"HITId": first_hit, "MaxResults": 100})
        with pytest.raises(CrowdauditError, match=f"HIT {first_hit}, assignment 3BROKEN: {problem}"):
            results_from_platform(con, platform, planned.batch_id)


def test_api_answers_keep_their_other_fields_where_ingest_keeps_a_site_files(stubbed, planned, warehouse, tmp_path):
    # A site file's Answer.* columns that are not Answer.selected land in raw.assignments.extra;
    # so must the same fields of an API answer (a crowd-form's document, per-slot flags, a comment).
    platform, stubber = stubbed
    task_answers = '[{"comments":"blurry","image1":{"on":true},"image2":{"on":false},"image3":{"on":true}}]'
    answers = [answer_xml([("taskAnswers", task_answers)]),
               answer_xml([("image2.on", "true"), ("image3.on", "false"), ("comment", "two is a wedding")])]
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("UPDATE raw.hits SET status = 'published'")
        hit_ids = [r[0] for r in con.execute("SELECT hit_id FROM raw.hits ORDER BY hit_id").fetchall()]
        for n, (hid, answer) in enumerate(zip(hit_ids, answers, strict=True)):
            stubber.add_response("get_hit", {"HIT": hit_response(1, annotation="a") | {"HITId": hid}}, {"HITId": hid})
            stubber.add_response("list_assignments_for_hit", {"Assignments": [{
                "AssignmentId": f"3A{n}", "WorkerId": f"AW{n}", "HITId": hid, "AssignmentStatus": "Submitted",
                "AcceptTime": NOW, "SubmitTime": NOW + timedelta(seconds=40), "Answer": answer,
            }], "NumResults": 1}, {"HITId": hid, "MaxResults": 100})
        results = results_from_platform(con, platform, planned.batch_id)
        assert results["Answer.selected"].to_list() == ["image1|image3", "image2"]
        ingest_results(con, write_results_csv(results, tmp_path / "from_api.csv"))
        extra = {a: json.loads(e) for a, e in con.execute("SELECT assignment_id, extra FROM raw.assignments").fetchall()}
    assert extra["3A0"]["Answer.taskAnswers"] == task_answers
    assert (extra["3A1"]["Answer.image2.on"], extra["3A1"]["Answer.comment"]) == ("true", "two is a wedding")


def test_a_batch_fetched_through_the_api_loads_as_its_site_download_does_and_counts_each_vote_once(
        stubbed, planned, warehouse, run_cli, tmp_path):
    # boto3 gives aware datetimes in the machine's zone (here India's); the site writes Pacific time,
    # PST in winter and PDT in summer. Both must land as the same UTC instants, with the same answers.
    platform, stubber = stubbed
    india = timezone(timedelta(hours=5, minutes=30))
    winter, summer = datetime(2019, 2, 21, 1, 34, 42, tzinfo=india), datetime(2019, 7, 7, 21, 30, 1, tzinfo=india)
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("UPDATE raw.hits SET status = 'published'")
        shown = dict(con.execute("SELECT hit_id, list(image_id ORDER BY slot) FROM raw.hit_items GROUP BY hit_id "
                                 "ORDER BY hit_id").fetchall())
    first, second = shown
    api = {first: [
        {"AssignmentId": "3A1", "WorkerId": "W1", "HITId": first, "AssignmentStatus": "Approved",
         "AcceptTime": winter, "SubmitTime": winter + timedelta(seconds=100),
         "AutoApprovalTime": winter + timedelta(days=3), "ApprovalTime": winter + timedelta(hours=22, minutes=26),
         "Answer": answer_xml([("selected", "image3|image1")])},
        {"AssignmentId": "3A2", "WorkerId": "W2", "HITId": first, "AssignmentStatus": "Submitted",
         "AcceptTime": summer, "SubmitTime": summer + timedelta(seconds=40),
         "AutoApprovalTime": summer + timedelta(days=3), "Answer": answer_xml([("selected", "none_of_the_above")])},
    ], second: [
        {"AssignmentId": "3A3", "WorkerId": "W1", "HITId": second, "AssignmentStatus": "Submitted",
         "AcceptTime": summer, "SubmitTime": summer + timedelta(seconds=40),
         "AutoApprovalTime": summer + timedelta(days=3), "Answer": answer_xml([("selected", "image2")])},
    ]}
    site = results_rows(shown, [
        {"AssignmentId": "3A1", "HITId": first, "WorkerId": "W1", "selected": "image3|image1", "status": "Approved"},
        {"AssignmentId": "3A2", "HITId": first, "WorkerId": "W2", "selected": "none_of_the_above"},
        {"AssignmentId": "3A3", "HITId": second, "WorkerId": "W1", "selected": "image2"},
    ]).with_columns(
        pl.Series("AcceptTime", ["Wed Feb 20 12:04:42 PST 2019", *["Sun Jul 07 09:00:01 PDT 2019"] * 2]),
        pl.Series("SubmitTime", ["Wed Feb 20 12:06:22 PST 2019", *["Sun Jul 07 09:00:41 PDT 2019"] * 2]),
        pl.Series("AutoApprovalTime", ["Sat Feb 23 12:04:42 PST 2019", *["Wed Jul 10 09:00:01 PDT 2019"] * 2]),
        pl.Series("ApprovalTime", ["Thu Feb 21 10:30:42 PST 2019", "", ""]),
        pl.Series("WorkTimeInSeconds", ["100", "40", "40"]),
    )
    site_file = write_results_csv(site, tmp_path / "Batch_3512345_batch_results.csv")
    for fetch in (1, 2):
        for hid, assignments in api.items():
            stubber.add_response("get_hit", {"HIT": hit_response(1, annotation="a") | {"HITId": hid}}, {"HITId": hid})
            stubber.add_response("list_assignments_for_hit", {"Assignments": assignments, "NumResults": 1},
                                 {"HITId": hid, "MaxResults": 100})
        with open_warehouse(warehouse, read_only=False) as con:
            api_file = write_results_csv(results_from_platform(con, platform, planned.batch_id),
                                         tmp_path / f"fetch{fetch}" / f"Batch_{planned.batch_id}_results.csv")
            ingest_results(con, api_file)

    def loaded(path):
        return staged_frames(path)[2].drop("answer_selected", "extra", "source_row", "lifetime_approval_rate",
                                           "last30_days_approval_rate", "last7_days_approval_rate"
                                           ).sort("assignment_id")

    assert loaded(api_file).to_dicts() == loaded(site_file).to_dicts()
    assert loaded(api_file)["accept_time"].to_list() == [datetime(2019, 2, 20, 20, 4, 42),
                                                        *[datetime(2019, 7, 7, 16, 0, 1)] * 2]
    run_cli("build")
    votes = query(warehouse, "SELECT * FROM votes ORDER BY ALL")
    assert "3 rows, all already in the warehouse; nothing changed" in run_cli("ingest", str(site_file)).output
    run_cli("build")
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(3,)]
    assert query(warehouse, "SELECT * FROM votes ORDER BY ALL") == votes and len(votes) == 9


def test_an_api_answer_of_several_shapes_is_read_as_ingest_reads_the_sites_download_of_it(
        stubbed, planned, warehouse, tmp_path):
    # A form posting `selected` beside image<N> checkboxes, or a crowd-form's taskAnswers beside
    # them: ingest reads the site's file by Answer.selected, else Answer.taskAnswers, else the
    # per-slot columns. The API's answer must give the same votes, not the union of the shapes
    # (which made the site's download of the batch clash with what the API path had loaded).
    platform, stubber = stubbed
    answers = [[("selected", "image1"), ("image2", "on"), ("image3.on", "true")],
               [("taskAnswers", '[{"image3":{"on":true}}]'), ("image2", "on")]]
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("UPDATE raw.hits SET status = 'published'")
        shown = dict(con.execute("SELECT hit_id, list(image_id ORDER BY slot) FROM raw.hit_items GROUP BY hit_id "
                                 "ORDER BY hit_id").fetchall())
        for n, (hid, fields) in enumerate(zip(shown, answers, strict=True)):
            stubber.add_response("get_hit", {"HIT": hit_response(1, annotation="a") | {"HITId": hid}}, {"HITId": hid})
            stubber.add_response("list_assignments_for_hit", {"Assignments": [{
                "AssignmentId": f"3A{n}", "WorkerId": f"AW{n}", "HITId": hid, "AssignmentStatus": "Submitted",
                "AcceptTime": NOW, "SubmitTime": NOW + timedelta(seconds=40), "Answer": answer_xml(fields),
            }], "NumResults": 1}, {"HITId": hid, "MaxResults": 100})
        results = results_from_platform(con, platform, planned.batch_id)
    api_slots = staged_frames(write_results_csv(results, tmp_path / "api.csv"))[2]["selected_slots"].to_list()
    site_slots = []
    for n, (hid, fields) in enumerate(zip(shown, answers, strict=True)):
        site = results_rows(shown, [{"AssignmentId": f"3A{n}", "HITId": hid, "WorkerId": f"AW{n}", "selected": ""}])
        site = site.drop("Answer.selected").with_columns(pl.lit(v).alias(f"Answer.{k}") for k, v in fields)
        site_slots += staged_frames(write_results_csv(site, tmp_path / f"site{n}.csv"))[2]["selected_slots"].to_list()
    assert api_slots == site_slots == [[1], [3]]


def test_a_platform_error_while_fetching_answers_names_the_hit(stubbed, planned, warehouse):
    platform, stubber = stubbed
    with open_warehouse(warehouse, read_only=False) as con:
        first_hit = first_hit_published(con, stubber)
        stubber.add_client_error("list_assignments_for_hit", "ServiceFault", "Rate exceeded", http_status_code=503)
        with pytest.raises(CrowdauditError, match=f"HIT {first_hit}: .*Rate exceeded.*no results file was written"):
            results_from_platform(con, platform, planned.batch_id)


def test_a_connection_lost_while_creating_a_hit_is_an_error_naming_it_not_a_traceback():
    from botocore.config import Config

    from etl.crowd.platform import PlatformError

    target = target_for(endpoint_url="http://127.0.0.1:9")  # nothing listens on the discard port
    client = boto3.client("mturk", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
                          endpoint_url=target.endpoint_url, config=Config(retries={"max_attempts": 0}))
    with pytest.raises(PlatformError, match="crowdaudit:batch-1:hit-1.*run the same publish again"):
        MTurkPlatform(target, client=client).create_hit(
            hit_type_id=TYPE_ID, question="<HTMLQuestion/>", max_assignments=3, lifetime_in_seconds=3600,
            requester_annotation="crowdaudit:batch-1:hit-1", unique_request_token="ca-1")


@pytest.mark.parametrize(("target", "env", "said"), [
    (["--live"], {"AWS_PROFILE": "no-such-profile"}, "live: The config profile (no-such-profile) could not be found"),
    (["--endpoint-url", "127.0.0.1:8765"], {},
     "127.0.0.1:8765: Invalid endpoint: 127.0.0.1:8765: an endpoint URL starts with http:// or https://"),
])
def test_a_client_boto3_cannot_make_is_an_error_naming_the_target_not_a_traceback(run_cli, planned, warehouse,
                                                                                  monkeypatch, tmp_path, target, env,
                                                                                  said):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("UPDATE raw.hits SET status = 'published'")
    for command in (["hits", "results", "--output", str(tmp_path / "answers.csv")], ["hits", "status"]):
        result = run_cli(*command, *target, expect=1)
        assert f"Error: {said}" in result.output
    assert not (tmp_path / "answers.csv").exists()


def test_review_and_worker_operations_send_valid_requests(stubbed):
    platform, stubber = stubbed
    stubber.add_response("approve_assignment", {}, {"AssignmentId": "3A", "RequesterFeedback": "thanks"})
    stubber.add_response("reject_assignment", {}, {"AssignmentId": "3B", "RequesterFeedback": "random answers"})
    stubber.add_response("create_worker_block", {}, {"WorkerId": "AW", "Reason": "failed gold"})
    stubber.add_response("notify_workers", {"NotifyWorkersFailureStatuses": []},
                         {"WorkerIds": ["AW"], "Subject": "s", "MessageText": "m"})
    platform.approve_assignment("3A", "thanks")
    platform.reject_assignment("3B", "random answers")
    platform.block_worker("AW", "failed gold")
    platform.notify_workers(["AW"], "s", "m")


@pytest.mark.parametrize(("code", "message", "gone"), [
    ("RequestError", f"Hit {hit_id(1)} does not exist. (1772366400000)", True),
    ("ServiceFault", "Rate exceeded", False),
    ("ThrottlingException", "Rate exceeded", False),
])
def test_only_mturks_answer_that_a_hit_does_not_exist_reads_as_the_hit_being_gone(stubbed, code, message, gone):
    """A resumed extension abandons a HIT the platform no longer has: a throttle is not that."""
    from etl.crowd.platform import PlatformError, is_no_such_hit

    platform, stubber = stubbed
    stubber.add_client_error("get_hit", code, message, expected_params={"HITId": hit_id(1)})
    with pytest.raises(PlatformError) as raised:
        platform.get_hit(hit_id(1))
    assert is_no_such_hit(raised.value) is gone
