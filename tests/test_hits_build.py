"""`crowdaudit hits build` and `hits layout`: planned HITs in the warehouse and variables.csv."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from conftest import query

from etl.warehouse import open_warehouse


def seed_images(warehouse: Path, n_images: int = 50, n_gold: int = 5) -> None:
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute(
            "INSERT INTO raw.images (image_id, language, load_id) SELECT 'https://img.example/' || i || '.jpg', "
            "CASE WHEN i % 2 = 0 THEN 'hindi' ELSE 'spanish' END, 1 FROM range(?) t(i)", [n_images + n_gold]
        )
        con.execute(
            "INSERT INTO raw.gold SELECT 'https://img.example/' || i || '.jpg', i % 2 = 0, 1 FROM range(?) t(i)",
            [n_gold],
        )


def test_build_plans_every_image_once_with_gold_in_every_hit(run_cli, warehouse, tmp_path):
    seed_images(warehouse)
    variables = tmp_path / "variables.csv"
    run_cli("hits", "build", "--per-hit", "12", "--gold-per-hit", "2", "--seed", "1", "--variables", str(variables))
    # 50 fresh images, 10 per HIT -> 5 HITs, each with 2 distinct gold images
    assert query(warehouse, "SELECT count(*), min(status), max(status) FROM raw.hits") == [(5, "planned", "planned")]
    per_hit = query(warehouse, "SELECT hit_id, count(*) FILTER (is_gold), count(DISTINCT image_id), count(*) "
                               "FROM raw.hit_items GROUP BY hit_id")
    assert all(gold == 2 and distinct == total == 12 for _, gold, distinct, total in per_hit)
    fresh = query(warehouse, "SELECT count(DISTINCT image_id), count(*) FROM raw.hit_items WHERE NOT is_gold")
    assert fresh == [(50, 50)]
    frame = pl.read_csv(variables, infer_schema=False)
    assert frame.columns == [f"image{n}" for n in range(1, 13)]
    assert frame.height == 5
    assert set(frame.unpivot()["value"].drop_nulls()) == {row[0] for row in query(
        warehouse, "SELECT image_id FROM raw.hit_items")}


def test_gold_sits_at_varied_slots(run_cli, warehouse, tmp_path):
    seed_images(warehouse, n_images=220)
    run_cli("hits", "build", "--seed", "3", "--variables", str(tmp_path / "v.csv"))
    slots = query(warehouse, "SELECT DISTINCT slot FROM raw.hit_items WHERE is_gold")
    assert len(slots) > 5


def test_the_same_seed_plans_the_same_hits(run_cli, warehouse, tmp_path):
    seed_images(warehouse)
    run_cli("hits", "build", "--seed", "9", "--variables", str(tmp_path / "a.csv"))
    other = tmp_path / "other.duckdb"
    seed_images(other)
    run_cli("--warehouse", str(other), "hits", "build", "--seed", "9", "--variables", str(tmp_path / "b.csv"))
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_images_that_have_a_hit_are_not_planned_again(run_cli, warehouse, tmp_path):
    seed_images(warehouse)
    run_cli("hits", "build", "--variables", str(tmp_path / "v.csv"))
    result = run_cli("hits", "build", "--variables", str(tmp_path / "v2.csv"))
    assert "nothing planned" in result.output
    assert query(warehouse, "SELECT count(DISTINCT batch_id) FROM raw.hits") == [(1,)]


def test_hits_build_before_any_image_is_loaded_says_to_load_images(run_cli, warehouse, tmp_path):
    # it said 'every matching image already has a HIT; nothing planned', as if the work were done
    run_cli("build")
    result = run_cli("hits", "build", "--variables", str(tmp_path / "v.csv"), expect=1)
    assert f"no images to plan HITs for: load them first (crowdaudit --warehouse {warehouse} load images" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.hit_batches") == [(0,)]


def test_where_chooses_the_images(run_cli, warehouse, tmp_path):
    seed_images(warehouse)
    run_cli("hits", "build", "--where", "language = 'hindi'", "--gold-per-hit", "0",
            "--variables", str(tmp_path / "v.csv"))
    languages = query(warehouse, "SELECT DISTINCT i.language FROM raw.hit_items h JOIN raw.images i USING (image_id)")
    assert languages == [("hindi",)]


def test_a_bad_where_is_a_one_line_error(run_cli, warehouse, tmp_path):
    seed_images(warehouse)
    result = run_cli("hits", "build", "--where", "colour = 'red'", "--variables", str(tmp_path / "v.csv"), expect=1)
    assert "--where" in result.output


def test_gold_rate_sets_the_gold_slots(run_cli, warehouse, tmp_path):
    seed_images(warehouse, n_images=40, n_gold=5)
    run_cli("hits", "build", "--gold-rate", "0.25", "--variables", str(tmp_path / "v.csv"))
    assert query(warehouse, "SELECT DISTINCT count(*) FILTER (is_gold) FROM raw.hit_items GROUP BY hit_id") == [(3,)]


def test_layout_prints_the_web_sites_design(run_cli, tmp_path):
    out = tmp_path / "layout.html"
    run_cli("hits", "layout", "--per-hit", "4", "-o", str(out))
    text = out.read_text()
    assert "${image4}" in text and "${image5}" not in text


def test_a_hit_taking_all_the_gold_shows_each_gold_image_once(run_cli, warehouse, tmp_path):
    """8 gold slots from 8 gold images: redrawing whole rows rarely gets all 8 distinct (0.2%), and
    HITs still repeating after the redraws used to keep a gold image twice (ingest refuses them)."""
    seed_images(warehouse, n_images=1000, n_gold=8)
    run_cli("hits", "build", "--gold-per-hit", "8", "--seed", "1", "--variables", str(tmp_path / "v.csv"))
    per_hit = query(warehouse, "SELECT count(*) FILTER (is_gold), count(DISTINCT image_id), count(*) "
                               "FROM raw.hit_items GROUP BY hit_id")
    assert len(per_hit) == 250
    assert all(gold == 8 and distinct == total for gold, distinct, total in per_hit)
    shown = pl.read_csv(tmp_path / "v.csv", infer_schema=False).select(pl.concat_list(pl.all())).to_series()
    assert all(len(set(filter(None, row))) == len(list(filter(None, row))) for row in shown)


def test_gold_keyed_by_a_task_id_is_not_shown_as_an_image(run_cli, warehouse, tmp_path):
    """Gold of long-format votes names a task ('q17'), not a picture a worker could judge."""
    seed_images(warehouse, n_images=30, n_gold=0)
    (tmp_path / "tasks.csv").write_text("task,truth\nq17,true\nq18,false\n")
    run_cli("load", "gold", str(tmp_path / "tasks.csv"))
    (tmp_path / "gold.csv").write_text("url,truth\nhttps://img.example/gold.jpg,true\n")
    run_cli("load", "gold", str(tmp_path / "gold.csv"))
    run_cli("hits", "build", "--gold-per-hit", "2", "--seed", "1", "--variables", str(tmp_path / "v.csv"))
    assert query(warehouse, "SELECT DISTINCT image_id FROM raw.hit_items WHERE is_gold") == [
        ("https://img.example/gold.jpg",)]
    assert query(warehouse, "SELECT DISTINCT gold_per_hit FROM raw.hit_batches") == [(1,)]
    shown = set(pl.read_csv(tmp_path / "v.csv", infer_schema=False).unpivot()["value"].drop_nulls())
    assert not shown & {"q17", "q18"}


def test_a_variables_file_that_cannot_be_written_plans_nothing(run_cli, warehouse, tmp_path):
    """The batch and its web-site file go together: a batch committed without its file left its
    images with a HIT, so a re-run planned nothing and the file could never be had."""
    seed_images(warehouse, n_images=30)
    (tmp_path / "a-file").write_text("not a folder")
    result = run_cli("hits", "build", "--variables", str(tmp_path / "a-file" / "v.csv"), expect=1)
    assert "a-file" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.hit_batches") == [(0,)]
    assert query(warehouse, "SELECT count(*) FROM raw.hit_items") == [(0,)]
    run_cli("hits", "build", "--variables", str(tmp_path / "v.csv"))
    assert pl.read_csv(tmp_path / "v.csv", infer_schema=False).height == 3


def test_a_batch_that_fails_to_commit_leaves_no_variables_file(run_cli, warehouse, tmp_path, monkeypatch):
    import pytest

    from etl.hits import plan

    seed_images(warehouse, n_images=30)

    def refuse(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(plan, "record_load", refuse)
    with open_warehouse(warehouse, read_only=False) as con, pytest.raises(RuntimeError, match="disk is full"):
        plan.build_hits(con, plan.HitDesign(), seed=1, variables_csv=tmp_path / "v.csv")
    assert list(tmp_path.iterdir()) == [warehouse.parent]
    assert query(warehouse, "SELECT count(*) FROM raw.hit_items") == [(0,)]


def test_an_image_url_with_a_double_quote_is_refused_before_anything_is_planned(run_cli, warehouse, tmp_path):
    """The site pastes ${image1} into src="..." unescaped: a quote in a URL would end the attribute
    and put the rest (onerror="...") into the worker's page as HTML."""
    seed_images(warehouse, n_images=10, n_gold=0)
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.images (image_id, load_id) VALUES "
                    "('https://img.example/a\"onerror=\"alert(1).jpg', 1)")
    variables = tmp_path / "v.csv"
    result = run_cli("hits", "build", "--variables", str(variables), expect=1)
    assert "double quote" in result.output and "alert(1)" in result.output
    assert not variables.exists()
    assert query(warehouse, "SELECT count(*) FROM raw.hit_items") == [(0,)]
    # the message's way out works
    run_cli("hits", "build", "--where", "NOT contains(image_id, '\"')", "--variables", str(variables))
    assert query(warehouse, "SELECT count(*) FROM raw.hit_items") == [(10,)]


def test_the_way_out_that_a_double_quote_refusal_suggests_can_be_pasted_into_a_shell(run_cli, warehouse, tmp_path):
    """It suggested --where "NOT contains(image_id, '"')", whose quotes a shell cannot parse."""
    import shlex

    seed_images(warehouse, n_images=10, n_gold=0)
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.images (image_id, load_id) VALUES ('https://img.example/a\"b.jpg', 1)")
    result = run_cli("hits", "build", "--variables", str(tmp_path / "v.csv"), expect=1)
    suggested = shlex.split(result.output.split("leave them out: ", 1)[1])
    assert suggested[0] == "--where"
    run_cli("hits", "build", *suggested, "--variables", str(tmp_path / "v.csv"))
    assert query(warehouse, "SELECT count(*) FROM raw.hit_items") == [(10,)]


def test_gold_with_a_double_quote_in_its_url_is_not_mixed_in(run_cli, warehouse, tmp_path):
    seed_images(warehouse, n_images=10, n_gold=0)
    (tmp_path / "gold.csv").write_text('url,truth\n"https://img.example/g""x.jpg",true\nhttps://img.example/g.jpg,no\n')
    run_cli("load", "gold", str(tmp_path / "gold.csv"))
    run_cli("hits", "build", "--gold-per-hit", "2", "--variables", str(tmp_path / "v.csv"))
    assert query(warehouse, "SELECT DISTINCT image_id FROM raw.hit_items WHERE is_gold") == [
        ("https://img.example/g.jpg",)]
    assert '"' not in "".join(pl.read_csv(tmp_path / "v.csv", infer_schema=False).unpivot()["value"].drop_nulls())


def test_a_hit_over_mturks_question_size_limit_is_refused_when_planned(run_cli, warehouse, tmp_path):
    """12 URLs of 6 kB make a 75 kB HTMLQuestion: `hits publish` refused it, but by then its images
    had a HIT and no re-run of `hits build` planned them again."""
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.images (image_id, load_id) SELECT 'https://img.example/' || repeat('x', 6000) "
                    "|| '/' || i || '.jpg', 1 FROM range(12) t(i)")
    result = run_cli("hits", "build", "--variables", str(tmp_path / "v.csv"), expect=1)
    assert "65535" in result.output and "--per-hit" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.hit_items") == [(0,)]
    run_cli("hits", "build", "--per-hit", "6", "--variables", str(tmp_path / "v.csv"))
    assert query(warehouse, "SELECT count(DISTINCT image_id), count(DISTINCT hit_id) FROM raw.hit_items") == [(12, 2)]


def test_hits_variables_writes_an_overwritten_batchs_file_again_byte_for_byte(run_cli, warehouse, tmp_path):
    seed_images(warehouse, n_images=30)
    variables = tmp_path / "variables.csv"
    run_cli("hits", "build", "--per-hit", "8", "--limit", "20", "--seed", "4", "--variables", str(variables))
    first = variables.read_bytes()
    built = run_cli("hits", "build", "--per-hit", "5", "--seed", "4", "--variables", str(variables))
    assert "crowdaudit hits layout --per-hit 5" in built.output
    assert f"crowdaudit --warehouse {warehouse} hits variables --batch crowdaudit-2" in built.output
    assert variables.read_bytes() != first  # the second build replaced the first batch's file
    again = tmp_path / "again" / "batch1.csv"
    result = run_cli("hits", "variables", "--batch", "crowdaudit-1", "-o", str(again))
    assert f"wrote {again}: 3 HITs of batch crowdaudit-1" in result.output
    assert again.read_bytes() == first
    run_cli("hits", "variables", "-o", str(tmp_path / "newest.csv"))  # the newest batch by default
    assert (tmp_path / "newest.csv").read_bytes() == variables.read_bytes()


def test_hits_variables_of_a_batch_that_does_not_exist_is_a_one_line_error(run_cli, warehouse, tmp_path):
    seed_images(warehouse)
    run_cli("hits", "build", "--variables", str(tmp_path / "v.csv"))
    result = run_cli("hits", "variables", "--batch", "crowdaudit-9", "-o", str(tmp_path / "x.csv"), expect=1)
    assert "no batch crowdaudit-9" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.csv").exists()


def test_a_seed_the_random_generator_cannot_take_is_a_usage_error_and_the_largest_one_plans(run_cli, warehouse,
                                                                                           tmp_path):
    seed_images(warehouse)
    for seed in ("-1", str(2**63)):
        assert "--seed" in run_cli("hits", "build", "--seed", seed, "--variables", str(tmp_path / "v.csv"),
                                   expect=2).output
    assert query(warehouse, "SELECT count(*) FROM raw.hits") == [(0,)]
    run_cli("hits", "build", "--seed", str(2**63 - 1), "--variables", str(tmp_path / "v.csv"))
    assert query(warehouse, "SELECT seed FROM raw.hit_batches") == [(2**63 - 1,)]


def test_limit_takes_only_the_first_candidates_out_of_the_warehouse(warehouse):
    """--limit is applied in the query: a batch of 3 out of millions of images brings 3 URLs into
    Python, the first 3 in image_id order, as when every candidate was fetched and cut."""
    from etl.hits.plan import candidate_images

    seed_images(warehouse, n_images=20, n_gold=5)
    with open_warehouse(warehouse, read_only=True) as con:
        every = candidate_images(con, None)
        first = candidate_images(con, "language = 'hindi'", limit=3)
    assert every.len() == 20
    assert first.to_list() == sorted(u for u in every.to_list() if int(u.split("/")[-1][:-4]) % 2 == 0)[:3]


def test_a_seed_plans_the_hits_it_planned_before_the_urls_stayed_in_polars(warehouse):
    """Shuffling the URLs as a polars Series (not Python strings) keeps every earlier seed's plan."""
    from etl.hits.plan import candidate_images, plan_items, showable_gold

    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.images (image_id, language, load_id) "
                    "SELECT 'https://img.example/' || i || '.jpg', 'hindi', 1 FROM range(13) t(i)")
        con.execute("INSERT INTO raw.gold SELECT 'https://img.example/' || i || '.jpg', true, 1 FROM range(3) t(i)")
        items = plan_items(candidate_images(con, None), showable_gold(con), per_hit=4, gold_per_hit=1, seed=9)
    shown = [(hit, slot, int(url.split("/")[-1][:-4]), gold) for hit, slot, url, gold in items.iter_rows()]
    assert shown == [
        (0, 1, 2, True), (0, 2, 9, False), (0, 3, 10, False), (0, 4, 7, False),
        (1, 1, 8, False), (1, 2, 5, False), (1, 3, 11, False), (1, 4, 1, True),
        (2, 1, 12, False), (2, 2, 2, True), (2, 3, 6, False), (2, 4, 4, False),
        (3, 1, 0, True), (3, 2, 3, False),
    ]


def test_hits_build_warns_when_the_requester_site_would_show_an_image_url_as_another(run_cli, warehouse, tmp_path):
    seed_images(warehouse, n_images=20, n_gold=0)
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.images (image_id, language, load_id) VALUES "
                    "('https://img.example/x.jpg?a=1&not_b=2', 'hindi', 1), ('https://img.example/y.jpg?w=1&h=2', 'hindi', 1)")
    result = run_cli("hits", "build", "--variables", str(tmp_path / "v.csv"))
    assert "note: 1 image URL(s) hold an HTML character reference, e.g. 'https://img.example/x.jpg?a=1&not_b=2'" \
        in result.output
    assert "crowdaudit hits publish escapes them" in result.output
    clean = run_cli("hits", "build", "--variables", str(tmp_path / "w.csv"))  # nothing left to plan: no note
    assert "character reference" not in clean.output
