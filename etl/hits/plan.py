"""`crowdaudit hits build`: plan a batch of HITs from images that have none yet, gold mixed in.

Planned HITs go into raw.hits (status 'planned', a local hit_id until a platform gives a real one)
and raw.hit_items (is_gold set), the design into raw.hit_batches, and the web site's input file
`variables.csv` (columns image1..imageN) is written from the same rows, so the web-site path and
the API path publish exactly the same HITs. Gold images sit at random slots (workers cannot spot
them by position), distinct within a HIT, and every HIT gets at least one when gold exists, as
the second seed recommends (5-10% known-answer tasks).
"""

from __future__ import annotations

import hashlib
import html.entities
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from etl.atomic_file import replaced_whole
from etl.crowd.mturk import LIVE_SUBMIT, SANDBOX_SUBMIT
from etl.errors import CrowdauditError, is_interrupt
from etl.hits.pricing import Price, is_whole_cents, price_hits
from etl.hits.template import (
    DEFAULT_DESCRIPTION,
    DEFAULT_KEYWORDS,
    DEFAULT_TITLE,
    MAX_QUESTION_BYTES,
    question_sizes,
    slot_name,
)
from etl.load.images import HTTP_URL
from etl.load.loadlog import next_load_id, record_load
from etl.load.transaction import staged
from etl.simulate import distinct_draws
from etl.warehouse import transaction

DEFAULT_LIFETIME = 7 * 24 * 3600
DEFAULT_ASSIGNMENT_DURATION = 3600
DEFAULT_AUTO_APPROVAL_DELAY = 3 * 24 * 3600
PLANNED = "planned"
PUBLISHED = "published"
# Images to plan: every image with its region (as staging derives it), for --where to filter on.
CANDIDATES = """
SELECT i.image_id, i.path, i.language, i.word, coalesce(i.region, r.region, 'unknown') AS region
FROM raw.images AS i
LEFT JOIN raw.language_regions AS r ON r.language = lower(i.language)
"""


@dataclass(frozen=True)
class HitDesign:
    """The choices of `hits build`: what a HIT looks like and what it pays."""

    per_hit: int = 12
    assignments: int = 3
    reward: Decimal = Decimal("0.01")
    gold_per_hit: int | None = 1
    gold_rate: float | None = None
    title: str = DEFAULT_TITLE
    description: str = DEFAULT_DESCRIPTION
    keywords: str = DEFAULT_KEYWORDS
    lifetime_in_seconds: int = DEFAULT_LIFETIME
    assignment_duration_in_seconds: int = DEFAULT_ASSIGNMENT_DURATION
    auto_approval_delay_in_seconds: int = DEFAULT_AUTO_APPROVAL_DELAY

    def gold_slots(self, n_gold: int) -> int:
        """Gold images per HIT: --gold-rate of the slots (at least one) or --gold-per-hit, never more
        than the gold there is, and never the whole HIT."""
        if n_gold == 0:
            return 0
        if self.gold_rate is not None:
            wanted = max(1, round(self.per_hit * self.gold_rate)) if self.gold_rate > 0 else 0
        else:
            wanted = self.gold_per_hit or 0
        return min(wanted, n_gold, self.per_hit - 1)


@dataclass(frozen=True)
class PlannedBatch:
    batch_id: str
    n_hits: int
    n_images: int
    gold_per_hit: int
    variables_csv: Path | None
    price: Price
    seed: int
    site_garbled: pl.Series  # image URLs the requester site's page would show as another URL


def validate_design(design: HitDesign) -> None:
    if design.per_hit < 1:
        raise CrowdauditError("--per-hit must be at least 1")
    if design.assignments < 1:
        raise CrowdauditError("--assignments must be at least 1")
    if design.reward < Decimal("0.01"):
        raise CrowdauditError("--reward must be at least $0.01 (MTurk's minimum)")
    if not is_whole_cents(design.reward):
        raise CrowdauditError(f"--reward ${design.reward} is not a whole number of cents (MTurk pays whole cents)")
    if design.gold_rate is not None and not 0 <= design.gold_rate < 1:
        raise CrowdauditError("--gold-rate must be in [0, 1)")


def candidate_images(con: duckdb.DuckDBPyConnection, where: str | None, *, limit: int | None = None) -> pl.Series:
    """Images with no HIT yet and no gold answer, in a stable order (so --seed reproduces a plan);
    the first `limit` of them only, so that a small batch out of 35 million images does not bring
    every one of them into Python."""
    predicate = f"WHERE ({where})" if where else ""
    query = (
        f"SELECT image_id FROM (SELECT * FROM ({CANDIDATES}) AS images {predicate}) AS chosen "
        "ANTI JOIN raw.hit_items USING (image_id) ANTI JOIN raw.gold USING (image_id) ORDER BY image_id"
        + ("" if limit is None else f" LIMIT {int(limit)}")
    )
    try:
        return con.sql(query).pl()["image_id"]
    except duckdb.Error as error:
        if is_interrupt(error):  # a Ctrl-C, not a fault of the condition
            raise
        raise CrowdauditError(
            f"--where {where!r} is not a valid condition on image_id, path, language, word, region: {error}"
        ) from error


def showable_gold(con: duckdb.DuckDBPyConnection) -> pl.Series:
    """Gold images a HIT can show, in a stable order: gold keyed by the task id of long-format votes
    (`load gold` with a task column) names no picture, and mixed into a HIT it became an <img> of
    'q17' that no worker can judge. Gold whose URL holds a double quote is left out (see refuse_quotes)."""
    gold = con.sql("SELECT image_id FROM raw.gold ORDER BY image_id").pl()
    showable = pl.col("image_id").str.contains(HTTP_URL) & ~pl.col("image_id").str.contains('"', literal=True)
    return gold.filter(showable)["image_id"]


def refuse_quotes(image_ids: pl.Series) -> None:
    """Refuse image URLs holding a double quote. The requester site pastes variables.csv's values
    into the layout's src="${image1}" as they are (it does not escape HTML), so a quote ends the
    attribute and the rest of the URL becomes HTML of the worker's page (onerror="..." runs). A
    real URL carries it percent-encoded (%22), as browsers send it anyway."""
    quoted = image_ids.filter(image_ids.str.contains('"', literal=True))
    if quoted.len():
        raise CrowdauditError(
            f"{quoted.len()} image URL(s) hold a double quote, e.g. {quoted[0]!r}: the requester site pastes each URL "
            'into the page\'s src="..." unescaped, where the quote would end it and the rest run as HTML. Load them '
            "with the quote percent-encoded (%22), or leave them out: --where \"NOT contains(image_id, chr(34))\""
        )


# The requester site pastes variables.csv's values into src="${imageN}" as they are, and a browser
# decodes character references there (HTML's rules for an attribute): `&#38;`, `&amp;`, and a
# legacy name such as `&not` or `&reg` unless a letter, a digit or `=` follows it.
_NAMED = sorted(html.entities.html5, key=len, reverse=True)
SITE_DECODES = ("&(?:#[0-9]|#[xX][0-9A-Fa-f]|(?:" + "|".join(n[:-1] for n in _NAMED if n.endswith(";"))
                + ");|(?:" + "|".join(n for n in _NAMED if not n.endswith(";")) + ")(?:[^A-Za-z0-9=]|$))")


def site_garbled(image_ids: pl.Series) -> pl.Series:
    """Image URLs the requester site would show as another URL (`?a=1&not_b=2` as `?a=1¬_b=2`):
    the worker sees a broken picture and answers no. The API path escapes them (`hits publish`)."""
    return image_ids.filter(image_ids.str.contains(SITE_DECODES))


def refuse_oversized(items: pl.DataFrame, *, title: str) -> None:
    """Refuse a plan with a HIT whose HTMLQuestion MTurk would refuse (over 64 KB: long URLs, many
    slots). `hits publish` refuses it too, but by then its images all have a HIT, and no re-run of
    `hits build` plans them again. Sized with the longer of MTurk's two submit URLs."""
    submit_url = max(LIVE_SUBMIT, SANDBOX_SUBMIT, key=len)
    sizes = question_sizes(items.select("hit_id", "image_id"), key="hit_id", submit_url=submit_url, title=title)
    over = sizes.filter(pl.col("question_bytes") > MAX_QUESTION_BYTES).sort("question_bytes", descending=True)
    if over.height:
        raise CrowdauditError(
            f"{over.height} of the {sizes.height} HITs would be over MTurk's size limit for a question (the largest "
            f"{over['question_bytes'][0]} bytes as an HTMLQuestion; MTurk accepts at most {MAX_QUESTION_BYTES}); "
            "nothing was planned. Use fewer images per HIT (--per-hit), or leave the longest URLs out "
            '(--where "length(image_id) < 2000")'
        )


def plan_items(fresh: pl.Series, gold: pl.Series, *, per_hit: int, gold_per_hit: int, seed: int) -> pl.DataFrame:
    """(hit_number, slot, image_id, is_gold): fresh images shuffled into HITs of per_hit - gold_per_hit,
    gold_per_hit distinct gold images added to each, slots shuffled within each HIT. The URLs stay
    in polars (gathered by the drawn positions), never Python strings."""
    rng = np.random.default_rng([seed, 5])
    fresh_per_hit = per_hit - gold_per_hit
    fresh_ids = fresh.gather(rng.permutation(len(fresh)))
    n_hits = -(-len(fresh) // fresh_per_hit)
    hit_of_fresh = np.arange(len(fresh)) // fresh_per_hit
    gold_hit = np.repeat(np.arange(n_hits), gold_per_hit)
    # Distinct within each HIT: an image shows once per HIT.
    gold_pick = distinct_draws(rng, n_hits, gold_per_hit, len(gold), attempts=1000)
    gold_ids = gold.gather(gold_pick.ravel()) if gold_per_hit else gold.clear()
    items = pl.DataFrame({
        "hit_number": np.concatenate([hit_of_fresh, gold_hit]).astype(np.int64),
        "image_id": pl.concat([fresh_ids, gold_ids]),
        "is_gold": np.concatenate([np.zeros(len(fresh_ids), bool), np.ones(len(gold_ids), bool)]),
        "order": rng.random(len(fresh_ids) + len(gold_ids)),
    })
    return (
        items.sort("hit_number", "order")
        .with_columns(pl.col("order").rank("ordinal").over("hit_number").cast(pl.Int32).alias("slot"))
        .select("hit_number", "slot", "image_id", "is_gold")
    )


def next_batch_number(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) + 1 FROM raw.hit_batches").fetchall()[0][0]


def variables_frame(items: pl.DataFrame, *, per_hit: int) -> pl.DataFrame:
    """The web site's input file: one row per HIT, columns image1..imageN, blank for a short last HIT."""
    wide = items.with_columns(pl.format("image{}", "slot").alias("column")).pivot(
        on="column", index="hit_id", values="image_id"
    ).sort("hit_id")
    return wide.select(
        *[(pl.col(slot_name(n)) if slot_name(n) in wide.columns else pl.lit(None, pl.String)).fill_null("")
          .alias(slot_name(n)) for n in range(1, per_hit + 1)]
    )


def batch_variables(con: duckdb.DuckDBPyConnection, batch_id: str) -> tuple[str, int]:
    """(variables.csv's text, its HITs) for a planned batch, from the warehouse: byte for byte
    the file `hits build` wrote, so one overwritten by a later build, or lost, can be written again
    (its images all have a HIT, so no later build plans them)."""
    per_hit = con.execute("SELECT per_hit FROM raw.hit_batches WHERE batch_id = ?", [batch_id]).fetchall()
    if not per_hit:
        known = [row[0] for row in con.execute("SELECT batch_id FROM raw.hit_batches ORDER BY created_at").fetchall()]
        raise CrowdauditError(f"no batch {batch_id} in the warehouse; its batches: {', '.join(known) or 'none'}")
    items = con.sql(
        "SELECT i.hit_id, i.slot, i.image_id FROM raw.hit_items AS i JOIN raw.hits AS h USING (hit_id) "
        "WHERE h.batch_id = $batch",
        params={"batch": batch_id},
    ).pl()
    variables = variables_frame(items, per_hit=per_hit[0][0])
    return variables.write_csv(), variables.height


@contextmanager
def written_on_commit(path: Path | None, text: str) -> Iterator[None]:
    """Write the web site's file beside `path` before the batch commits, and rename it into place
    after. Written after the commit, a file that could not be written (a folder that is a file, a
    full disk) left a batch planned with no variables.csv, and a re-run planned nothing: its images
    all have a HIT. Now the batch is planned only if its file is written."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_whole(path) as partial:
        partial.write_text(text, encoding="utf-8")
        yield


def build_hits(
    con: duckdb.DuckDBPyConnection,
    design: HitDesign,
    *,
    where: str | None = None,
    seed: int | None = None,
    variables_csv: Path | None = None,
    limit: int | None = None,
) -> PlannedBatch | None:
    """Plan one batch in one transaction; None when every matching image already has a HIT."""
    validate_design(design)
    seed = secrets.randbelow(2**31) if seed is None else seed
    fresh = candidate_images(con, where, limit=limit)
    if fresh.is_empty():
        return None
    refuse_quotes(fresh)
    gold = showable_gold(con)
    gold_per_hit = design.gold_slots(len(gold))
    number = next_batch_number(con)
    batch_id = f"crowdaudit-{number}"
    items = plan_items(fresh, gold, per_hit=design.per_hit, gold_per_hit=gold_per_hit, seed=seed)
    items = items.with_columns(pl.format("local-{}-{}", pl.lit(number), (pl.col("hit_number") + 1)
                                         .cast(pl.String).str.zfill(6)).alias("hit_id"))
    refuse_oversized(items, title=design.title)
    n_hits = items["hit_number"].n_unique()
    variables = variables_frame(items, per_hit=design.per_hit)
    variables_text = variables.write_csv()
    started_at = datetime.now(UTC).replace(tzinfo=None)
    hits = items.select("hit_id").unique().sort("hit_id").with_columns(
        pl.lit(batch_id).alias("batch_id"),
        # Unique to this planning, not only to this warehouse: publish recognises a HIT it created
        # before a crash by this annotation, and another warehouse's crowdaudit-1 must not match.
        (pl.lit("crowdaudit:") + pl.col("hit_id") + pl.lit(":" + secrets.token_hex(6))).alias("requester_annotation"),
    )
    variables_csv = None if variables_csv is None else Path(variables_csv)
    with written_on_commit(variables_csv, variables_text), \
            staged(con, planned_hits=hits, planned_items=items.select("hit_id", "slot", "image_id", "is_gold")), \
            transaction(con):
        load_id = next_load_id(con)
        con.execute(
            "INSERT INTO raw.hit_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [batch_id, started_at, design.per_hit, design.assignments, design.reward, gold_per_hit, where, seed,
             n_hits, len(fresh), design.title, design.description, design.keywords, design.lifetime_in_seconds,
             design.assignment_duration_in_seconds, design.auto_approval_delay_in_seconds],
        )
        con.execute(
            """
            INSERT INTO raw.hits BY NAME
            SELECT hit_id, batch_id, requester_annotation, ? AS title, ? AS description, ? AS keywords,
                   ? AS reward, ? AS max_assignments, ? AS assignment_duration_in_seconds,
                   ? AS auto_approval_delay_in_seconds, ? AS lifetime_in_seconds, ? AS n_slots,
                   'planned' AS status, ? AS load_id
            FROM planned_hits
            """,
            [design.title, design.description, design.keywords, design.reward, design.assignments,
             design.assignment_duration_in_seconds, design.auto_approval_delay_in_seconds,
             design.lifetime_in_seconds, design.per_hit, load_id],
        ).fetchall()
        con.execute("INSERT INTO raw.hit_items SELECT hit_id, slot, image_id, is_gold FROM planned_items").fetchall()
        record_load(
            con, load_id=load_id, kind="hit_plan", source_file=variables_csv or Path(f"{batch_id}.variables.csv"),
            sha256=hashlib.sha256(variables_text.encode()).hexdigest(), rows_in_file=n_hits,
            rows_inserted=n_hits, rows_updated=0, started_at=started_at,
        )
    return PlannedBatch(
        batch_id=batch_id, n_hits=n_hits, n_images=len(fresh), gold_per_hit=gold_per_hit,
        variables_csv=variables_csv, seed=seed,
        price=price_hits(n_hits, assignments=design.assignments, reward=design.reward),
        site_garbled=site_garbled(items["image_id"].unique().sort()),
    )


def latest_batch(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute("SELECT batch_id FROM raw.hit_batches ORDER BY created_at DESC, batch_id DESC LIMIT 1")
    found = rows.fetchall()
    return found[0][0] if found else None

