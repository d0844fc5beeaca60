"""Opt-in: publish one real HIT to MTurk's sandbox (no money moves there) and expire it.

Runs only with CROWDAUDIT_SANDBOX_TESTS=1 and AWS credentials in boto3's chain; skipped (and
counted as skipped) otherwise.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest

from etl.crowd.mturk import MTurkPlatform, target_for
from etl.crowd.platform import seed_qualifications
from etl.hits.plan import HitDesign, build_hits
from etl.hits.publish import publish_batch
from etl.hits.template import slot_images
from etl.warehouse import open_warehouse

pytestmark = pytest.mark.skipif(
    os.environ.get("CROWDAUDIT_SANDBOX_TESTS") != "1" or boto3.Session().get_credentials() is None,
    reason="opt-in: set CROWDAUDIT_SANDBOX_TESTS=1 with AWS credentials to publish to the MTurk sandbox",
)


def test_one_hit_published_to_the_sandbox_reads_back_and_expires(warehouse):
    urls = ["https://upload.wikimedia.org/wikipedia/commons/a/a9/Example.jpg", "https://example.org/2.jpg"]
    platform = MTurkPlatform(target_for())
    with open_warehouse(warehouse, read_only=False) as con:
        con.executemany("INSERT INTO raw.images (image_id, load_id) VALUES (?, 1)", [[u] for u in urls])
        batch = build_hits(con, HitDesign(per_hit=2, assignments=1, gold_per_hit=0,
                                          lifetime_in_seconds=3600), seed=1)
        report = publish_batch(con, platform, batch_id=batch.batch_id, budget=Decimal("0.05"),
                               qualifications=seed_qualifications())
    assert len(report.created) == 1
    hit = platform.get_hit(report.created[0])
    try:
        assert hit.max_assignments == 1 and hit.reward == Decimal("0.01")
        assert set(slot_images(hit.question).values()) == set(urls)
    finally:
        platform.set_expiration(hit.hit_id, datetime.now(UTC))
