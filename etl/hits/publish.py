"""`crowdaudit hits publish`: a planned batch onto a crowd platform, never twice, never over budget.

Order matters because money is real: price the batch with the same function as `cost`, refuse
when it exceeds --budget or the account's balance, and only then create anything. Each HIT
carries a UniqueRequestToken derived from the batch and the HIT's content, and each HIT's new id
is committed to the warehouse right after the platform returns it. A publish killed between the
two is re-run safely: the platform answers the repeated token with the HIT it already has (and,
past MTurk's 24-hour token memory, the HIT's RequesterAnnotation finds it in ListHITs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import numpy as np
import polars as pl

from etl.crowd.mturk import hit_type_payload
from etl.crowd.platform import (
    MASTERS,
    CreatedHit,
    CrowdPlatform,
    HitInfo,
    HitTypeSpec,
    PlatformError,
    Qualification,
)
from etl.errors import CrowdauditError, crowdaudit_command
from etl.hits.plan import PLANNED, PUBLISHED
from etl.hits.pricing import Price, price_hits
from etl.hits.template import question_xml, slot_images
from etl.warehouse import transaction


@dataclass(frozen=True)
class PlannedHit:
    local_hit_id: str
    image_urls: tuple[str, ...]
    requester_annotation: str


@dataclass(frozen=True)
class BatchDesign:
    batch_id: str
    created_at: datetime
    per_hit: int
    max_assignments: int
    reward: Decimal
    title: str
    description: str
    keywords: str
    lifetime_in_seconds: int
    assignment_duration_in_seconds: int
    auto_approval_delay_in_seconds: int


@dataclass
class PublishReport:
    batch_id: str
    target: str
    price: Price
    hit_type_id: str | None = None
    created: list[str] = field(default_factory=list)
    already_existed: list[str] = field(default_factory=list)
    dry_run: bool = False
    payloads: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        if self.price.n_hits == 0:
            return f"batch {self.batch_id} on {self.target}: every HIT is already published; nothing to do"
        if self.dry_run:
            return (f"dry run: {self.price.n_hits} HITs of batch {self.batch_id} would cost ${self.price.total} "
                    f"on {self.target}; nothing was sent")
        paid_before = (f", of which the {len(self.already_existed)} already there were paid when an earlier run "
                       "created them" if self.already_existed else "")
        return (f"batch {self.batch_id} on {self.target}: {len(self.created)} HITs created, "
                f"{len(self.already_existed)} already there (recorded, not paid twice); "
                f"HIT type {self.hit_type_id}; price ${self.price.total}{paid_before}")


def batch_design(con: duckdb.DuckDBPyConnection, batch_id: str) -> BatchDesign:
    rows = con.execute(
        "SELECT batch_id, created_at, per_hit, max_assignments, reward, title, description, keywords, "
        "lifetime_in_seconds, assignment_duration_in_seconds, auto_approval_delay_in_seconds "
        "FROM raw.hit_batches WHERE batch_id = ?", [batch_id]
    ).fetchall()
    if not rows:
        raise CrowdauditError(f"no batch {batch_id!r}: plan one with `{crowdaudit_command('hits build')}`")
    return BatchDesign(*rows[0])


def planned_hits(con: duckdb.DuckDBPyConnection, batch_id: str) -> list[PlannedHit]:
    """The batch's HITs not yet published, each with its image URLs in slot order."""
    rows = con.execute(
        """
        SELECT h.hit_id, list(i.image_id ORDER BY i.slot), h.requester_annotation
        FROM raw.hits AS h JOIN raw.hit_items AS i USING (hit_id)
        WHERE h.batch_id = ? AND h.status = ?
        GROUP BY h.hit_id, h.requester_annotation ORDER BY h.hit_id
        """,
        [batch_id, PLANNED],
    ).fetchall()
    return [PlannedHit(hit_id, tuple(urls), annotation) for hit_id, urls, annotation in rows]


def request_token(design: BatchDesign, hit: PlannedHit) -> str:
    """Same batch and same HIT content -> same token, so the platform recognises a retry (<= 64 chars)."""
    content = "|".join([design.batch_id, design.created_at.isoformat(), hit.local_hit_id,
                        str(design.max_assignments), str(design.reward), *hit.image_urls])
    return "ca-" + hashlib.sha256(content.encode()).hexdigest()[:40]


def hit_type_spec(design: BatchDesign, qualifications: Sequence[Qualification]) -> HitTypeSpec:
    return HitTypeSpec(
        title=design.title, description=design.description, keywords=design.keywords, reward=design.reward,
        assignment_duration_in_seconds=design.assignment_duration_in_seconds,
        auto_approval_delay_in_seconds=design.auto_approval_delay_in_seconds,
        qualifications=tuple(qualifications),
    )


def batch_price(design: BatchDesign, n_hits: int, qualifications: Sequence[Qualification],
                platform: CrowdPlatform | None = None, *, masters: bool | None = None) -> Price:
    """`masters`: whether the batch asks for Masters, when not given by `qualifications`."""
    if masters is None:
        masters = any(q.type_id == MASTERS for q in qualifications)
    fees = platform.fees if platform is not None else None
    kwargs = {"fees": fees} if fees is not None else {}
    return price_hits(n_hits, assignments=design.max_assignments, reward=design.reward, masters=masters, **kwargs)


def _record(con: duckdb.DuckDBPyConnection, hit: PlannedHit, *, hit_id: str, hit_type_id: str, design: BatchDesign,
            target: str, token: str, outcome: str, price: Decimal, creation_time: datetime | None,
            expiration: datetime | None) -> None:
    """Swap the local id for the platform's in one transaction, with the publish log row."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with transaction(con):
        con.execute(
            "UPDATE raw.hits SET hit_id = ?, hit_type_id = ?, status = ?, creation_time = coalesce(?, ?), "
            "expiration = ? WHERE hit_id = ?",
            [hit_id, hit_type_id, PUBLISHED, creation_time, now, expiration, hit.local_hit_id],
        ).fetchall()
        con.execute("UPDATE raw.hit_items SET hit_id = ? WHERE hit_id = ?", [hit_id, hit.local_hit_id]).fetchall()
        con.execute(
            "INSERT INTO raw.publish_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [hit.local_hit_id, hit_id, design.batch_id, hit_type_id, target, token, outcome, price, now],
        ).fetchall()


def hit_ids_held(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    """The hashes (polars' 64-bit) of every HIT id the warehouse holds, sorted: read once per
    publish, so each id the platform returns is checked without a query per HIT (each would scan
    raw.hits: 8 ms a HIT on a warehouse of 347,000 HITs), in 3 MB where a set of the ids took 115 MB."""
    return np.sort(con.sql("SELECT hit_id FROM raw.hits").pl()["hit_id"].hash().to_numpy())


def _may_hold(held: np.ndarray, hit_id: str) -> bool:
    """Whether `hit_id`'s hash is among `held` (see `hit_ids_held`)."""
    hashed = pl.Series([hit_id]).hash().to_numpy()[0]
    at = np.searchsorted(held, hashed)
    return bool(at < len(held) and held[at] == hashed)


def _refuse_an_id_held(con: duckdb.DuckDBPyConnection, held: np.ndarray, hit: PlannedHit, hit_id: str, *,
                       batch_id: str, target: str) -> None:
    """A platform's HIT id is a HIT's for good: recorded over another HIT's, the two HITs would share
    their images and answers. An endpoint that forgot the HITs it made, such as mturk-local started
    again with the same --seed, hands their ids out again. `held`: the hashes of the ids held when
    the publish began; one found there is confirmed by a query (two ids can share a hash)."""
    if not _may_hold(held, hit_id):
        return
    holder = con.execute("SELECT any_value(batch_id) FROM raw.hits WHERE hit_id = ?", [hit_id]).fetchall()[0][0]
    if holder is None:
        return
    raise CrowdauditError(
        f"{target} gave HIT {hit.local_hit_id} of batch {batch_id} the id {hit_id}, which the warehouse already "
        f"holds for a HIT of batch {holder}: an endpoint that forgot the HITs it made (mturk-local "
        "started again with the same --seed) hands their ids out again. The HIT was created there but not "
        "recorded; publish the batch to an endpoint that does not reuse ids (mturk-local with another --seed)"
    )


def _created_by_this_run(platform: CrowdPlatform, created: CreatedHit) -> CreatedHit:
    """A HIT the platform said it already had though this run's listing of the batch did not show
    it: boto3's retry of this very request, whose first reply was lost, met the HIT that first
    attempt created (an earlier run's HIT would have been listed). This run created and paid for
    it, so it is logged as created (as 'already_existed', the summary said an earlier run had
    paid for it), with the times the platform gives it rather than none (then its expiry was
    unknown and its creation time the moment it was recorded). The HIT exists whatever GetHIT
    says: a failure there only leaves its times unknown, as before."""
    try:
        info = platform.get_hit(created.hit_id)
    except PlatformError:
        return replace(created, already_existed=False)
    return replace(created, already_existed=False, creation_time=info.creation_time, expiration=info.expiration)


def _shows(question: str, urls: Sequence[str]) -> bool:
    """The question shows exactly these images (parsed as a browser would: escaping varies)."""
    return sorted(slot_images(question).values()) == sorted(urls)


def ours_by_annotation(hits: Sequence[PlannedHit], listed: Sequence[HitInfo]) -> dict[str, HitInfo]:
    """The platform's HITs that are this batch's, by annotation: same annotation and same images.

    Batches planned before annotations carried a random part (crowdaudit:local-1-000001) share
    them with every other warehouse's first batch: taking another warehouse's HIT for ours would
    file its workers' answers under our images, and leave ours unpublished."""
    by_annotation: dict[str, list[HitInfo]] = {}
    for info in listed:
        if info.requester_annotation:
            by_annotation.setdefault(info.requester_annotation, []).append(info)
    ours = {}
    for hit in hits:
        match = next((info for info in by_annotation.get(hit.requester_annotation, ())
                      if _shows(info.question, hit.image_urls)), None)
        if match is not None:
            ours[hit.requester_annotation] = match
    return ours


# A planned HIT and a HIT that results were ingested for (status 'results'), showing the same images.
SITE_PUBLISHED = """
WITH planned AS (
    SELECT hit_id, list_sort(list(image_id)) AS images FROM raw.hit_items
    WHERE hit_id IN (SELECT hit_id FROM raw.hits WHERE batch_id = $batch AND status = $planned)
    GROUP BY hit_id
),
site AS (
    SELECT hit_id, list_sort(list(image_id)) AS images FROM raw.hit_items
    WHERE hit_id IN (SELECT hit_id FROM raw.hits WHERE status = 'results')
      AND hit_id IN (SELECT hit_id FROM raw.hit_items
                     WHERE image_id IN (SELECT unnest(images) FROM planned))
    GROUP BY hit_id
)
SELECT p.hit_id, s.hit_id, l.source_file, count(*) OVER () AS n
FROM planned AS p JOIN site AS s USING (images)
JOIN raw.hits AS h ON h.hit_id = s.hit_id LEFT JOIN raw.load_log AS l USING (load_id)
ORDER BY p.hit_id LIMIT 1
"""


def refuse_a_batch_the_site_published(con: duckdb.DuckDBPyConnection, batch_id: str) -> None:
    """A plan goes out one of two ways: `hits variables` for the requester web site, or the API.
    The site gives its HITs ids of its own, so once their results are ingested nothing marks the
    plan as published, and publishing it through the API paid for every vote a second time. A
    planned HIT whose images are exactly those of a HIT with ingested results went out by the site."""
    found = con.execute(SITE_PUBLISHED, {"batch": batch_id, "planned": PLANNED}).fetchall()
    if not found:
        return
    planned_id, site_id, source_file, n = found[0]
    raise CrowdauditError(
        f"{n} HIT(s) of batch {batch_id} were published through the requester web site: planned HIT {planned_id} "
        f"shows the images of HIT {site_id}, whose results were ingested from {source_file}. Publishing them through "
        "the API would pay for their votes a second time: follow the batch on the site. For more votes on them, "
        f"add assignments there, or `{crowdaudit_command('hits build')}` a batch of other images"
    )


def publish_batch(
    con: duckdb.DuckDBPyConnection,
    platform: CrowdPlatform,
    *,
    batch_id: str,
    budget: Decimal,
    qualifications: Sequence[Qualification],
    dry_run: bool = False,
    confirm: Callable[[Price], bool] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> PublishReport:
    """Publish the batch's planned HITs (see the module docstring for the order of checks)."""
    design = batch_design(con, batch_id)
    hits = planned_hits(con, batch_id)
    refuse_a_batch_the_site_published(con, batch_id)
    price = batch_price(design, len(hits), qualifications, platform)
    report = PublishReport(batch_id, platform.target.name, price, dry_run=dry_run)
    if not hits:
        return report
    if price.over(budget):
        raise CrowdauditError(
            f"batch {batch_id} costs ${price.total} ({price.n_hits} HITs x {price.assignments_per_hit} "
            f"assignments x ${price.per_assignment:.2f} with fees), over the budget of ${budget}; nothing was created"
        )
    spec = hit_type_spec(design, qualifications)
    # Every question is rendered (and its size checked) before anything is created: a HIT refused
    # half-way through would leave a batch paid for in part that can never be finished.
    questions = {hit.local_hit_id: question_xml(hit.image_urls, submit_url=platform.submit_url, title=design.title)
                 for hit in hits}
    if dry_run:
        report.payloads.append({"CreateHITType": hit_type_payload(spec)})
        for hit in hits:
            report.payloads.append({"CreateHITWithHITType": {
                "HITTypeId": "<from CreateHITType>", "MaxAssignments": design.max_assignments,
                "LifetimeInSeconds": design.lifetime_in_seconds, "RequesterAnnotation": hit.requester_annotation,
                "UniqueRequestToken": request_token(design, hit),
                "Question": questions[hit.local_hit_id],
            }})
        return report
    # A run finishing a publish that stopped half-way: the HITs it created are on the platform,
    # paid for, and only the others are checked against the balance. Checked against the whole
    # batch, an account holding exactly the rest refused the re-run, and the batch stayed half out.
    known = ours_by_annotation(hits, platform.list_hits()) if interrupted_publish(con, batch_id) else None
    to_pay = price if not known else batch_price(design, len(hits) - len(known), qualifications, platform)
    balance = platform.account_balance()
    if to_pay.over(balance):
        still = f" for the {to_pay.n_hits} HITs an earlier run did not create" if known else ""
        raise CrowdauditError(
            f"batch {batch_id} costs ${to_pay.total}{still} but the {platform.target.name} account holds ${balance}; "
            "nothing was created"
        )
    if confirm is not None and not confirm(price):
        raise CrowdauditError("publish cancelled; nothing was created")
    if known is None:
        known = ours_by_annotation(hits, platform.list_hits())
    hit_type_id = platform.create_hit_type(spec)
    report.hit_type_id = hit_type_id
    con.execute(
        "INSERT OR IGNORE INTO raw.hit_types "  # a re-run of the batch: its row is there (the key says so)
        "SELECT $type, $target, $batch, $qualifications, timezone('UTC', now())",
        {"type": hit_type_id, "target": platform.target.name, "batch": batch_id,
         "qualifications": json.dumps(hit_type_payload(spec)["QualificationRequirements"])},
    ).fetchall()
    # Unrounded, so that the log adds up to what the batch cost (rounding each HIT up would not).
    per_hit_price = batch_price(design, 1, qualifications, platform).exact
    held = hit_ids_held(con)
    for hit in hits:
        token = request_token(design, hit)
        if hit.requester_annotation in known:
            existing = known[hit.requester_annotation]
            _refuse_an_id_held(con, held, hit, existing.hit_id, batch_id=batch_id, target=platform.target.name)
            _record(con, hit, hit_id=existing.hit_id, hit_type_id=existing.hit_type_id, design=design,
                    target=platform.target.name, token=token, outcome="already_existed", price=per_hit_price,
                    creation_time=existing.creation_time, expiration=existing.expiration)
            report.already_existed.append(existing.hit_id)
            continue
        created = platform.create_hit(
            hit_type_id=hit_type_id, question=questions[hit.local_hit_id],
            max_assignments=design.max_assignments, lifetime_in_seconds=design.lifetime_in_seconds,
            requester_annotation=hit.requester_annotation, unique_request_token=token,
        )
        if created.already_existed:
            created = _created_by_this_run(platform, created)
        _refuse_an_id_held(con, held, hit, created.hit_id, batch_id=batch_id, target=platform.target.name)
        _record(con, hit, hit_id=created.hit_id, hit_type_id=created.hit_type_id, design=design,
                target=platform.target.name, token=token, outcome="created", price=per_hit_price,
                creation_time=created.creation_time, expiration=created.expiration)
        report.created.append(created.hit_id)
        say(f"{hit.local_hit_id} -> {created.hit_id}")
    return report


def interrupted_publish(con: duckdb.DuckDBPyConnection, batch_id: str) -> int:
    """How many of the batch's HITs a publish that stopped half-way left unrecorded: HITs still
    planned although a publish of the batch created its HIT type (written before the first
    CreateHIT). Some of them may be live on the platform, taking workers and money, where `hits
    expire`, `status` and `results` (which go by the HITs recorded) do not see them."""
    return con.execute(
        "SELECT count(*) FROM raw.hits WHERE batch_id = $batch AND status = $planned "
        "AND EXISTS (SELECT 1 FROM raw.hit_types WHERE batch_id = $batch)",
        {"batch": batch_id, "planned": PLANNED},
    ).fetchall()[0][0]


def interrupted_publish_note(con: duckdb.DuckDBPyConnection, batch_id: str) -> str | None:
    n = interrupted_publish(con, batch_id)
    if not n:
        return None
    return (f"note: a publish of batch {batch_id} stopped half-way and left {n} HIT(s) unrecorded; some may be live. "
            f"`{crowdaudit_command('hits publish')}` again finishes it (HITs already created are recorded, not paid "
            f"twice); `{crowdaudit_command('hits expire')}` records and expires those that were created")


def record_interrupted_publish(con: duckdb.DuckDBPyConnection, platform: CrowdPlatform, batch_id: str) -> list[str]:
    """Record the HITs a publish that stopped half-way created on the platform but not in the
    warehouse (found by annotation and images, as a publish re-run finds them), so that `hits
    expire` ends them too: it went by the HITs recorded, said the batch was expired, and left such
    a HIT open and paid for. The HITs never created stay planned. Returns the ids recorded."""
    if not interrupted_publish(con, batch_id):
        return []
    from etl.hits.manage import asks_masters  # manage builds on this module

    hits = planned_hits(con, batch_id)
    found = ours_by_annotation(hits, platform.list_hits())
    if not found:
        return []
    design = batch_design(con, batch_id)
    per_hit_price = batch_price(design, 1, (), platform, masters=asks_masters(con, batch_id)).exact
    held = hit_ids_held(con)
    recorded = []
    for hit in hits:
        existing = found.get(hit.requester_annotation)
        if existing is None:
            continue
        _refuse_an_id_held(con, held, hit, existing.hit_id, batch_id=batch_id, target=platform.target.name)
        # As a publish re-run records it: the interrupted run created and paid for it.
        _record(con, hit, hit_id=existing.hit_id, hit_type_id=existing.hit_type_id, design=design,
                target=platform.target.name, token=request_token(design, hit), outcome="already_existed",
                price=per_hit_price, creation_time=existing.creation_time, expiration=existing.expiration)
        recorded.append(existing.hit_id)
    return recorded
