"""`crowdaudit hits status | expire | extend`: follow a published batch on its platform.

Extending costs money, so it is priced (same function as publish) and checked against --budget
before any call, and each extension carries a request token so a re-run after a crash does not
add the assignments twice.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import duckdb

from etl.crowd.platform import CrowdPlatform, PlatformError
from etl.errors import CrowdauditError
from etl.hits.pricing import price_hits


@dataclass(frozen=True)
class BatchProgress:
    batch_id: str
    hits: int
    max_assignments: int
    available: int
    pending: int
    submitted: int
    approved: int
    rejected: int

    def summary(self) -> str:
        return (f"{self.batch_id}: {self.hits} HITs, {self.max_assignments} assignments asked; "
                f"{self.available} available, {self.pending} pending, {self.submitted} submitted, "
                f"{self.approved} approved, {self.rejected} rejected")


def batch_target(con: duckdb.DuckDBPyConnection, batch_id: str) -> str | None:
    """Where the batch was published (sandbox, live or an endpoint URL), from the publish log."""
    found = con.execute("SELECT any_value(target) FROM raw.publish_log WHERE batch_id = ?", [batch_id]).fetchall()
    return found[0][0] if found else None


def published_hit_ids(con: duckdb.DuckDBPyConnection, batch_id: str) -> list[tuple[str, int]]:
    rows = con.execute(
        "SELECT hit_id, max_assignments FROM raw.hits WHERE batch_id = ? AND status <> 'planned' ORDER BY hit_id",
        [batch_id],
    ).fetchall()
    if not rows:
        raise CrowdauditError(f"batch {batch_id!r} has no published HITs: `crowdaudit hits publish` first")
    return rows


def batch_progress(con: duckdb.DuckDBPyConnection, platform: CrowdPlatform, batch_id: str) -> BatchProgress:
    counts: Counter[str] = Counter()
    available = pending = asked = 0
    hit_ids = published_hit_ids(con, batch_id)
    for hit_id, _ in hit_ids:
        hit = platform.get_hit(hit_id)
        available += hit.available
        pending += hit.pending
        asked += hit.max_assignments
        counts.update(a.status for a in platform.list_assignments(hit_id))
    return BatchProgress(batch_id, len(hit_ids), asked, available, pending,
                         counts["Submitted"], counts["Approved"], counts["Rejected"])


def expire_batch(con: duckdb.DuckDBPyConnection, platform: CrowdPlatform, batch_id: str) -> int:
    """Expire every published HIT of the batch now (workers can no longer accept them)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    hit_ids = published_hit_ids(con, batch_id)
    for hit_id, _ in hit_ids:
        platform.set_expiration(hit_id, now)
        con.execute("UPDATE raw.hits SET expiration = ?, status = 'expired' WHERE hit_id = ?", [now, hit_id]).fetchall()
    return len(hit_ids)


def needs_more_votes_exists(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'needs_more_votes'"
    ).fetchall()
    return found[0][0] > 0


@dataclass
class ExtensionPlan:
    """Extra assignments per HIT, and the HITs that could not get all they asked for."""

    extra: dict[str, int]
    capped: dict[str, str] = field(default_factory=dict)
    price: Decimal = Decimal(0)


def plan_extension(con: duckdb.DuckDBPyConnection, batch_id: str, *, extra: int | None,
                   from_needs_more_votes: bool) -> ExtensionPlan:
    """How many assignments each HIT gets. MTurk refuses to take a HIT from under 10 assignments to 10
    or more (the fee changes), so such a HIT is capped at 9 and reported."""
    hits = dict(published_hit_ids(con, batch_id))
    if from_needs_more_votes:
        if not needs_more_votes_exists(con):
            raise CrowdauditError("no needs_more_votes table: run `crowdaudit build` first (it needs votes and gold)")
        wanted = dict(con.execute(
            "SELECT hit_id, max(hit_extra_assignments) FROM main.needs_more_votes "
            "WHERE hit_id IS NOT NULL GROUP BY hit_id"
        ).fetchall())
        wanted = {h: int(n) for h, n in wanted.items() if h in hits and n}
    else:
        if not extra or extra < 1:
            raise CrowdauditError("give --assignments N (>= 1) or --from-needs-more-votes")
        wanted = dict.fromkeys(hits, extra)
    plan = ExtensionPlan({})
    reward = dict(con.execute("SELECT hit_id, reward FROM raw.hits WHERE batch_id = ?", [batch_id]).fetchall())
    for hit_id, n in sorted(wanted.items()):
        current = hits[hit_id]
        if current < 10 <= current + n:
            plan.capped[hit_id] = f"asked {n}, capped at {9 - current}: MTurk keeps a HIT under 10 assignments"
            n = 9 - current
        if n > 0:
            plan.extra[hit_id] = n
            plan.price += price_hits(1, assignments=current + n, reward=reward[hit_id]).per_assignment * n
    return plan


def extension_token(hit_id: str, current_assignments: int, extra: int) -> str:
    return "ca-x-" + hashlib.sha256(f"{hit_id}|{current_assignments}|{extra}".encode()).hexdigest()[:40]


def extend_batch(con: duckdb.DuckDBPyConnection, platform: CrowdPlatform, plan: ExtensionPlan, *,
                 budget: Decimal) -> int:
    """Add the planned assignments; refuses over budget before calling anything."""
    if plan.price > budget:
        raise CrowdauditError(f"extension costs ${plan.price:.2f}, over the budget of ${budget}; nothing was added")
    balance = platform.account_balance()
    if plan.price > balance:
        raise CrowdauditError(f"extension costs ${plan.price:.2f} but the account holds ${balance}; nothing was added")
    current = dict(con.execute(
        f"SELECT hit_id, max_assignments FROM raw.hits WHERE hit_id IN ({','.join('?' * len(plan.extra))})",
        list(plan.extra),
    ).fetchall()) if plan.extra else {}
    for hit_id, n in plan.extra.items():
        try:
            platform.add_assignments(hit_id, n, extension_token(hit_id, current[hit_id], n))
        except PlatformError as error:
            if "already been processed" not in str(error):
                raise
        con.execute("UPDATE raw.hits SET max_assignments = max_assignments + ? WHERE hit_id = ?", [n, hit_id]).fetchall()
    return sum(plan.extra.values())

