"""Mechanical Turk through boto3: the sandbox, live, or any MTurk-compatible endpoint URL.

Credentials come from boto3's usual chain (environment, ~/.aws, instance role); crowdaudit never
reads or prints them. A loopback endpoint (`crowdaudit mturk-local`) needs none, so the client gets
placeholder keys there and only there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlparse

from etl.crowd.platform import (
    AssignmentInfo,
    CreatedHit,
    CrowdTarget,
    HitInfo,
    HitTypeSpec,
    PlatformError,
    Qualification,
)
from etl.errors import CrowdauditError, crowdaudit_command
from etl.hits.pricing import MTURK_FEES, is_whole_cents

REGION = "us-east-1"
SANDBOX_ENDPOINT = "https://mturk-requester-sandbox.us-east-1.amazonaws.com"
LIVE_ENDPOINT = "https://mturk-requester.us-east-1.amazonaws.com"
SANDBOX_SUBMIT = "https://workersandbox.mturk.com/mturk/externalSubmit"
LIVE_SUBMIT = "https://www.mturk.com/mturk/externalSubmit"
HIT_ALREADY_EXISTS = "AWS.MechanicalTurk.HitAlreadyExists"
HIT_ID = re.compile(r"\b[A-Z0-9]{30}\b")
PAGE_SIZE = 100


def target_for(*, live: bool = False, endpoint_url: str | None = None) -> CrowdTarget:
    """sandbox (the default), live, or an explicit endpoint (named by its URL in the warehouse).

    An endpoint URL that is MTurk's own (the live marketplace's or the sandbox's host) is that
    target, so real money is asked about before it is spent however the target was named, and a
    batch published with --live is followed when a re-run names the same host by URL."""
    if endpoint_url:
        # DNS's trailing dot names the same host: the live marketplace by any spelling asks first.
        host = (urlparse(endpoint_url).hostname or "").rstrip(".")
        if host == urlparse(LIVE_ENDPOINT).hostname:
            return CrowdTarget("live", LIVE_ENDPOINT, live=True)
        if host == urlparse(SANDBOX_ENDPOINT).hostname:
            return CrowdTarget("sandbox", SANDBOX_ENDPOINT, live=False)
        return CrowdTarget(endpoint_url, endpoint_url, live=False)
    if live:
        return CrowdTarget("live", LIVE_ENDPOINT, live=True)
    return CrowdTarget("sandbox", SANDBOX_ENDPOINT, live=False)


def is_loopback(url: str | None) -> bool:
    return bool(url) and urlparse(url).hostname in ("127.0.0.1", "localhost", "::1")


def mturk_client(target: CrowdTarget):
    """A boto3 MTurk client for the target, in us-east-1 (MTurk's only region).

    boto3 refuses some setups when the client is made, before any call: an AWS_PROFILE that no
    config file names, a broken ~/.aws/config, an endpoint given without its scheme
    (`127.0.0.1:8765`). Those are the user's to fix, so they are said, not raised as tracebacks."""
    import boto3
    from botocore.exceptions import BotoCoreError

    kwargs: dict = {"region_name": REGION, "endpoint_url": target.endpoint_url}
    if is_loopback(target.endpoint_url):
        kwargs.update(aws_access_key_id="mturk-local", aws_secret_access_key="mturk-local")
    try:
        return boto3.client("mturk", **kwargs)
    except ValueError as error:  # botocore's "Invalid endpoint: 127.0.0.1:8765"
        raise PlatformError(f"{target.name}: {error}: an endpoint URL starts with http:// or https://, "
                            "e.g. http://127.0.0.1:8765") from None
    except BotoCoreError as error:
        raise PlatformError(f"{target.name}: {error}") from None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def qualification_payload(qual: Qualification) -> dict:
    payload: dict = {"QualificationTypeId": qual.type_id, "Comparator": qual.comparator,
                     "ActionsGuarded": "Accept"}
    if qual.integer_values:
        payload["IntegerValues"] = list(qual.integer_values)
    if qual.locale_values:
        payload["LocaleValues"] = [{"Country": c} for c in qual.locale_values]
    return payload


def qualification_from_payload(payload: dict) -> Qualification:
    return Qualification(
        payload["QualificationTypeId"], payload["Comparator"], tuple(payload.get("IntegerValues", ())),
        tuple(v["Country"] for v in payload.get("LocaleValues", ())),
    )


def hit_type_payload(spec: HitTypeSpec) -> dict:
    # A batch planned before rewards had to be whole cents could hold $0.015: sending "0.02"
    # would pay more than was priced.
    if not is_whole_cents(spec.reward):
        raise CrowdauditError(f"the batch's reward ${spec.reward} is not a whole number of cents: MTurk would "
                              f"round it; plan the batch again with `{crowdaudit_command('hits build --reward')}`")
    return {
        "AutoApprovalDelayInSeconds": spec.auto_approval_delay_in_seconds,
        "AssignmentDurationInSeconds": spec.assignment_duration_in_seconds,
        "Reward": f"{spec.reward:.2f}",
        "Title": spec.title,
        "Keywords": spec.keywords,
        "Description": spec.description,
        "QualificationRequirements": [qualification_payload(q) for q in spec.qualifications],
    }


def hit_from_payload(hit: dict) -> HitInfo:
    return HitInfo(
        hit_id=hit["HITId"], hit_type_id=hit.get("HITTypeId", ""), title=hit.get("Title", ""),
        description=hit.get("Description", ""), keywords=hit.get("Keywords", ""),
        reward=Decimal(hit.get("Reward", "0")), creation_time=_utc(hit.get("CreationTime")),
        expiration=_utc(hit.get("Expiration")), max_assignments=hit.get("MaxAssignments", 0),
        status=hit.get("HITStatus", ""), requester_annotation=hit.get("RequesterAnnotation"),
        question=hit.get("Question", ""),
        assignment_duration_in_seconds=hit.get("AssignmentDurationInSeconds", 0),
        auto_approval_delay_in_seconds=hit.get("AutoApprovalDelayInSeconds", 0),
        qualifications=tuple(qualification_from_payload(q) for q in hit.get("QualificationRequirements", ())),
        pending=hit.get("NumberOfAssignmentsPending", 0), available=hit.get("NumberOfAssignmentsAvailable", 0),
        completed=hit.get("NumberOfAssignmentsCompleted", 0),
    )


def assignment_from_payload(a: dict) -> AssignmentInfo:
    return AssignmentInfo(
        assignment_id=a["AssignmentId"], worker_id=a["WorkerId"], hit_id=a["HITId"],
        status=a["AssignmentStatus"], accept_time=_utc(a.get("AcceptTime")), submit_time=_utc(a.get("SubmitTime")),
        auto_approval_time=_utc(a.get("AutoApprovalTime")), approval_time=_utc(a.get("ApprovalTime")),
        rejection_time=_utc(a.get("RejectionTime")), answer=a.get("Answer", ""),
        requester_feedback=a.get("RequesterFeedback"),
    )


def existing_hit_id(error) -> str | None:
    """The HIT a repeated UniqueRequestToken names, or None when the error is something else."""
    info = error.response.get("Error", {})
    message = info.get("Message", "")
    turk_code = error.response.get("TurkErrorCode") or info.get("TurkErrorCode")
    if turk_code != HIT_ALREADY_EXISTS and "already exists" not in message.lower():
        return None
    found = HIT_ID.search(message)
    return found.group(0) if found else None


class MTurkPlatform:
    """CrowdPlatform over a boto3 MTurk client (the real service, the sandbox or mturk-local)."""

    fees = MTURK_FEES

    def __init__(self, target: CrowdTarget, client=None):
        self.target = target
        self.client = client if client is not None else mturk_client(target)
        self.submit_url = LIVE_SUBMIT if target.live else SANDBOX_SUBMIT

    def _call(self, operation: str, **params):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(**params)
        except ClientError as error:
            info = error.response.get("Error", {})
            raise PlatformError(
                f"{self.target.name}: {info.get('Code', 'error')} from {error.operation_name}: "
                f"{info.get('Message', error)}"
            ) from error
        except BotoCoreError as error:
            raise PlatformError(f"{self.target.name}: {error}") from error

    def account_balance(self) -> Decimal:
        return Decimal(self._call("get_account_balance")["AvailableBalance"])

    def create_hit_type(self, spec: HitTypeSpec) -> str:
        return self._call("create_hit_type", **hit_type_payload(spec))["HITTypeId"]

    def create_hit(
        self, *, hit_type_id: str, question: str, max_assignments: int, lifetime_in_seconds: int,
        requester_annotation: str, unique_request_token: str,
    ) -> CreatedHit:
        """Create one HIT; a token MTurk has seen answers with the existing HIT, never a second one."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            hit = self.client.create_hit_with_hit_type(
                HITTypeId=hit_type_id, MaxAssignments=max_assignments, LifetimeInSeconds=lifetime_in_seconds,
                Question=question, RequesterAnnotation=requester_annotation,
                UniqueRequestToken=unique_request_token,
            )["HIT"]
        except ClientError as error:
            hit_id = existing_hit_id(error)
            if hit_id is None:
                if "already exists" in error.response.get("Error", {}).get("Message", "").lower():
                    hit_id = self._find_by_annotation(requester_annotation)
                if hit_id is None:
                    info = error.response.get("Error", {})
                    raise PlatformError(
                        f"{self.target.name}: {info.get('Code')} from CreateHITWithHITType: {info.get('Message')}"
                    ) from error
            return CreatedHit(hit_id, hit_type_id, already_existed=True)
        except BotoCoreError as error:
            # Whether MTurk created it is unknown: a re-run sends the same token and finds out.
            raise PlatformError(f"{self.target.name}: {error} (CreateHITWithHITType, {requester_annotation}); "
                                "run the same publish again: this HIT's request token stops it being created twice"
                                ) from error
        return CreatedHit(hit["HITId"], hit["HITTypeId"], already_existed=False,
                          creation_time=_utc(hit.get("CreationTime")), expiration=_utc(hit.get("Expiration")))

    def _find_by_annotation(self, annotation: str) -> str | None:
        return next((h.hit_id for h in self.list_hits() if h.requester_annotation == annotation), None)

    def get_hit(self, hit_id: str) -> HitInfo:
        return hit_from_payload(self._call("get_hit", HITId=hit_id)["HIT"])

    def list_hits(self) -> Iterator[HitInfo]:
        params: dict = {"MaxResults": PAGE_SIZE}
        while True:
            page = self._call("list_hits", **params)
            yield from (hit_from_payload(h) for h in page.get("HITs", []))
            if not page.get("NextToken") or not page.get("HITs"):
                return
            params["NextToken"] = page["NextToken"]

    def list_assignments(self, hit_id: str, statuses: Sequence[str] | None = None) -> Iterator[AssignmentInfo]:
        params: dict = {"HITId": hit_id, "MaxResults": PAGE_SIZE}
        if statuses:
            params["AssignmentStatuses"] = list(statuses)
        while True:
            page = self._call("list_assignments_for_hit", **params)
            yield from (assignment_from_payload(a) for a in page.get("Assignments", []))
            if not page.get("NextToken") or not page.get("Assignments"):
                return
            params["NextToken"] = page["NextToken"]

    def approve_assignment(self, assignment_id: str, feedback: str | None = None) -> None:
        params = {"AssignmentId": assignment_id}
        if feedback:
            params["RequesterFeedback"] = feedback
        self._call("approve_assignment", **params)

    def reject_assignment(self, assignment_id: str, feedback: str) -> None:
        self._call("reject_assignment", AssignmentId=assignment_id, RequesterFeedback=feedback)

    def add_assignments(self, hit_id: str, count: int, unique_request_token: str) -> None:
        self._call("create_additional_assignments_for_hit", HITId=hit_id, NumberOfAdditionalAssignments=count,
                   UniqueRequestToken=unique_request_token)

    def set_expiration(self, hit_id: str, expire_at: datetime) -> None:
        self._call("update_expiration_for_hit", HITId=hit_id,
                   ExpireAt=expire_at if expire_at.tzinfo else expire_at.replace(tzinfo=UTC))

    def block_worker(self, worker_id: str, reason: str) -> None:
        self._call("create_worker_block", WorkerId=worker_id, Reason=reason)

    def notify_workers(self, worker_ids: Sequence[str], subject: str, message: str) -> None:
        self._call("notify_workers", WorkerIds=list(worker_ids), Subject=subject, MessageText=message)
