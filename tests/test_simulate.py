"""`crowdaudit simulate`: results files a simulated crowd writes must ingest and build."""

from __future__ import annotations

import polars as pl
from conftest import query


def test_several_gold_images_per_hit_are_different_images_and_the_batch_builds(tmp_path, run_cli, warehouse):
    urls = [f"https://x.example/w/hindi/{k}/01.jpg" for k in range(1, 6)]
    (tmp_path / "truth.csv").write_text("url,truth\n" + "".join(f"{u},{k % 2 == 0}\n" for k, u in enumerate(urls)))
    (tmp_path / "gold.csv").write_text(f"url,truth\n{urls[0]},True\n{urls[1]},False\n")
    results = tmp_path / "Batch_5_batch_results.csv"
    for seed in range(5):
        run_cli("simulate", "--truth", str(tmp_path / "truth.csv"), "--gold", str(tmp_path / "gold.csv"),
                "--per-hit", "4", "--gold-per-hit", "2", "--workers", "5", "--seed", str(seed), "-o", str(results))
        shown = pl.read_csv(results, infer_schema=False).select(pl.concat_list(pl.col("^Input.image.*$")))
        assert all(len(set(filter(None, row))) == len(list(filter(None, row))) for row in shown.to_series())
    run_cli("ingest", str(results))
    run_cli("build")
    assert query(warehouse, "SELECT count(*) > 0 FROM votes") == [(True,)]


def test_more_gold_per_hit_than_gold_images_is_refused(tmp_path, run_cli):
    (tmp_path / "truth.csv").write_text("url,truth\nhttps://x.example/a.jpg,true\nhttps://x.example/b.jpg,false\n")
    (tmp_path / "gold.csv").write_text("url,truth\nhttps://x.example/a.jpg,true\n")
    result = run_cli("simulate", "--truth", str(tmp_path / "truth.csv"), "--gold", str(tmp_path / "gold.csv"),
                     "--gold-per-hit", "2", "-o", str(tmp_path / "r.csv"), expect=2)
    assert "has only 1 images" in result.output


def test_a_results_file_that_fails_halfway_leaves_the_earlier_file_whole(tmp_path, monkeypatch):
    """A reader must never find a cut-off results file: it would load as a smaller batch."""
    import errno
    import os

    import pytest

    from etl.simulate import write_results_csv

    target = tmp_path / "Batch_1_batch_results.csv"
    write_results_csv(pl.DataFrame({"HITId": ["H1"], "Input.image1": ["https://x/1.jpg"]}), target)
    before = target.read_bytes()

    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    rows = pl.DataFrame({"HITId": [f"H{i}" for i in range(5000)], "Input.image1": ["https://x/2.jpg"] * 5000})
    with pytest.raises(OSError, match="No space"):
        write_results_csv(rows, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_every_gold_image_in_every_hit_is_drawn_without_a_repeat(tmp_path, run_cli, warehouse):
    """--gold-per-hit equal to the gold there is: redrawing rows alone gave up ('could not draw')."""
    urls = [f"https://x.example/w/hindi/{k}/01.jpg" for k in range(1, 411)]
    (tmp_path / "truth.csv").write_text("url,truth\n" + "".join(f"{u},{k % 2 == 0}\n" for k, u in enumerate(urls)))
    (tmp_path / "gold.csv").write_text("url,truth\n" + "".join(f"{u},{k % 2 == 0}\n" for k, u in enumerate(urls[:10])))
    results = tmp_path / "Batch_5_batch_results.csv"
    run_cli("simulate", "--truth", str(tmp_path / "truth.csv"), "--gold", str(tmp_path / "gold.csv"),
            "--per-hit", "12", "--gold-per-hit", "10", "--workers", "5", "-o", str(results))
    shown = pl.read_csv(results, infer_schema=False).select(pl.concat_list(pl.col("^Input.image.*$"))).to_series()
    assert shown.len() == 200 * 3
    assert all(len(set(filter(None, row))) == len(list(filter(None, row))) == 12 for row in shown)
    run_cli("ingest", str(results))


def test_two_batches_simulated_with_the_same_seed_ingest_side_by_side(tmp_path, run_cli, warehouse):
    """Ids came from the seed alone: a second batch (other images, default seed 0) reused the first's
    HIT ids, and ingest refused it as changing the images of those HITs."""
    for batch, first in (("1", 1), ("2", 101)):
        urls = [f"https://x.example/w/hindi/{k}/01.jpg" for k in range(first, first + 24)]
        truth = tmp_path / f"truth{batch}.csv"
        truth.write_text("url,truth\n" + "".join(f"{u},{k % 2 == 0}\n" for k, u in enumerate(urls)))
        run_cli("simulate", "--truth", str(truth), "--workers", "5", "-o", str(tmp_path / f"Batch_{batch}_results.csv"))
        run_cli("ingest", str(tmp_path / f"Batch_{batch}_results.csv"))
    assert query(warehouse, "SELECT count(DISTINCT hit_id), count(DISTINCT image_id) FROM raw.hit_items") == [(4, 48)]
    assert query(warehouse, "SELECT count(DISTINCT assignment_id) FROM raw.assignments") == [(12,)]


def test_the_same_batch_and_seed_simulate_the_same_file(tmp_path, run_cli):
    urls = [f"https://x.example/w/hindi/{k}/01.jpg" for k in range(1, 25)]
    (tmp_path / "truth.csv").write_text("url,truth\n" + "".join(f"{u},{k % 2 == 0}\n" for k, u in enumerate(urls)))
    for name in ("a.csv", "b.csv"):
        run_cli("simulate", "--truth", str(tmp_path / "truth.csv"), "--workers", "5", "-o", str(tmp_path / name))
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def write_three_image_truth(path):
    """a.jpg shows a wedding; b.jpg and c.jpg do not."""
    path.write_text("url,truth\nhttps://x.example/a.jpg,true\nhttps://x.example/b.jpg,false\n"
                    "https://x.example/c.jpg,false\n")


def test_gold_filling_every_slot_is_refused_with_a_usage_message(tmp_path, run_cli):
    write_three_image_truth(tmp_path / "truth.csv")
    (tmp_path / "gold.csv").write_text("url,truth\nhttps://x.example/a.jpg,true\nhttps://x.example/b.jpg,false\n")
    result = run_cli("simulate", "--truth", str(tmp_path / "truth.csv"), "--gold", str(tmp_path / "gold.csv"),
                     "--per-hit", "2", "--gold-per-hit", "2", "-o", str(tmp_path / "r.csv"), expect=2)
    assert "leaves no slot" in result.output
    assert not (tmp_path / "r.csv").exists()


def test_a_reward_that_is_not_whole_cents_is_refused_not_written_as_another(tmp_path, run_cli):
    """--reward 0.015 was a float, written as "$0.01" (0.015 is 0.01499... in binary): the file
    claimed another reward than asked. Rewards are whole cents, as hits build and cost take them."""
    (tmp_path / "truth.csv").write_text("url,truth\nhttps://x.example/a.jpg,true\nhttps://x.example/b.jpg,false\n")
    args = ("simulate", "--truth", str(tmp_path / "truth.csv"), "--workers", "3", "-o", str(tmp_path / "r.csv"))
    result = run_cli(*args, "--reward", "0.015", expect=2)
    assert "whole number of cents" in result.output
    run_cli(*args, "--reward", "$1.10")
    assert pl.read_csv(tmp_path / "r.csv", infer_schema=False)["Reward"].unique().to_list() == ["$1.10"]


def test_a_seed_the_random_generators_cannot_take_is_refused_as_a_usage_error(tmp_path, run_cli):
    (tmp_path / "truth.csv").write_text("url,truth\nhttps://x.example/a.jpg,true\nhttps://x.example/b.jpg,false\n")
    args = ("simulate", "--truth", str(tmp_path / "truth.csv"), "--workers", "3", "-o", str(tmp_path / "r.csv"))
    for seed in ("-1", str(2**63)):
        assert "--seed" in run_cli(*args, "--seed", seed, expect=2).output
    assert not (tmp_path / "r.csv").exists()
    run_cli(*args, "--seed", str(2**63 - 1))


def test_a_spammer_share_that_is_not_a_number_is_refused_as_a_usage_error(tmp_path, run_cli):
    (tmp_path / "truth.csv").write_text("url,truth\nhttps://x.example/a.jpg,true\nhttps://x.example/b.jpg,false\n")
    result = run_cli("simulate", "--truth", str(tmp_path / "truth.csv"), "--workers", "3", "--spammers", "nan",
                     "-o", str(tmp_path / "r.csv"), expect=2)
    assert "--spammers" in result.output
    assert not (tmp_path / "r.csv").exists()


def test_a_truth_file_of_task_ids_is_refused_at_its_row_not_written_as_a_file_ingest_refuses(tmp_path, run_cli):
    (tmp_path / "truth.csv").write_text("task,truth\nhttps://x.example/a.jpg,true\nt2,false\n")
    result = run_cli("simulate", "--truth", str(tmp_path / "truth.csv"), "--workers", "3",
                     "-o", str(tmp_path / "r.csv"), expect=1)
    assert "truth.csv, row 3, column task: task 't2' is not an http(s) URL" in result.output
    assert not (tmp_path / "r.csv").exists()


def test_as_many_assignments_per_hit_as_workers_gives_every_hit_each_worker_once(tmp_path, run_cli):
    urls = [f"https://x.example/w/hindi/{k}/01.jpg" for k in range(1, 25)]
    (tmp_path / "truth.csv").write_text("url,truth\n" + "".join(f"{u},{k % 2 == 0}\n" for k, u in enumerate(urls)))
    results = tmp_path / "Batch_6_batch_results.csv"
    run_cli("simulate", "--truth", str(tmp_path / "truth.csv"), "--per-hit", "4", "--workers", "10",
            "--assignments", "10", "-o", str(results))
    per_hit = pl.read_csv(results, infer_schema=False).group_by("HITId").agg(pl.col("WorkerId").n_unique())
    assert per_hit.height == 6 and per_hit["WorkerId"].to_list() == [10] * 6
    run_cli("ingest", str(results))


def test_gold_with_no_gold_slot_is_refused_not_left_out_of_every_hit(tmp_path, run_cli):
    """--gold with --gold-per-hit 0 wrote a file without the gold images (gold is kept out of the
    images to label) and said nothing."""
    write_three_image_truth(tmp_path / "truth.csv")
    (tmp_path / "gold.csv").write_text("url,truth\nhttps://x.example/a.jpg,true\n")
    result = run_cli("simulate", "--truth", str(tmp_path / "truth.csv"), "--gold", str(tmp_path / "gold.csv"),
                     "--gold-per-hit", "0", "--workers", "3", "-o", str(tmp_path / "r.csv"), expect=2)
    assert "--gold-per-hit 0 would show none of the 1 --gold images" in result.output
    assert not (tmp_path / "r.csv").exists()
    run_cli("simulate", "--truth", str(tmp_path / "truth.csv"), "--gold-per-hit", "0", "--workers", "3",
            "-o", str(tmp_path / "r.csv"))
    assert "https://x.example/a.jpg" in (tmp_path / "r.csv").read_text()


def test_gold_that_truth_contradicts_or_lacks_is_refused_at_its_row(tmp_path, run_cli):
    """Simulated workers answer by --truth, the warehouse scores them by --gold: a gold answer that
    contradicted --truth was written all the same, and scored honest workers as wrong."""
    write_three_image_truth(tmp_path / "truth.csv")
    args = ("simulate", "--truth", str(tmp_path / "truth.csv"), "--workers", "3", "-o", str(tmp_path / "r.csv"))
    (tmp_path / "gold.csv").write_text("url,truth\nhttps://x.example/c.jpg,no\nhttps://x.example/a.jpg,no\n")
    result = run_cli(*args, "--gold", str(tmp_path / "gold.csv"), expect=1)
    assert (f"{tmp_path / 'gold.csv'}, row 3, column truth: gold says https://x.example/a.jpg is false, "
            f"{tmp_path / 'truth.csv'} (--truth) says true at row 2") in result.output
    (tmp_path / "gold.csv").write_text("URL,truth\nhttps://x.example/a.jpg,yes\nhttps://x.example/z.jpg,no\n")
    result = run_cli(*args, "--gold", str(tmp_path / "gold.csv"), expect=1)
    assert f"{tmp_path / 'gold.csv'}, row 3, column url: gold image https://x.example/z.jpg is not in" in result.output
    assert not (tmp_path / "r.csv").exists()
    (tmp_path / "gold.csv").write_text("url,truth\nhttps://x.example/a.jpg,1\nhttps://x.example/a.jpg,yes\n")
    run_cli(*args, "--gold", str(tmp_path / "gold.csv"))


def test_a_crowd_too_large_to_draw_is_refused_as_a_usage_error(tmp_path, run_cli):
    """--workers 10**12 had no bound: the simulator tried to draw every worker and died of a MemoryError."""
    (tmp_path / "truth.csv").write_text("url,truth\nhttps://x.example/a.jpg,true\nhttps://x.example/b.jpg,false\n")
    args = ("simulate", "--truth", str(tmp_path / "truth.csv"), "-o", str(tmp_path / "r.csv"))
    for workers in (str(10**12), "1000001"):
        assert "'--workers': " in run_cli(*args, "--workers", workers, expect=2).output
    assert not (tmp_path / "r.csv").exists()
