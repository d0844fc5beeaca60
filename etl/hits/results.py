"""Published HITs' assignments, fetched from the platform, written as the web site's batch results
CSV, so `crowdaudit ingest` reads API-published work exactly like a downloaded batch file: the
ticked slots as Answer.selected, and every other field the form posted as its own Answer.<name>
column, which ingest keeps in raw.assignments.extra as it does a site file's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from etl.crowd.platform import CrowdPlatform, PlatformError, is_no_such_hit
from etl.errors import CrowdauditError
from etl.hits.answers import SELECTED, AnswerError, answer_fields, api_answer_slots, selected_text
from etl.simulate import RESULT_HEADER

PACIFIC = ZoneInfo("America/Los_Angeles")
# The API does not tell a requester a worker's approval rates; the site's "no history" value.
NO_RATE = "0% (0/0)"


def site_time(value: datetime | None) -> str:
    """UTC -> the site's 'Wed Feb 20 11:04:42 PST 2019' (Pacific time, PST or PDT)."""
    if value is None:
        return ""
    local = value.replace(tzinfo=UTC).astimezone(PACIFIC)
    return local.strftime("%a %b %d %H:%M:%S ") + local.tzname() + local.strftime(" %Y")


def site_answer_columns(fields: list[tuple[str, str]]) -> dict[str, str]:
    """An answer's fields other than `selected` as the site writes them: Answer.<name>, the values
    of a name posted more than once joined with '|'."""
    values: dict[str, list[str]] = {}
    for name, value in fields:
        if name != SELECTED:
            values.setdefault(f"Answer.{name}", []).append(value)
    return {column: "|".join(joined) for column, joined in values.items()}


def none_of_the_batch_error(platform: CrowdPlatform, batch_id: str, n_hits: int, gone: list[str]) -> CrowdauditError:
    """When the platform answers that not one of the batch's HITs exists, it is most likely not the
    one the batch went out on (another AWS account's credentials, an mturk-local started afresh):
    skipped as deleted, they made an empty results file, and a nightly job with the wrong account
    passed. Its answers cannot tell that from a batch whose every HIT was deleted, so the message
    names both."""
    return CrowdauditError(
        f"{platform.target.name} has none of the {n_hits} HITs of batch {batch_id} (it answers that {gone[0]} "
        "does not exist): are these the credentials (AWS account) or the endpoint the batch was published with? "
        "If its HITs were all deleted, or disposed of by MTurk, there is nothing left to fetch, and the answers "
        "already ingested are kept (to follow another batch, give --batch)."
    )


def gone_note(batch_id: str, gone: list[str]) -> str | None:
    """One line for the HITs `results_from_platform` found gone from the platform."""
    if not gone:
        return None
    names = ", ".join(gone[:3]) + (", ..." if len(gone) > 3 else "")
    return (f"note: {len(gone)} HIT(s) of {batch_id} are no longer on the platform ({names}): deleted, or disposed "
            "of by MTurk; their answers already in the warehouse are kept, and none were fetched for them")


def published_hits(con: duckdb.DuckDBPyConnection, batch_id: str) -> list[tuple[str, int, list[str]]]:
    """(hit_id, n_slots, image URLs by slot, '' for an empty slot) of the batch's published HITs."""
    rows = con.execute(
        """
        SELECT h.hit_id, h.n_slots, list(i.image_id ORDER BY i.slot), list(i.slot ORDER BY i.slot)
        FROM raw.hits AS h JOIN raw.hit_items AS i USING (hit_id)
        WHERE h.batch_id = ? AND h.status <> 'planned'
        GROUP BY h.hit_id, h.n_slots ORDER BY h.hit_id
        """,
        [batch_id],
    ).fetchall()
    hits = []
    for hit_id, n_slots, urls, slots in rows:
        by_slot = dict(zip(slots, urls, strict=True))
        hits.append((hit_id, n_slots, [by_slot.get(n, "") for n in range(1, n_slots + 1)]))
    return hits


def results_from_platform(con: duckdb.DuckDBPyConnection, platform: CrowdPlatform, batch_id: str, *,
                          on_hit: Callable[[], None] = lambda: None, gone: list[str] | None = None) -> pl.DataFrame:
    """One row per assignment (ListAssignmentsForHIT), in the site's columns and formats. `on_hit`
    is called after each HIT's calls: two a HIT, minutes for a batch of thousands on MTurk.

    A HIT the platform answers does not exist (its requester deleted it once reviewed, or MTurk
    disposed of it) is left out and its id appended to `gone`: the answers already ingested from it
    stay in the warehouse, as ingest only adds. Refusing stopped every later fetch of the batch,
    and so the nightly job, for good. Any other failure stops the fetch, and so does a platform
    that has none of the batch's HITs (none_of_the_batch_error)."""
    missing: list[str] = []
    rows = []
    other_columns: dict[str, None] = {}  # in the order first seen
    hits = published_hits(con, batch_id)
    n_slots = max((n for _, n, _ in hits), default=0)
    for hit_id, _, urls in hits:
        try:
            hit = platform.get_hit(hit_id)
            assignments = list(platform.list_assignments(hit_id))
        except PlatformError as error:
            if is_no_such_hit(error):
                missing.append(hit_id)
                on_hit()
                continue
            raise CrowdauditError(f"HIT {hit_id}: {error} (no results file was written for batch {batch_id})"
                                  ) from None
        for a in assignments:
            row = dict.fromkeys(RESULT_HEADER, "")
            row.update({
                "HITId": hit.hit_id, "HITTypeId": hit.hit_type_id, "Title": hit.title,
                "Description": hit.description, "Keywords": hit.keywords, "Reward": f"${hit.reward:.2f}",
                "CreationTime": site_time(hit.creation_time), "MaxAssignments": str(hit.max_assignments),
                "RequesterAnnotation": hit.requester_annotation or "",
                "AssignmentDurationInSeconds": str(hit.assignment_duration_in_seconds),
                "AutoApprovalDelayInSeconds": str(hit.auto_approval_delay_in_seconds),
                "Expiration": site_time(hit.expiration),
                "AssignmentId": a.assignment_id, "WorkerId": a.worker_id, "AssignmentStatus": a.status,
                "AcceptTime": site_time(a.accept_time), "SubmitTime": site_time(a.submit_time),
                "AutoApprovalTime": site_time(a.auto_approval_time), "ApprovalTime": site_time(a.approval_time),
                "RejectionTime": site_time(a.rejection_time), "RequesterFeedback": a.requester_feedback or "",
                "WorkTimeInSeconds": str(round((a.submit_time - a.accept_time).total_seconds()))
                if a.submit_time and a.accept_time else "",
                "LifetimeApprovalRate": NO_RATE, "Last30DaysApprovalRate": NO_RATE, "Last7DaysApprovalRate": NO_RATE,
            })
            for n in range(1, n_slots + 1):
                row[f"Input.image{n}"] = urls[n - 1] if n <= len(urls) else ""
            try:
                fields = answer_fields(a.answer)
                row["Answer.selected"] = selected_text(api_answer_slots(fields))
            except AnswerError as error:
                raise CrowdauditError(f"HIT {hit_id}, assignment {a.assignment_id}: {error} (no results file "
                                      f"was written for batch {batch_id})") from None
            other_answers = site_answer_columns(fields)
            row.update(other_answers)
            other_columns.update(dict.fromkeys(other_answers))
            rows.append(row)
        on_hit()
    if missing and len(missing) == len(hits):
        refused = none_of_the_batch_error(platform, batch_id, len(hits), missing)
        raise CrowdauditError(f"{refused} No results file was written")
    if gone is not None:
        gone.extend(missing)
    columns = [*RESULT_HEADER, *[f"Input.image{n}" for n in range(1, n_slots + 1)], "Answer.selected", *other_columns]
    # As on the site, a field an assignment did not post is an empty cell.
    return pl.DataFrame(rows, schema={c: pl.String for c in columns}).fill_null("")

