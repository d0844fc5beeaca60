"""The crowd platform as an interface, so HIT building, pricing and ingest never name a vendor.

Mechanical Turk (`etl.crowd.mturk`) is one implementation; another platform (SageMaker Ground
Truth, a local simulator) implements the same Protocol and HIT planning, the cost model and the
results-file writer keep working unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from etl.errors import CrowdauditError
from etl.hits.pricing import MTURK_FEES, FeeSchedule

# MTurk's system qualification types, as the seed sets them in the web site.
APPROVAL_RATE = "000000000000000000L0"
APPROVED_HITS = "00000000000000000040"
LOCALE = "00000000000000000071"
MASTERS = "2F1QJWKUDD8XADTFD2Q0"  # production Masters; the sandbox uses 2ARFPLSP75KLA8M8DH1HTEQVJT3SY6


class PlatformError(CrowdauditError):
    """The platform refused a request; the message is the platform's, with the operation named."""


def is_no_such_hit(error: PlatformError) -> bool:
    """Whether the platform answered that the HIT does not exist (MTurk: a RequestError 'Hit ... does
    not exist.'), as opposed to failing to answer at all."""
    message = str(error)
    return "RequestError" in message and "does not exist" in message


@dataclass(frozen=True)
class Qualification:
    """One worker requirement, in the API's terms (Comparator: GreaterThanOrEqualTo, EqualTo, In ...)."""

    type_id: str
    comparator: str
    integer_values: tuple[int, ...] = ()
    locale_values: tuple[str, ...] = ()  # country codes, e.g. ("IN",)

    def describe(self) -> str:
        names = {APPROVAL_RATE: "approval rate %", APPROVED_HITS: "approved HITs", LOCALE: "locale",
                 MASTERS: "Masters"}
        values = ",".join(map(str, self.integer_values or self.locale_values))
        return f"{names.get(self.type_id, self.type_id)} {self.comparator} {values}".strip()


def seed_qualifications(
    *, min_approval_rate: int = 90, min_approved_hits: int = 500, countries: Sequence[str] = ("IN",)
) -> tuple[Qualification, ...]:
    """The seed's worker requirements: approval rate >= 90%, >= 500 approved HITs, located in India."""
    quals = [
        Qualification(APPROVAL_RATE, "GreaterThanOrEqualTo", (min_approval_rate,)),
        Qualification(APPROVED_HITS, "GreaterThanOrEqualTo", (min_approved_hits,)),
    ]
    if len(countries) == 1:
        quals.append(Qualification(LOCALE, "EqualTo", locale_values=tuple(countries)))
    elif countries:
        quals.append(Qualification(LOCALE, "In", locale_values=tuple(countries)))
    return tuple(quals)


@dataclass(frozen=True)
class HitTypeSpec:
    """What every HIT of a batch shares: shown to workers in the HIT listing."""

    title: str
    description: str
    keywords: str
    reward: Decimal
    assignment_duration_in_seconds: int
    auto_approval_delay_in_seconds: int
    qualifications: tuple[Qualification, ...] = ()


@dataclass(frozen=True)
class CreatedHit:
    hit_id: str
    hit_type_id: str
    already_existed: bool  # the platform had it from an earlier call with the same request token
    creation_time: datetime | None = None
    expiration: datetime | None = None


@dataclass(frozen=True)
class HitInfo:
    hit_id: str
    hit_type_id: str
    title: str
    description: str
    keywords: str
    reward: Decimal
    creation_time: datetime | None
    expiration: datetime | None
    max_assignments: int
    status: str
    requester_annotation: str | None
    question: str
    assignment_duration_in_seconds: int
    auto_approval_delay_in_seconds: int
    qualifications: tuple[Qualification, ...] = ()
    pending: int = 0
    available: int = 0
    completed: int = 0


@dataclass(frozen=True)
class AssignmentInfo:
    assignment_id: str
    worker_id: str
    hit_id: str
    status: str  # Submitted | Approved | Rejected
    accept_time: datetime | None
    submit_time: datetime | None
    auto_approval_time: datetime | None
    approval_time: datetime | None
    rejection_time: datetime | None
    answer: str  # the platform's raw answer (MTurk: QuestionFormAnswers XML)
    requester_feedback: str | None = None


@dataclass(frozen=True)
class CrowdTarget:
    """Where a batch goes: a name recorded in the warehouse and, for MTurk, the endpoint URL."""

    name: str  # sandbox | live | the endpoint URL
    endpoint_url: str | None = None
    live: bool = False
    extra: dict = field(default_factory=dict)


class CrowdPlatform(Protocol):
    """Everything crowdaudit asks of a crowd platform."""

    target: CrowdTarget
    fees: FeeSchedule
    submit_url: str  # where an HTML question's form posts when the worker page gives no turkSubmitTo

    def account_balance(self) -> Decimal: ...

    def create_hit_type(self, spec: HitTypeSpec) -> str: ...

    def create_hit(
        self, *, hit_type_id: str, question: str, max_assignments: int, lifetime_in_seconds: int,
        requester_annotation: str, unique_request_token: str,
    ) -> CreatedHit: ...

    def get_hit(self, hit_id: str) -> HitInfo: ...

    def list_hits(self) -> Iterator[HitInfo]: ...

    def list_assignments(self, hit_id: str, statuses: Sequence[str] | None = None) -> Iterator[AssignmentInfo]: ...

    def approve_assignment(self, assignment_id: str, feedback: str | None = None) -> None: ...

    def reject_assignment(self, assignment_id: str, feedback: str) -> None: ...

    def add_assignments(self, hit_id: str, count: int, unique_request_token: str) -> None: ...

    def set_expiration(self, hit_id: str, expire_at: datetime) -> None: ...

    def block_worker(self, worker_id: str, reason: str) -> None: ...

    def notify_workers(self, worker_ids: Sequence[str], subject: str, message: str) -> None: ...


__all__ = ["MTURK_FEES", "CrowdPlatform", "PlatformError"]
