"""An oracle for the core marts: random batches scored by hand, the way the seed's steps 7-8 do it.

The reference below never reads the warehouse or the SQL. It reads the files the test wrote with
pandas, as the seed's notebook does, counts ticks per URL with a Counter (rejected assignments left
out, as the README's `votes` mart says), takes the majority as more than half the votes (a tie has
no truth), and scores the classifier's groom flag against the majority and against gold, overall,
by region and by language, with precision, recall, F1 and 95% Wilson intervals.
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import query, results_rows
from hypothesis import given, settings
from hypothesis import strategies as st

import etl
from etl.cli import cli
from etl.simulate import write_results_csv

REGIONS_CSV = Path(etl.__file__).parent / "data" / "language_regions.csv"  # the shipped table
# The dataset folder each language lives under; klingon is a language the shipped table does not know.
DATASETS = {
    "hindi": "weddings-indian-languages", "tamil": "weddings-indian-languages",
    "bengali": "weddings-indian-languages", "spanish": "weddings-european-language",
    "french": "weddings-european-language", "klingon": "weddings-other-languages",
}
CLASSES = ["groom", "bridegroom", "vestment", "abaya", "cloak", "gown", "carpenter's_kit", "suit"]
WORKERS = [f"A{n}WORKER" for n in range(1, 8)]
STATUSES = ["Submitted", "Approved", "Rejected"]
Z = 1.96  # the README: 95% Wilson, z = 1.96


def image_urls() -> st.SearchStrategy[list[str]]:
    url = st.builds(
        lambda language, word, file: f"https://x.org/{DATASETS[language]}/{language}/{word}/{file:02d}.jpg",
        st.sampled_from(sorted(DATASETS)), st.integers(1, 40), st.integers(1, 3),
    )
    return st.lists(url, min_size=1, max_size=30, unique=True)


@st.composite
def batches(draw) -> dict:
    """A batch as the site writes it, the seed's predictions file and maybe a gold file."""
    urls = draw(image_urls())
    per_hit = draw(st.integers(1, 12))
    shown = urls[:draw(st.integers(1, len(urls)))]  # the rest have predictions or gold, no HIT
    hit_images = [shown[i:i + per_hit] for i in range(0, len(shown), per_hit)]
    again = draw(st.lists(st.sampled_from(shown), unique=True, max_size=per_hit))
    if again:  # images shown in a second HIT too, as gold images are
        hit_images.append(again)
    hits, answers = {}, []
    for h, images in enumerate(hit_images):
        hit_id = f"3HIT{h:04d}"
        hits[hit_id] = images + [""] * (per_hit - len(images))  # blank Input.imageK, as the site writes
        workers = draw(st.permutations(WORKERS))[:draw(st.integers(1, 5))]
        for w, worker in enumerate(workers):
            ticked = draw(st.lists(st.sampled_from([f"image{k}" for k in range(1, len(images) + 1)]),
                                   unique=True))
            if draw(st.booleans()) and (not ticked or draw(st.booleans())):
                ticked.append("none_of_the_above")
            answers.append({"AssignmentId": f"3ASSIGN{h:04d}{w}", "HITId": hit_id, "WorkerId": worker,
                            "selected": "|".join(ticked), "status": draw(st.sampled_from(STATUSES))})
    predictions = []
    for url in urls:
        if draw(st.integers(0, 4)) == 0:  # an image the classifier never saw
            continue
        labels = draw(st.lists(st.sampled_from(CLASSES), min_size=1, max_size=3, unique=True))
        predictions.append({"path": url, "predictions": labels,
                            "predictions_include_groom_or_bridegroom": bool({"groom", "bridegroom"} & set(labels))})
    gold = None
    if draw(st.booleans()):
        gold = [{"url": url, "truth": truth} for url in urls
                if (truth := draw(st.sampled_from([None, None, True, False]))) is not None]
    return {"hits": hits, "answers": answers, "predictions": predictions, "gold": gold}


def write_batch_files(batch: dict, folder: Path) -> dict[str, Path]:
    files = {"results": write_results_csv(results_rows(batch["hits"], batch["answers"]),
                                          folder / "Batch_1_batch_results.csv")}
    files["predictions"] = folder / "image_paths_and_predictions.csv"
    pd.DataFrame(batch["predictions"], columns=["path", "predictions", "predictions_include_groom_or_bridegroom"]
                 ).to_csv(files["predictions"])  # as the seed's notebook writes it: index column, list reprs
    if batch["gold"]:
        files["gold"] = folder / "gold.csv"
        pd.DataFrame(batch["gold"]).to_csv(files["gold"], index=False)
    return files


# ---- the seed's method, by hand -------------------------------------------------------------

def seed_vote_counts(results_csv: Path) -> dict[str, tuple[int, int]]:
    """Step 7: per URL, (votes, ticks) over every row of the batch CSV but rejected ones."""
    frame = pd.read_csv(results_csv, dtype=str, keep_default_na=False)
    votes, yes = Counter(), Counter()
    for _, row in frame.iterrows():
        if row["AssignmentStatus"] == "Rejected":
            continue
        true_images = row["Answer.selected"].split("|")
        for column in [c for c in frame.columns if c.startswith("Input.image")]:
            url = row[column]
            if not url:
                continue
            votes[url] += 1
            yes[url] += column.removeprefix("Input.") in true_images
    return {url: (votes[url], yes[url]) for url in votes}


def seed_majority(counts: dict[str, tuple[int, int]]) -> dict[str, bool | None]:
    """Step 8: true when more than half the workers ticked it (2 or more of 3); a tie is no truth."""
    return {url: (True if 2 * n_yes > n_votes else False if 2 * n_yes < n_votes else None)
            for url, (n_votes, n_yes) in counts.items()}


def seed_predictions(predictions_csv: Path) -> dict[str, bool]:
    frame = pd.read_csv(predictions_csv, index_col=0)
    return {row["path"]: row["predictions_include_groom_or_bridegroom"] in (True, "True")
            for _, row in frame.iterrows()}


def seed_gold(gold_csv: Path | None) -> dict[str, bool]:
    if gold_csv is None:
        return {}
    return {row["url"]: row["truth"] in (True, "True") for _, row in pd.read_csv(gold_csv).iterrows()}


def language_and_region(url: str, regions: dict[str, str], registered: set[str]) -> tuple[str, str]:
    """From the dataset layout .../<language>/<word>/<file> and the shipped table. Only images the
    warehouse registered (those a results file showed: we load no image manifest) have any."""
    language = url.split("/")[-3]
    if url not in registered or language not in regions:
        return "unknown", "unknown"
    return language, regions[language]


def wilson(k: int, n: int) -> tuple[float, float] | tuple[None, None]:
    """Wilson's 1927 score interval: the p whose z-test against k/n is exactly at |z| = 1.96."""
    if n == 0:
        return None, None
    # solve (k/n - p)^2 = z^2 p (1 - p) / n for p
    a = 1 + Z * Z / n
    b = -(2 * k / n + Z * Z / n)
    c = (k / n) ** 2
    root = math.sqrt(max(b * b - 4 * a * c, 0.0))
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None  # undefined, not 0: NULL in the mart


def seed_metrics(truths: dict[str, dict[str, bool]], predicted: dict[str, bool],
                 regions: dict[str, str], registered: set[str]) -> dict[tuple[str, str, str], dict]:
    """Step 8's precision/recall/F1 per (truth_source, grouping, group), on images with a truth
    and a prediction."""
    cells = defaultdict(Counter)
    for source, truth in truths.items():
        for url, is_wedding in truth.items():
            if url not in predicted:
                continue
            language, region = language_and_region(url, regions, registered)
            outcome = {(True, True): "tp", (True, False): "fp", (False, True): "fn",
                       (False, False): "tn"}[predicted[url], is_wedding]
            for grouping, group in (("all", "all"), ("region", region), ("language", language)):
                cells[source, grouping, group][outcome] += 1
    metrics = {}
    for key, c in cells.items():
        tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]
        precision_lo, precision_hi = wilson(tp, tp + fp)
        recall_lo, recall_hi = wilson(tp, tp + fn)
        metrics[key] = {
            "n": tp + fp + fn + tn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn), "f1": ratio(2 * tp, 2 * tp + fp + fn),
            "precision_lo": precision_lo, "precision_hi": precision_hi,
            "recall_lo": recall_lo, "recall_hi": recall_hi,
        }
    return metrics


def shipped_regions() -> dict[str, str]:
    with REGIONS_CSV.open(newline="") as handle:
        return {row["language"]: row["region"] for row in csv.DictReader(handle)}


# ---- the property ---------------------------------------------------------------------------

METRIC_COLUMNS = ["n", "tp", "fp", "fn", "tn", "precision", "recall", "f1",
                  "precision_lo", "precision_hi", "recall_lo", "recall_hi"]


def close(actual: float | None, expected: float | None) -> bool:
    if expected is None or actual is None:
        return actual is expected
    return math.isclose(actual, expected, rel_tol=0, abs_tol=1e-9)


@settings(max_examples=25, deadline=None)
@given(batch=batches())
def test_vote_counts_majority_and_metrics_match_the_seed_method_on_random_batches(batch):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_batch_files(batch, folder)
        warehouse = folder / "wh" / "crowdaudit.duckdb"
        runner = CliRunner()
        # a file with a header and no rows is refused, so an empty one is not loaded
        commands = [["load", kind, str(files[kind])] for kind in ("predictions", "gold") if batch[kind]]
        commands += [["ingest", str(files["results"])], ["build"]]
        for command in commands:
            result = runner.invoke(cli, ["--warehouse", str(warehouse), "--silent", *command], catch_exceptions=False)
            assert result.exit_code == 0, (command, result.output)

        counts = seed_vote_counts(files["results"])
        marts_counts = {url: (n_votes, n_yes) for url, n_votes, n_yes in
                        query(warehouse, "SELECT image_id, n_votes, n_yes FROM vote_counts")}
        assert marts_counts == counts

        majority = seed_majority(counts)
        assert dict(query(warehouse, "SELECT image_id, majority FROM majority_labels")) == majority

        registered = {url for urls in batch["hits"].values() for url in urls if url}
        expected = seed_metrics(
            {"majority": {url: truth for url, truth in majority.items() if truth is not None},
             "gold": seed_gold(files.get("gold"))},
            seed_predictions(files["predictions"]), shipped_regions(), registered,
        )
        rows = query(warehouse, f"""
            SELECT truth_source, grouping, grp, {", ".join(METRIC_COLUMNS)} FROM classifier_metrics
            WHERE truth_source IN ('majority', 'gold') AND grouping IN ('all', 'region', 'language')""")
        actual = {tuple(row[:3]): dict(zip(METRIC_COLUMNS, row[3:])) for row in rows}
        assert sorted(actual) == sorted(expected)
        for key, values in expected.items():
            for column in ("n", "tp", "fp", "fn", "tn"):
                assert actual[key][column] == values[column], (key, column)
            for column in METRIC_COLUMNS[5:]:
                assert close(actual[key][column], values[column]), (key, column, actual[key][column], values[column])


def test_the_reference_wilson_interval_is_the_textbook_one():
    # 3 of 5 at 95%: the closed form (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    lo, hi = wilson(3, 5)
    assert lo == pytest.approx(0.2307, abs=1e-4) and hi == pytest.approx(0.8824, abs=1e-4)
    assert wilson(0, 4)[0] == pytest.approx(0.0, abs=1e-12) and wilson(4, 4)[1] == pytest.approx(1.0, abs=1e-12)
