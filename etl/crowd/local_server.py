"""`crowdaudit mturk-local`: an MTurk-compatible endpoint on 127.0.0.1 with simulated workers.

It speaks MTurk's JSON protocol (POST /, `X-Amz-Target: MTurkRequesterServiceV20170117.<Op>`), so
boto3 talks to it with `endpoint_url` exactly as to the sandbox, and it behaves like MTurk where
crowdaudit depends on it: every request is validated against botocore's MTurk service model; a
repeated UniqueRequestToken is refused with an error naming the existing HIT; an assignment can
only be approved or rejected from a state MTurk allows (else RequestError); answers come back as
QuestionFormAnswers XML; creating a HIT takes its price (the same pricing function `publish` uses)
from the account balance. Workers (`local_workers.SimulatedCrowd`) answer a HIT as soon as it is
created or given more assignments. State lives in memory for the life of the server.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import numpy as np

from etl.crowd.local_workers import SimulatedCrowd
from etl.hits.answers import NONE_OF_THE_ABOVE, answer_xml
from etl.hits.pricing import price_hits
from etl.hits.template import MAX_QUESTION_BYTES
from etl.simulate import mturk_ids

TARGET_PREFIX = "MTurkRequesterServiceV20170117."
HIT_ALREADY_EXISTS = "AWS.MechanicalTurk.HitAlreadyExists"
DEFAULT_BALANCE = Decimal("10000.00")  # what the real sandbox reports


class LocalRequestError(Exception):
    """An MTurk error response: `code` is RequestError or ServiceFault, as MTurk's model names them."""

    def __init__(self, message: str, *, code: str = "RequestError", turk_code: str | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.turk_code = turk_code
        self.status = status


def _now() -> float:
    return time.time()


def _stamp() -> int:
    """The millisecond stamp MTurk puts at the end of its error messages."""
    return int(time.time() * 1000)


@dataclass
class LocalHit:
    hit_id: str
    hit_type_id: str
    question: str
    max_assignments: int
    creation_time: float
    expiration: float
    annotation: str | None
    assignment_ids: list[str] = field(default_factory=list)


class LocalTurk:
    """MTurk's requester API as plain methods over in-memory state (thread-safe)."""

    def __init__(
        self, crowd: SimulatedCrowd | None = None, *, balance: Decimal = DEFAULT_BALANCE, seed: int = 0,
        auto_answer: bool = True,
    ):
        import botocore.session

        self.model = botocore.session.get_session().get_service_model("mturk")
        self.crowd = crowd if crowd is not None else SimulatedCrowd()
        self.balance = balance
        self.auto_answer = auto_answer
        self.rng = np.random.default_rng([seed, 20])
        self.lock = threading.RLock()
        self.hit_types: dict[str, dict] = {}
        self.hits: dict[str, LocalHit] = {}
        self.hit_tokens: dict[str, str] = {}
        self.extend_tokens: set[str] = set()
        self.assignments: dict[str, dict] = {}
        self.blocked: dict[str, str] = {}
        self.notifications: list[dict] = []
        self.calls: list[str] = []

    # -- dispatch -------------------------------------------------------------------------------
    def handle(self, operation: str, params: dict) -> dict:
        from botocore.validate import ParamValidator

        try:
            op_model = self.model.operation_model(operation)
        except Exception as error:
            raise LocalRequestError(f"Unknown operation {operation}", code="UnknownOperationException") from error
        report = ParamValidator().validate(params, op_model.input_shape)
        if report.has_errors():
            raise LocalRequestError(report.generate_report(), code="ValidationException")
        beyond = _beyond_model(params, op_model.input_shape)
        if beyond:
            raise LocalRequestError(beyond, code="ValidationException")
        method = getattr(self, "op_" + operation, None)
        if method is None:
            raise LocalRequestError(f"mturk-local does not implement {operation}", code="ServiceFault", status=500)
        with self.lock:
            self.calls.append(operation)
            return method(params)

    # -- helpers --------------------------------------------------------------------------------
    def _new_id(self, first: str = "3") -> str:
        return str(mturk_ids(self.rng, 1, 30, first)[0])

    def _hit(self, hit_id: str) -> LocalHit:
        if hit_id not in self.hits:
            raise LocalRequestError(f"Hit {hit_id} does not exist. ({_stamp()})")
        return self.hits[hit_id]

    def _hit_payload(self, hit: LocalHit) -> dict:
        hit_type = self.hit_types[hit.hit_type_id]
        done = [self.assignments[a] for a in hit.assignment_ids]
        available = max(0, hit.max_assignments - len(done))
        expired = hit.expiration <= _now()
        status = "Assignable" if available and not expired else ("Reviewable" if done else "Unassignable")
        payload = {
            "HITId": hit.hit_id, "HITTypeId": hit.hit_type_id, "HITGroupId": hit.hit_type_id,
            "CreationTime": hit.creation_time, "Title": hit_type["Title"], "Description": hit_type["Description"],
            "Question": hit.question, "Keywords": hit_type.get("Keywords", ""), "HITStatus": status,
            "MaxAssignments": hit.max_assignments, "Reward": hit_type["Reward"],
            "AutoApprovalDelayInSeconds": hit_type.get("AutoApprovalDelayInSeconds", 2592000),
            "Expiration": hit.expiration,
            "AssignmentDurationInSeconds": hit_type["AssignmentDurationInSeconds"],
            "QualificationRequirements": hit_type.get("QualificationRequirements", []),
            "HITReviewStatus": "NotReviewed", "NumberOfAssignmentsPending": 0,
            "NumberOfAssignmentsAvailable": 0 if expired else available,
            "NumberOfAssignmentsCompleted": sum(a["AssignmentStatus"] != "Submitted" for a in done),
        }
        if hit.annotation is not None:
            payload["RequesterAnnotation"] = hit.annotation
        return payload

    def _charge(self, hit_type: dict, assignments: int, total_assignments: int) -> None:
        """Take the price of `assignments` more assignments, fee rate set by the HIT's total."""
        per_assignment = price_hits(1, assignments=total_assignments, reward=hit_type["Reward"]).per_assignment
        cost = per_assignment * assignments
        if cost > self.balance:
            raise LocalRequestError(
                f"You do not have enough funds to create this HIT: it costs ${cost:.2f}, "
                f"your balance is ${self.balance:.2f}. ({_stamp()})"
            )
        self.balance -= cost

    def _work(self, hit: LocalHit) -> None:
        """Simulated workers take every open assignment of the HIT."""
        if not self.auto_answer or hit.expiration <= _now():
            return
        open_slots = hit.max_assignments - len(hit.assignment_ids)
        answered = [self.assignments[a]["WorkerId"] for a in hit.assignment_ids]
        hit_type = self.hit_types[hit.hit_type_id]
        for answer in self.crowd.answer(hit.hit_id, hit.question, open_slots, exclude=answered):
            if answer.worker_id in self.blocked:
                continue
            submit = _now()
            assignment_id = self._new_id()
            self.assignments[assignment_id] = {
                "AssignmentId": assignment_id, "WorkerId": answer.worker_id, "HITId": hit.hit_id,
                "AssignmentStatus": "Submitted",
                "AutoApprovalTime": submit + hit_type.get("AutoApprovalDelayInSeconds", 2592000),
                "AcceptTime": submit - answer.work_seconds, "SubmitTime": submit,
                "Deadline": submit - answer.work_seconds + hit_type["AssignmentDurationInSeconds"],
                "Answer": answer_xml([("selected", "|".join(answer.selected) or NONE_OF_THE_ABOVE)]),
            }
            hit.assignment_ids.append(assignment_id)

    @staticmethod
    def _page(items: list, params: dict, key: str) -> dict:
        token = params.get("NextToken") or "0"
        if not token.isdigit():
            raise LocalRequestError(f"The pagination token {token!r} is not valid. ({_stamp()})")
        start = int(token)
        size = params.get("MaxResults", 10)
        page = items[start:start + size]
        result: dict[str, Any] = {key: page, "NumResults": len(page)}
        if start + size < len(items):
            result["NextToken"] = str(start + size)
        return result

    # -- operations -----------------------------------------------------------------------------
    def op_GetAccountBalance(self, params: dict) -> dict:
        return {"AvailableBalance": f"{self.balance:.2f}", "OnHoldBalance": "0.00"}

    def op_CreateHITType(self, params: dict) -> dict:
        # MTurk answers the same properties with the same HIT type.
        key = json.dumps(params, sort_keys=True)
        hit_type_id = "3" + hashlib.sha256(key.encode()).hexdigest().upper()[:29]
        self.hit_types.setdefault(hit_type_id, dict(params))
        return {"HITTypeId": hit_type_id}

    def op_CreateHITWithHITType(self, params: dict) -> dict:
        hit_type = self.hit_types.get(params["HITTypeId"])
        if hit_type is None:
            raise LocalRequestError(f"HITType {params['HITTypeId']} does not exist. ({_stamp()})")
        token = params.get("UniqueRequestToken")
        if token and token in self.hit_tokens:
            existing = self.hit_tokens[token]
            raise LocalRequestError(
                f'The HIT with ID "{existing}" already exists. ({_stamp()})', turk_code=HIT_ALREADY_EXISTS
            )
        question = params.get("Question")
        if not question:
            raise LocalRequestError(f"Either Question or HITLayoutId must be provided. ({_stamp()})")
        if len(question.encode("utf-8")) > MAX_QUESTION_BYTES:
            raise LocalRequestError(f"The Question is larger than {MAX_QUESTION_BYTES} bytes. ({_stamp()})")
        max_assignments = params.get("MaxAssignments", 1)
        if not 1 <= max_assignments <= 1_000_000_000:
            raise LocalRequestError(f"MaxAssignments must be at least 1. ({_stamp()})")
        self._charge(hit_type, max_assignments, max_assignments)
        now = _now()
        hit = LocalHit(self._new_id(), params["HITTypeId"], question, max_assignments, now,
                       now + params["LifetimeInSeconds"], params.get("RequesterAnnotation"))
        self.hits[hit.hit_id] = hit
        if token:
            self.hit_tokens[token] = hit.hit_id
        self._work(hit)
        return {"HIT": self._hit_payload(hit)}

    def op_GetHIT(self, params: dict) -> dict:
        return {"HIT": self._hit_payload(self._hit(params["HITId"]))}

    def op_ListHITs(self, params: dict) -> dict:
        # Only the page's HITs are described: describing all of them for each page of 100 made
        # listing 14,000 HITs take 18 s, and grew with the square of their number.
        hits = sorted(self.hits.values(), key=lambda h: (h.creation_time, h.hit_id))
        page = self._page(hits, params, "HITs")
        return {**page, "HITs": [self._hit_payload(h) for h in page["HITs"]]}

    def op_ListAssignmentsForHIT(self, params: dict) -> dict:
        hit = self._hit(params["HITId"])
        statuses = params.get("AssignmentStatuses")
        found = [self.assignments[a] for a in hit.assignment_ids
                 if not statuses or self.assignments[a]["AssignmentStatus"] in statuses]
        return self._page(found, params, "Assignments")

    def _assignment(self, assignment_id: str) -> dict:
        if assignment_id not in self.assignments:
            raise LocalRequestError(f"Assignment {assignment_id} does not exist. ({_stamp()})")
        return self.assignments[assignment_id]

    def op_ApproveAssignment(self, params: dict) -> dict:
        assignment = self._assignment(params["AssignmentId"])
        allowed = ("Submitted", "Rejected") if params.get("OverrideRejection") else ("Submitted",)
        if assignment["AssignmentStatus"] not in allowed:
            raise LocalRequestError(
                f"This operation can be called with a status of: {', '.join(allowed)} ({_stamp()})"
            )
        assignment.update(AssignmentStatus="Approved", ApprovalTime=_now())
        assignment.pop("RejectionTime", None)
        if params.get("RequesterFeedback"):
            assignment["RequesterFeedback"] = params["RequesterFeedback"]
        return {}

    def op_RejectAssignment(self, params: dict) -> dict:
        assignment = self._assignment(params["AssignmentId"])
        if assignment["AssignmentStatus"] != "Submitted":
            raise LocalRequestError(f"This operation can be called with a status of: Submitted ({_stamp()})")
        assignment.update(AssignmentStatus="Rejected", RejectionTime=_now(),
                          RequesterFeedback=params["RequesterFeedback"])
        return {}

    def op_CreateAdditionalAssignmentsForHIT(self, params: dict) -> dict:
        hit = self._hit(params["HITId"])
        extra = params["NumberOfAdditionalAssignments"]
        token = params.get("UniqueRequestToken")
        if token and token in self.extend_tokens:
            raise LocalRequestError(f'The idempotency token "{token}" has already been processed. ({_stamp()})')
        if extra < 1:
            raise LocalRequestError(f"NumberOfAdditionalAssignments must be at least 1. ({_stamp()})")
        if hit.expiration <= _now():
            raise LocalRequestError(f"HIT {hit.hit_id} has expired: extend its expiration first. ({_stamp()})")
        if hit.max_assignments < 10 <= hit.max_assignments + extra:
            raise LocalRequestError(
                "A HIT created with fewer than 10 assignments cannot be extended to 10 or more. "
                f"({_stamp()})", turk_code="AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease",
            )
        self._charge(self.hit_types[hit.hit_type_id], extra, hit.max_assignments + extra)
        if token:
            self.extend_tokens.add(token)
        hit.max_assignments += extra
        self._work(hit)
        return {}

    def op_UpdateExpirationForHIT(self, params: dict) -> dict:
        hit = self._hit(params["HITId"])
        expire_at = params["ExpireAt"]
        expire_at = expire_at.timestamp() if isinstance(expire_at, datetime) else float(expire_at)
        hit.expiration = expire_at if expire_at > _now() else _now() - 1e-3
        return {}

    def op_CreateWorkerBlock(self, params: dict) -> dict:
        self.blocked[params["WorkerId"]] = params["Reason"]
        return {}

    def op_NotifyWorkers(self, params: dict) -> dict:
        self.notifications.append(dict(params))
        return {"NotifyWorkersFailureStatuses": []}


def _beyond_model(value: Any, shape: Any, name: str = "") -> str | None:
    """What botocore's client-side validator leaves to the service: maximum lengths and values,
    and enums. The first parameter outside them, described, or None."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, member in value.items():
            if key in shape.members:
                problem = _beyond_model(member, shape.members[key], f"{name}.{key}" if name else key)
                if problem:
                    return problem
        return None
    if shape.type_name == "list" and isinstance(value, list):
        return next((p for i, item in enumerate(value) if (p := _beyond_model(item, shape.member, f"{name}[{i}]"))),
                    None)
    limit = shape.metadata.get("max")
    if isinstance(value, str):
        if getattr(shape, "enum", None) and value not in shape.enum:
            return f"Invalid value {value!r} for {name}: one of {', '.join(shape.enum)}"
        if limit is not None and len(value) > limit:
            return f"Invalid length for {name}: {len(value)}, at most {limit}"
    elif isinstance(value, int) and not isinstance(value, bool) and limit is not None and value > limit:
        return f"Invalid value for {name}: {value}, at most {limit}"
    return None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).timestamp()
    raise TypeError(type(value))


class _Handler(BaseHTTPRequestHandler):
    server: LocalTurkServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body, default=_json_default).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", hashlib.sha1(data).hexdigest())
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._reply(200, {"service": "mturk-local", "hits": len(self.server.turk.hits)})

    def do_POST(self) -> None:
        target = self.headers.get("X-Amz-Target", "")
        length = int(self.headers.get("Content-Length") or 0)
        try:
            params = json.loads(self.rfile.read(length) or b"{}")
            if not target.startswith(TARGET_PREFIX):
                raise LocalRequestError(f"unknown target {target!r}", code="UnknownOperationException")
            self._reply(200, self.server.turk.handle(target[len(TARGET_PREFIX):], params))
        except LocalRequestError as error:
            body = {"__type": error.code, "Message": str(error)}
            if error.turk_code:
                body["TurkErrorCode"] = error.turk_code
            self._reply(error.status, body)
        except json.JSONDecodeError as error:
            self._reply(400, {"__type": "SerializationException", "Message": str(error)})
        except Exception as error:  # noqa: BLE001 - as MTurk: a fault boto3 reads, never a dropped connection
            self._reply(500, {"__type": "ServiceFault", "Message": f"{type(error).__name__}: {error} ({_stamp()})"})


class LocalTurkServer(ThreadingHTTPServer):
    """The HTTP side: `with LocalTurkServer(turk) as server: boto3.client(..., endpoint_url=server.url)`."""

    daemon_threads = True

    def __init__(self, turk: LocalTurk, *, port: int = 0, verbose: bool = False):
        super().__init__(("127.0.0.1", port), _Handler)
        self.turk = turk
        self.verbose = verbose
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> LocalTurkServer:
        self._thread = threading.Thread(target=self.serve_forever, name="mturk-local", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def local_turk(truth: Mapping[str, bool] | None = None, *, seed: int = 0, balance: Decimal = DEFAULT_BALANCE,
               auto_answer: bool = True) -> LocalTurk:
    """A LocalTurk whose workers know `truth` (image URL -> is it a wedding)."""
    return LocalTurk(SimulatedCrowd(truth, seed=seed), balance=balance, seed=seed, auto_answer=auto_answer)
