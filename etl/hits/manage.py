"""`crowdaudit hits status | expire | extend`: follow a published batch on its platform.

Extending costs money, so it is priced (same function as publish) and checked against --budget
before any call; the plan is recorded before the first call and each HIT's request token comes
from it, so a re-run after a crash finishes that plan and adds nothing twice.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import duckdb

from etl.crowd.platform import MASTERS, CrowdPlatform, PlatformError, is_no_such_hit
from etl.errors import CrowdauditError, crowdaudit_command
from etl.hits.pricing import MTURK_FEES, price_hits, round_up_to_cent
from etl.hits.publish import refuse_a_batch_the_site_published
from etl.hits.results import none_of_the_batch_error
from etl.warehouse import transaction

# MTurk refuses to take a HIT from under 10 assignments to 10 or more (the fee changes there):
# an extension stops such a HIT at 9.
MOST_BELOW_LARGE = MTURK_FEES.large_hit_assignments - 1


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
    gone: int = 0  # HITs the platform no longer has (deleted, or disposed of): not counted above

    def summary(self) -> str:
        gone = (f"; {self.gone} HIT(s) no longer on the platform (deleted, or disposed of by MTurk), not counted"
                if self.gone else "")
        return (f"{self.batch_id}: {self.hits - self.gone} HITs, {self.max_assignments} assignments asked; "
                f"{self.available} available, {self.pending} pending, {self.submitted} submitted, "
                f"{self.approved} approved, {self.rejected} rejected{gone}")


def batch_target(con: duckdb.DuckDBPyConnection, batch_id: str) -> str | None:
    """Where the batch was published (sandbox, live or an endpoint URL), from the publish log and
    the HIT types made for it; None before a publish of it got as far as creating a HIT type."""
    # raw.hit_types is written before the first CreateHIT: a publish killed before its first HIT
    # was recorded has pinned its target there already.
    targets = [row[0] for row in con.execute(
        "SELECT target FROM raw.publish_log WHERE batch_id = $batch "
        "UNION SELECT target FROM raw.hit_types WHERE batch_id = $batch ORDER BY 1", {"batch": batch_id}).fetchall()]
    if len(targets) > 1:
        raise CrowdauditError(f"batch {batch_id}'s HITs were published on several targets ({', '.join(targets)}); "
                              "crowdaudit follows a batch on one. See raw.publish_log.")
    return targets[0] if targets else None


def published_hit_ids(con: duckdb.DuckDBPyConnection, batch_id: str) -> list[tuple[str, int]]:
    rows = con.execute(
        "SELECT hit_id, max_assignments FROM raw.hits WHERE batch_id = ? AND status <> 'planned' ORDER BY hit_id",
        [batch_id],
    ).fetchall()
    if not rows:
        refuse_a_batch_the_site_published(con, batch_id)  # followed on the site, not with `hits publish`
        raise CrowdauditError(f"batch {batch_id!r} has no published HITs: `{crowdaudit_command('hits publish')}` first")
    return rows


def batch_progress(con: duckdb.DuckDBPyConnection, platform: CrowdPlatform, batch_id: str, *,
                   on_hit: Callable[[], None] = lambda: None) -> BatchProgress:
    """`on_hit` is called after each HIT's calls (see `expire_batch`). A HIT the platform says does
    not exist is counted as gone, not failed on (see `results_from_platform`)."""
    counts: Counter[str] = Counter()
    available = pending = asked = 0
    gone: list[str] = []
    hit_ids = published_hit_ids(con, batch_id)
    for hit_id, _ in hit_ids:
        try:
            hit = platform.get_hit(hit_id)
            statuses = [a.status for a in platform.list_assignments(hit_id)]
        except PlatformError as error:
            if not is_no_such_hit(error):
                raise
            gone.append(hit_id)
        else:
            available += hit.available
            pending += hit.pending
            asked += hit.max_assignments
            counts.update(statuses)
        on_hit()
    if gone and len(gone) == len(hit_ids):
        raise none_of_the_batch_error(platform, batch_id, len(hit_ids), gone)
    return BatchProgress(batch_id, len(hit_ids), asked, available, pending,
                         counts["Submitted"], counts["Approved"], counts["Rejected"], len(gone))


# HITs `expire_batch` records as expired in one statement: each statement scans raw.hits for its
# ids (8 ms on a warehouse of 345,000 HITs), so one per HIT took 80 s of a 10,000-HIT batch.
EXPIRED_PER_UPDATE = 200


def expire_batch(con: duckdb.DuckDBPyConnection, platform: CrowdPlatform, batch_id: str, *,
                 on_hit: Callable[[], None] = lambda: None, gone: list[str] | None = None) -> int:
    """Expire every published HIT of the batch now (workers can no longer accept them).

    The HITs the platform expired are recorded EXPIRED_PER_UPDATE at a time, and those expired
    when a call fails or the run is interrupted are recorded before it stops. A HIT the platform
    says does not exist (deleted) takes no more work either, and is recorded so: failing on it left
    the rest of the batch open. But when the platform has none of the batch's HITs, it is not the
    one the batch went out on (another AWS account's credentials, an mturk-local started afresh):
    recording them all as expired left them open there and `hits extend` refusing them, so that
    is refused and nothing recorded. The deleted HITs are appended to `gone`. `on_hit` is called
    after each HIT's call: a batch's calls take minutes on MTurk, and the CLI shows them."""
    now = datetime.now(UTC).replace(tzinfo=None)
    hit_ids = published_hit_ids(con, batch_id)
    expired: list[str] = []
    missing: list[str] = []  # recorded once a HIT of the batch was found on the platform
    found_one = False
    try:
        for hit_id, _ in hit_ids:
            try:
                platform.set_expiration(hit_id, now)
            except PlatformError as error:
                if not is_no_such_hit(error):
                    raise
                missing.append(hit_id)
            else:
                found_one = True
                expired.append(hit_id)
            on_hit()
            if len(expired) == EXPIRED_PER_UPDATE:
                _record_expired(con, expired, now)
                expired = []
    finally:
        _record_expired(con, expired, now)
        if found_one:
            _record_expired(con, missing, now)
    if missing and not found_one:
        raise CrowdauditError(f"{none_of_the_batch_error(platform, batch_id, len(hit_ids), missing)} Nothing was "
                              "recorded as expired")
    if gone is not None:
        gone.extend(missing)
    return len(hit_ids)


def _record_expired(con: duckdb.DuckDBPyConnection, hit_ids: list[str], expiration: datetime) -> None:
    if hit_ids:
        con.execute("UPDATE raw.hits SET expiration = ?, status = 'expired' WHERE hit_id IN (SELECT unnest(?))",
                    [expiration, hit_ids]).fetchall()


def needs_more_votes_exists(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'needs_more_votes'"
    ).fetchall()
    return found[0][0] > 0


@dataclass
class ExtensionPlan:
    """Extra assignments per HIT, and the HITs that could not get all they asked for.

    `resumed_from`: when the plan is an earlier run's unfinished extension (see extend_batch), the
    time that run planned it; the new request is then not applied."""

    batch_id: str
    extra: dict[str, int]
    from_assignments: dict[str, int] = field(default_factory=dict)
    reward: dict[str, Decimal] = field(default_factory=dict)
    capped: dict[str, str] = field(default_factory=dict)
    # HITs left out because assignments asked for and not answered when the mart was built cover
    # what it asks for (HIT: those assignments): paying for them again bought the same votes twice.
    covered: dict[str, int] = field(default_factory=dict)
    # HITs left out because they expired (EXPIRED_HIT), and when: said in one line, not one per HIT.
    expired: dict[str, datetime] = field(default_factory=dict)
    resumed_from: datetime | None = None
    abandoned: list[str] = field(default_factory=list)  # resumed HITs that expired or are gone
    # Resumed HITs the platform took before the interruption (the warehouse never heard): recorded, not paid again.
    added_before: dict[str, int] = field(default_factory=dict)
    settled: bool = False  # a resumed plan's HITs were checked on the platform; `extra` is what remains
    masters: bool = False  # the batch's HIT type asks for Masters (+5% of the reward)
    # Each HIT's UniqueRequestToken: a new plan's from extension_token, a resumed one's as written.
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def exact_price(self) -> Decimal:
        return sum((price_hits(1, assignments=self.from_assignments[h] + n, reward=self.reward[h],
                               masters=self.masters).per_assignment * n
                    for h, n in self.extra.items()), Decimal(0))

    @property
    def price(self) -> Decimal:
        """Rounded up to the cent: never shows less than is spent."""
        return round_up_to_cent(self.exact_price)


# The batches published requiring the Masters qualification (a fee): what extend prices and the
# report's cost card charges. MASTERS is a fixed qualification id, safe to write into the query.
MASTERS_BATCHES = f"SELECT DISTINCT batch_id FROM raw.hit_types WHERE contains(qualification_requirements, '{MASTERS}')"


def asks_masters(con: duckdb.DuckDBPyConnection, batch_id: str) -> bool:
    """Whether the batch's HITs were published requiring the Masters qualification (a fee)."""
    return con.execute(f"SELECT count(*) FROM ({MASTERS_BATCHES}) WHERE batch_id = ?", [batch_id]).fetchall()[0][0] > 0


def unfinished_extension(con: duckdb.DuckDBPyConnection, batch_id: str) -> ExtensionPlan | None:
    """What an earlier `hits extend` planned and did not see through (it was killed, or a call failed)."""
    rows = con.execute(
        "SELECT hit_id, extra, from_assignments, reward, planned_at, unique_request_token FROM raw.hit_extensions "
        "WHERE batch_id = ? AND done_at IS NULL ORDER BY hit_id",
        [batch_id],
    ).fetchall()
    if not rows:
        return None
    return ExtensionPlan(
        batch_id, extra={h: n for h, n, *_ in rows}, from_assignments={h: f for h, _, f, *_ in rows},
        reward={h: r for h, _, _, r, *_ in rows}, resumed_from=min(r[4] for r in rows),
        masters=asks_masters(con, batch_id), tokens={r[0]: r[5] for r in rows},
    )


def _settled_extensions(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict[str, int]:
    """How many settled extensions each HIT of the batch has (a new plan is only made when none is
    unfinished), so a HIT extended again by as many as before gets a new token, not a settled one's."""
    return dict(con.execute(
        "SELECT hit_id, count(*) FROM raw.hit_extensions WHERE batch_id = ? AND done_at IS NOT NULL GROUP BY hit_id",
        [batch_id],
    ).fetchall())


def needs_more_votes_counts_answers(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether needs_more_votes says how many of each HIT's assignments its build saw answered (a
    mart built before hit_answered_assignments does not)."""
    return con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'main' "
        "AND table_name = 'needs_more_votes' AND column_name = 'hit_answered_assignments'").fetchall()[0][0] > 0


# A HIT that takes no more work: `hits expire` ended it, or its recorded expiration has passed.
# Its open assignments will never be answered, and MTurk adds none to it.
EXPIRED_HIT = "(h.status = 'expired' OR h.expiration <= timezone('UTC', now()))"


def per_hit_need_sql(con: duckdb.DuckDBPyConnection) -> str:
    """needs_more_votes per HIT (votes loaded without a HIT: per image): its images, the extra
    assignments it needs and their price, and `open`, the assignments asked for beyond those the
    build saw answered (raw.hits as it is now: still open, or answered since), which will bring
    votes too. The mart counts answers only: `hits extend` and the report's cost card subtract
    `open`, or a second extension before the first was answered bought the same votes again. A
    mart built before hit_answered_assignments counts none open. An expired HIT (EXPIRED_HIT)
    counts none open: its slots never taken bring no votes, and counting them said "covered" of
    a HIT that can get no more."""
    answered = "n.hit_answered_assignments" if needs_more_votes_counts_answers(con) else "h.max_assignments"
    return f"""
        SELECT coalesce(n.hit_id, n.image_id) AS hit, any_value(n.hit_id) AS hit_id, count(*) AS images,
               any_value(n.hit_extra_assignments) AS needed, any_value(n.hit_cost) AS needed_cost,
               CASE WHEN bool_or({EXPIRED_HIT}) THEN 0
                    ELSE greatest(0, coalesce(any_value(h.max_assignments) - any_value({answered}), 0)) END AS open
        FROM main.needs_more_votes AS n LEFT JOIN raw.hits AS h USING (hit_id)
        GROUP BY hit"""


def _needed_beyond_asked(con: duckdb.DuckDBPyConnection, hits: dict[str, int], covered: dict[str, int]) -> dict[str, int]:
    """{HIT: extra assignments} the needs_more_votes mart asks for, less those open (see
    per_hit_need_sql). HITs whose open assignments cover the need go to `covered` (HIT: open)."""
    if not needs_more_votes_counts_answers(con):
        raise CrowdauditError(f"needs_more_votes was built by an older crowdaudit: run `{crowdaudit_command('build')}` "
                              "first")
    wanted = {}
    for hit_id, need, open_assignments in con.execute(
            f"SELECT hit_id, needed, open FROM ({per_hit_need_sql(con)}) WHERE hit_id IS NOT NULL").fetchall():
        if hit_id not in hits or not need:
            continue
        if need > open_assignments:
            wanted[hit_id] = int(need - open_assignments)
        else:
            covered[hit_id] = open_assignments
    return wanted


def plan_extension(con: duckdb.DuckDBPyConnection, batch_id: str, *, extra: int | None,
                   from_needs_more_votes: bool) -> ExtensionPlan:
    """How many assignments each HIT gets. MTurk refuses to take a HIT from under 10 assignments to 10
    or more (the fee changes), so such a HIT is capped at 9 and reported.

    An earlier run's unfinished extension comes first: it is returned (resumed_from set) instead
    of a new plan, so "add 2 to every HIT" re-run after a crash adds 2, not 4, to the HITs it reached."""
    resumed = unfinished_extension(con, batch_id)
    if resumed is not None:
        return resumed
    hits = dict(published_hit_ids(con, batch_id))
    covered: dict[str, int] = {}
    if from_needs_more_votes:
        if not needs_more_votes_exists(con):
            raise CrowdauditError(f"no needs_more_votes table: run `{crowdaudit_command('build')}` first "
                                  "(it needs votes and gold)")
        wanted = _needed_beyond_asked(con, hits, covered)
    else:
        if not extra or extra < 1:
            raise CrowdauditError("give --assignments N (>= 1) or --from-needs-more-votes")
        wanted = dict.fromkeys(hits, extra)
    reward = dict(con.execute("SELECT hit_id, reward FROM raw.hits WHERE batch_id = ?", [batch_id]).fetchall())
    # HITs `hits expire` ended, and those whose recorded expiration has passed: MTurk adds no
    # assignments to them (a run failed on the first). A HIT given more time elsewhere, whose
    # recorded expiration is stale, is left out too: nothing is spent, and the note says why.
    expired = dict(con.execute(
        f"SELECT hit_id, expiration FROM raw.hits AS h WHERE batch_id = ? AND {EXPIRED_HIT}", [batch_id]).fetchall())
    plan = ExtensionPlan(batch_id, {}, covered=covered, masters=asks_masters(con, batch_id))
    earlier = _settled_extensions(con, batch_id)
    for hit_id, n in sorted(wanted.items()):
        current = hits[hit_id]
        if hit_id in expired:
            plan.expired[hit_id] = expired[hit_id]
            continue
        if current <= MOST_BELOW_LARGE < current + n:
            n = MOST_BELOW_LARGE - current
            plan.capped[hit_id] = (f"asked {wanted[hit_id]}, capped at {n}: MTurk keeps a HIT under "
                                   f"{MOST_BELOW_LARGE + 1} assignments")
        if n > 0:
            plan.extra[hit_id] = n
            plan.from_assignments[hit_id] = current
            plan.reward[hit_id] = reward[hit_id]
            plan.tokens[hit_id] = extension_token(hit_id, current, n, earlier.get(hit_id, 0))
    return plan


def covered_note(plan: ExtensionPlan) -> str | None:
    """One line for the HITs whose assignments already asked for cover what needs_more_votes asks."""
    if not plan.covered:
        return None
    return (f"{len(plan.covered)} HIT(s) left out: the {sum(plan.covered.values())} assignment(s) asked for on them "
            f"beyond the answers the last build counted cover what needs_more_votes asks for; once they are "
            f"answered, `{crowdaudit_command('hits results --ingest')}` and `{crowdaudit_command('build')}` say "
            "whether more are needed")


def expired_note(plan: ExtensionPlan) -> str | None:
    """One line for the HITs left out as expired: a batch `hits expire` ended printed a line per HIT
    and then "$0.00", which did not say that nothing at all could be extended."""
    if not plan.expired:
        return None
    first, last = (f"{t:%Y-%m-%d %H:%M} UTC" for t in (min(plan.expired.values()), max(plan.expired.values())))
    when = f"at {first}" if first == last else f"between {first} and {last}"
    because = "MTurk adds no assignments to an expired HIT"
    if not plan.extra:
        return f"nothing to extend on {plan.batch_id}: its {len(plan.expired)} HIT(s) expired {when}, and {because}"
    names = ", ".join(sorted(plan.expired)[:3]) + (", ..." if len(plan.expired) > 3 else "")
    return f"{len(plan.expired)} HIT(s) left out ({names}): they expired {when}, and {because}"


def resumed_note(plan: ExtensionPlan, asked: int | None) -> str:
    """What a run finishing an earlier run's extension says, before settling it. Users re-run the
    command that crashed: told only that their request was not applied and to run the command
    again for it, they ran it a third time and every HIT got its assignments (and was paid) twice.
    A request is the same when each HIT left got as many, or fewer because a cap stopped it at 9
    (a plan left with only capped HITs, of a batch whose others were done, was otherwise named
    another request, and running it again extended those others a second time)."""
    sizes = set(plan.extra.values())
    what = (f"+{min(sizes)} assignments on each of {len(plan.extra)} HITs" if len(sizes) == 1
            else f"{sum(plan.extra.values())} assignments on {len(plan.extra)} HITs")
    head = (f"finishing the extension planned at {plan.resumed_from:%Y-%m-%d %H:%M:%S} UTC, which did not "
            f"complete ({what} left)")
    if asked is None:
        return (f"{head}; your request (--from-needs-more-votes) is not applied: run it again only once the "
                f"new answers are in and `{crowdaudit_command('build')}` has run, or it asks for these again")
    if all(n == asked or n < asked and plan.from_assignments[h] + n == MOST_BELOW_LARGE
           for h, n in plan.extra.items()):
        return f"{head}; that is this request: running it again would add {asked} more to each HIT"
    return f"{head}; your request (+{asked} on each HIT) is not applied: run the command again for it"


def extension_token(hit_id: str, current_assignments: int, extra: int, earlier: int = 0) -> str:
    """The same extension -> the same token, so the platform recognises a retry. `earlier` settled
    extensions of the HIT tell a new one apart from an abandoned one of the same size (a HIT that
    expired, was given more time and is extended again), whose token is already taken."""
    attempt = f"|{earlier}" if earlier else ""  # tokens written before `earlier` existed stay the same
    return "ca-x-" + hashlib.sha256(f"{hit_id}|{current_assignments}|{extra}{attempt}".encode()).hexdigest()[:40]


def _write_plan(con: duckdb.DuckDBPyConnection, plan: ExtensionPlan, target: str) -> None:
    """The whole plan or none of it: executemany commits row by row, and a part of a plan left
    behind would be finished by the next run in place of its request."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with transaction(con):
        con.executemany(
            "INSERT INTO raw.hit_extensions VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            [[plan.batch_id, h, plan.from_assignments[h], n, plan.reward[h], plan.tokens[h], target, now]
             for h, n in plan.extra.items()],
        )


def hit_rowids(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict[str, int]:
    """{hit_id: rowid} of the batch's HITs, read once, so that `_mark_done` finds each HIT's row by
    its rowid (0.8 ms) instead of scanning raw.hits for its id (8 ms on a warehouse of 345,000
    HITs, whose platform ids no row group's min/max rules out)."""
    return dict(con.execute("SELECT hit_id, rowid FROM raw.hits WHERE batch_id = ?", [batch_id]).fetchall())


def _mark_done(con: duckdb.DuckDBPyConnection, hit_id: str, extra: int, token: str, rowid: int | None = None) -> None:
    """The HIT's new max_assignments and its extension's done_at, together or not at all. `rowid`:
    where `hit_rowids` found the HIT's row; a row no longer there (DuckDB keeps rowids while nothing
    is deleted) is found by its id."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with transaction(con):
        added = 0
        if rowid is not None:
            added = con.execute("UPDATE raw.hits SET max_assignments = max_assignments + ? WHERE rowid = ? "
                                "AND hit_id = ?", [extra, rowid, hit_id]).fetchall()[0][0]
        if not added:
            con.execute("UPDATE raw.hits SET max_assignments = max_assignments + ? WHERE hit_id = ?",
                        [extra, hit_id]).fetchall()
        con.execute("UPDATE raw.hit_extensions SET done_at = ?, outcome = 'added' WHERE unique_request_token = ?",
                    [now, token]).fetchall()


def _abandon(con: duckdb.DuckDBPyConnection, token: str, why: str) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("UPDATE raw.hit_extensions SET done_at = ?, outcome = ? WHERE unique_request_token = ?",
                [now, f"abandoned: {why}", token]).fetchall()


def _settled_on_platform(con: duckdb.DuckDBPyConnection, platform: CrowdPlatform, plan: ExtensionPlan,
                         hit_id: str, token: str) -> str | None:
    """For a resumed plan: 'added' when the HIT already has the assignments, 'abandoned' when it can
    no longer take them (expired, or gone); None when the call is still to be made."""
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        hit = platform.get_hit(hit_id)
    except PlatformError as error:
        # Only the platform's own "does not exist" says the HIT is gone: a connection refused, a
        # throttle or a ServiceFault says nothing of it, and abandoning on one lost the record of
        # assignments the interrupted run had added (and paid for). Those stop the run instead.
        if not is_no_such_hit(error):
            raise
        _abandon(con, token, f"the platform no longer has the HIT ({error})")
        return "abandoned"
    if hit.max_assignments >= plan.from_assignments[hit_id] + plan.extra[hit_id]:
        _mark_done(con, hit_id, plan.extra[hit_id], token)
        return "added"
    if hit.expiration is not None and hit.expiration <= now:
        _abandon(con, token, f"the HIT expired at {hit.expiration:%Y-%m-%d %H:%M} UTC")
        return "abandoned"
    return None


def settle_resumed(con: duckdb.DuckDBPyConnection, platform: CrowdPlatform, plan: ExtensionPlan) -> None:
    """For a resumed plan, ask the platform about each HIT before anything is priced: one that already
    has its assignments (taken before the interruption; MTurk forgets request tokens after 24 hours)
    is recorded as added, one that expired or is gone is abandoned, so one dead HIT cannot hold the
    batch's extensions up for ever. Both leave `plan.extra`, which is then what remains to be paid:
    the price shown and checked against --budget counted them, and refused a budget that covered
    what was left."""
    if plan.resumed_from is None or plan.settled:
        return
    for hit_id in list(plan.extra):
        settled = _settled_on_platform(con, platform, plan, hit_id, plan.tokens[hit_id])
        if settled == "abandoned":
            plan.abandoned.append(hit_id)
        elif settled == "added":
            plan.added_before[hit_id] = plan.extra[hit_id]
        if settled is not None:
            del plan.extra[hit_id]
    plan.settled = True


def extend_batch(con: duckdb.DuckDBPyConnection, platform: CrowdPlatform, plan: ExtensionPlan, *,
                 budget: Decimal, confirm: Callable[[ExtensionPlan], bool] | None = None,
                 on_hit: Callable[[], None] = lambda: None) -> int:
    """Add the planned assignments; refuses over budget (or the balance) before calling anything.

    The plan is written to raw.hit_extensions first and each HIT marked done when the platform has
    taken it. A resumed plan is settled first (settle_resumed), so nothing is added or paid twice
    and the budget is checked against what remains. A HIT the platform says does not exist is
    abandoned (plan.abandoned) and the others extended. Returns the assignments this call added.
    `on_hit` is called after each HIT (see `expire_batch`)."""
    settle_resumed(con, platform, plan)
    if plan.exact_price > budget:
        raise CrowdauditError(f"extension costs ${plan.price}, over the budget of ${budget}; "
                              "nothing was added")
    balance = platform.account_balance()
    if plan.exact_price > balance:
        raise CrowdauditError(f"extension costs ${plan.price} but the account holds ${balance}; nothing was added")
    if confirm is not None and not confirm(plan):
        raise CrowdauditError("extension cancelled; nothing was added")
    if plan.resumed_from is None:
        _write_plan(con, plan, platform.target.name)
    rowids = hit_rowids(con, plan.batch_id)
    added = 0
    for hit_id, n in plan.extra.items():
        try:
            platform.add_assignments(hit_id, n, plan.tokens[hit_id])
        except PlatformError as error:
            if is_no_such_hit(error):
                # Deleted on the platform: nothing added, nothing paid. Stopping here left the rest
                # of the batch unextended until a re-run abandoned it (settle_resumed).
                _abandon(con, plan.tokens[hit_id], f"the platform no longer has the HIT ({error})")
                plan.abandoned.append(hit_id)
                on_hit()
                continue
            if "already been processed" not in str(error):
                raise
        _mark_done(con, hit_id, n, plan.tokens[hit_id], rowids.get(hit_id))
        added += n
        on_hit()
    return added
