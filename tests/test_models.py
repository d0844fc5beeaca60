"""The SQL model runner: dependency order from the SQL itself, SQL tests, all-or-nothing builds."""

from __future__ import annotations

import json

import pytest
from conftest import copy_of, query

from etl import models
from etl.warehouse import open_warehouse


def write_models(root, files: dict[str, str]) -> None:
    for relative, sql in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)


def test_models_build_in_the_order_their_sql_references_each_other(tmp_path, warehouse):
    sql_dir = tmp_path / "sql"
    write_models(sql_dir, {
        "marts/b_counts.sql": "SELECT count(*) AS n FROM main.a_final",
        "marts/a_final.sql": "SELECT * FROM intermediate.int_z",
        "intermediate/int_z.sql": "SELECT image_id FROM staging.stg_y",
        "staging/stg_y.sql": "SELECT image_id FROM raw.gold",
        "tests/b_counts_not_negative.sql": "SELECT * FROM main.b_counts WHERE n < 0",
    })
    with open_warehouse(warehouse, read_only=False) as con:
        report = models.build(con, sql_dir=sql_dir)
        assert [name for name, _ in report.built] == ["stg_y", "int_z", "a_final", "b_counts"]
        assert report.tests_run == 1
        kinds = dict(con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_name IN ('stg_y', 'int_z', 'a_final', 'b_counts')").fetchall())
    assert kinds == {"stg_y": "VIEW", "int_z": "VIEW", "a_final": "BASE TABLE", "b_counts": "BASE TABLE"}


def test_a_failing_sql_test_fails_the_build_by_name_and_keeps_the_old_marts(tmp_path, warehouse):
    sql_dir = tmp_path / "sql"
    write_models(sql_dir, {"marts/answer.sql": "SELECT 42 AS x"})
    with open_warehouse(warehouse, read_only=False) as con:
        models.build(con, sql_dir=sql_dir)
        write_models(sql_dir, {
            "marts/answer.sql": "SELECT 41 AS x",
            "tests/answer_is_42.sql": "SELECT * FROM main.answer WHERE x <> 42",
        })
        with pytest.raises(models.BuildFailed, match="answer_is_42"):
            models.build(con, sql_dir=sql_dir)
        assert con.execute("SELECT x FROM main.answer").fetchall() == [(42,)]


def test_each_sql_test_is_named_as_it_passes_after_the_models_so_a_long_test_phase_is_not_silent(
        tmp_path, warehouse):
    sql_dir = tmp_path / "sql"
    write_models(sql_dir, {
        "marts/answer.sql": "SELECT 42 AS x",
        "tests/answer_is_42.sql": "SELECT * FROM main.answer WHERE x <> 42",
        "tests/answer_is_not_null.sql": "SELECT * FROM main.answer WHERE x IS NULL",
    })
    events = []
    with open_warehouse(warehouse, read_only=False) as con:
        models.build(con, sql_dir=sql_dir, on_model=lambda name, seconds: events.append(("built", name)),
                     on_test=lambda name, seconds: events.append(("tested", name)))
    assert events == [("built", "answer"), ("tested", "answer_is_42"), ("tested", "answer_is_not_null")]


def test_a_cycle_between_models_is_reported(tmp_path, warehouse):
    sql_dir = tmp_path / "sql"
    write_models(sql_dir, {"marts/p.sql": "SELECT * FROM main.q", "marts/q.sql": "SELECT * FROM main.p"})
    with open_warehouse(warehouse, read_only=False) as con, pytest.raises(models.BuildFailed, match="cycle"):
        models.build(con, sql_dir=sql_dir)


def test_a_broken_model_is_named_in_the_error(tmp_path, warehouse):
    sql_dir = tmp_path / "sql"
    write_models(sql_dir, {"marts/broken.sql": "SELECT no_such_column FROM raw.gold"})
    with open_warehouse(warehouse, read_only=False) as con, pytest.raises(models.BuildFailed, match="broken"):
        models.build(con, sql_dir=sql_dir)


@pytest.mark.parametrize("sql", ["SELECT 1 AS a;\nSELECT 2 AS b", "-- the query is still to be written"])
def test_a_model_file_that_is_not_one_select_is_refused_by_name(tmp_path, warehouse, sql):
    sql_dir = tmp_path / "sql"
    write_models(sql_dir, {"marts/two.sql": sql})
    with open_warehouse(warehouse, read_only=False) as con, pytest.raises(
            models.BuildFailed, match=r"two\.sql: a model is one SELECT statement; this file holds [02]"):
        models.build(con, sql_dir=sql_dir)


def test_a_model_ending_in_a_semicolon_and_a_comment_builds(tmp_path, warehouse):
    sql_dir = tmp_path / "sql"
    write_models(sql_dir, {"marts/noted.sql": "SELECT 1 AS a;\n-- a note after the query"})
    with open_warehouse(warehouse, read_only=False) as con:
        models.build(con, sql_dir=sql_dir)
        assert con.execute("SELECT * FROM main.noted").fetchall() == [(1,)]


def test_the_shipped_models_build_on_an_empty_warehouse_and_say_it_is_empty(run_cli):
    result = run_cli("build")
    assert "SQL tests passed" in result.output
    assert "holds no loaded files yet" in result.stderr


def test_a_model_can_ask_to_be_a_table_in_a_view_layer(tmp_path, warehouse):
    sql_dir = tmp_path / "sql"
    write_models(sql_dir, {"intermediate/int_heavy.sql": "-- materialized: table\nSELECT 1 AS x"})
    with open_warehouse(warehouse, read_only=False) as con:
        models.build(con, sql_dir=sql_dir)
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'int_heavy'")
        assert kind.fetchall() == [("BASE TABLE",)]


def _build_beside_create_table_as(con, sql_dir, name: str, select: str) -> None:
    """Build `select` as the mart `name`, make main.as_ctas from it with CREATE TABLE AS, and check
    the two have the same columns: names and types."""
    write_models(sql_dir, {f"marts/{name}.sql": select})
    models.build(con, sql_dir=sql_dir)
    con.execute(f"CREATE TABLE main.as_ctas AS {select}")
    assert con.execute(f"DESCRIBE main.{name}").fetchall() == con.execute("DESCRIBE main.as_ctas").fetchall()


def test_a_table_model_keeps_its_querys_column_names_types_and_rows_with_image_urls_in_zstd(tmp_path, warehouse):
    # Tables are declared from the query's columns, then filled, so the URLs can be stored as ZSTD:
    # every name and type must still be what CREATE TABLE AS would have made.
    sql_dir = tmp_path / "sql"
    select = ("SELECT 'https://x.example/' || i || '.jpg' AS image_id, i::DECIMAL(18, 3) AS \"odd \"\"name\"\"\", "
              "[i, i + 1] AS pair, {'a b': i} AS record, NULL AS nothing, 'Western' AS region, "
              "TIMESTAMPTZ '2019-02-20 19:04:42+00' AS stamped_at FROM range(3000) AS t(i) ORDER BY i DESC")
    with open_warehouse(warehouse, read_only=False) as con:
        _build_beside_create_table_as(con, sql_dir, "wide", select)
        con.execute("CHECKPOINT")  # rows are compressed as they are written to the file
        # in the query's order, as a table made by CREATE TABLE AS keeps it
        in_order = "SELECT * REPLACE (stamped_at::VARCHAR AS stamped_at), row_number() OVER () FROM main.{}"
        assert con.execute(in_order.format("wide")).fetchall() == con.execute(in_order.format("as_ctas")).fetchall()
        compression = dict(con.execute(
            "SELECT column_name, list(DISTINCT compression) FROM pragma_storage_info('main.wide') "
            "WHERE segment_type = 'VARCHAR' GROUP BY ALL").fetchall())
    assert compression["image_id"] == ["ZSTD"]
    assert "ZSTD" not in compression["region"]


def test_a_table_model_repeating_a_column_name_builds_with_the_names_create_table_as_gives(tmp_path, warehouse):
    # `SELECT *` over a join repeats the key; CREATE TABLE AS renamed the second one, so the table
    # declared from the query's columns must as well instead of failing the build.
    sql_dir = tmp_path / "sql"
    select = ("SELECT * FROM (SELECT 'https://x.example/1.jpg' AS image_id, 1 AS a) AS l "
              "JOIN (SELECT 'https://x.example/1.jpg' AS image_id, 2 AS A, 3 AS a_1, 4 AS \"Ü\", 5 AS \"ü\") AS r "
              "ON l.image_id = r.image_id")
    with open_warehouse(warehouse, read_only=False) as con:
        _build_beside_create_table_as(con, sql_dir, "joined", select)
        assert [name for name, *_ in con.execute("DESCRIBE main.joined").fetchall()] == [
            "image_id", "a", "image_id_1", "A_1", "a_1_1", "Ü", "ü"]
        assert con.execute("SELECT * FROM main.joined").fetchall() == con.execute("SELECT * FROM main.as_ctas").fetchall()


def test_the_built_marts_store_their_image_urls_in_zstd(demo_warehouse_template):
    with open_warehouse(demo_warehouse_template, read_only=True) as con:
        tables = [f"{schema}.{table}" for schema, table in con.execute(
            "SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'image_id' "
            "AND table_schema IN ('main', 'intermediate') AND (table_schema, table_name) IN "
            "(SELECT schema_name, table_name FROM duckdb_tables())").fetchall()]
        compression = {table: con.execute(
            f"SELECT list(DISTINCT compression) FROM pragma_storage_info('{table}') "
            "WHERE column_name = 'image_id' AND segment_type = 'VARCHAR'").fetchall()[0][0] for table in tables}
    assert {"main.votes", "main.vote_counts", "main.labels", "main.label_confidence",
            "intermediate.int_truth_dawid_skene"} <= set(compression)
    assert all(kinds == ["ZSTD"] for kinds in compression.values()), compression


def test_unknown_region_is_one_group_whether_the_language_or_the_image_is_unknown(tmp_path, run_cli, warehouse):
    known, unregistered = "https://ex.org/w/klingon/1/01.jpg", "https://other.org/y.jpg"
    (tmp_path / "images.csv").write_text(f"url,language\n{known},klingon\n")
    (tmp_path / "p.csv").write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                                    f"{known},\"['groom']\",True\n{unregistered},\"['suit']\",False\n")
    (tmp_path / "gold.csv").write_text(f"url,truth\n{known},true\n{unregistered},true\n")
    for kind, name in (("images", "images.csv"), ("predictions", "p.csv"), ("gold", "gold.csv")):
        run_cli("load", kind, str(tmp_path / name))
    run_cli("build")
    rows = query(warehouse, "SELECT grp, n, tp, fn, recall, precision_corrected_lo FROM classifier_metrics "
                            "WHERE truth_source = 'gold' AND grouping = 'region'")
    assert rows == [("unknown", 2, 1, 1, 0.5, None)]


@pytest.mark.parametrize(("n_images", "truth"), [(12, "true"), (11, "false")])
def test_a_classifier_right_or_wrong_on_every_image_builds(tmp_path, run_cli, warehouse, n_images, truth):
    # Precision 1 over 12 images (0 over 11): the Wilson bound rounded to 0.9999999999999998
    # (4.4e-17), on the wrong side of the point estimate, and the SQL test refused the whole build.
    urls = [f"https://ex.org/w/hindi/1/{i:02}.jpg" for i in range(n_images)]
    (tmp_path / "p.csv").write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                                    + "".join(f"{url},\"['groom']\",True\n" for url in urls))
    (tmp_path / "gold.csv").write_text("url,truth\n" + "".join(f"{url},{truth}\n" for url in urls))
    run_cli("load", "predictions", str(tmp_path / "p.csv"))
    run_cli("load", "gold", str(tmp_path / "gold.csv"))
    run_cli("build")
    rows = query(warehouse, "SELECT n, precision, precision_lo, precision_hi, recall FROM classifier_metrics "
                            "WHERE truth_source = 'gold' AND grouping = 'all'")
    if truth == "true":
        assert rows == [(n_images, 1.0, pytest.approx(0.7575, abs=1e-4), 1.0, 1.0)]
    else:
        assert rows == [(n_images, 0.0, 0.0, pytest.approx(0.2588, abs=1e-4), None)]


def test_wilson_intervals_hold_their_estimate_exactly_and_end_at_0_and_1(warehouse):
    # Ad-hoc SQL compares a rate with its bounds; at k = 0 and k = n the formula alone misses 0 and 1
    # by a rounding error, on the wrong side of the estimate for a quarter of all n.
    with open_warehouse(warehouse, read_only=False) as con:
        outside = con.execute(
            "SELECT n, k FROM range(1, 301) AS a(n), range(0, 301) AS b(k) WHERE k <= n "
            "AND (wilson_lo(k, n) > k / n OR wilson_hi(k, n) < k / n OR wilson_lo(k, n) < 0 OR wilson_hi(k, n) > 1 "
            "     OR (k = 0 AND wilson_lo(k, n) <> 0) OR (k = n AND wilson_hi(k, n) <> 1))"
        ).fetchall()
    assert outside == []


@pytest.mark.parametrize("predicted", [False, True])
def test_a_group_the_classifier_calls_all_one_way_has_a_corrected_precision_only_where_it_called_some_yes(
        tmp_path, run_cli, warehouse, predicted):
    # Outside gold, every non-Western image is a wedding and the classifier says yes to none of them
    # (or to all); the Western group holds gold images only. A group with no image predicted yes
    # outside gold had a corrected precision of 0.0 (with an interval, 0-65%) where the raw one is
    # rightly undefined; its corrected recall is 0 (or 1) whatever the labels' errors.
    weddings = [f"https://ex.org/w/hindi/1/{i:02}.jpg" for i in range(3)]
    gold = {"https://ex.org/w/french/1/01.jpg": True, "https://ex.org/w/french/1/02.jpg": False}
    (tmp_path / "images.csv").write_text("url,language\n" + "".join(f"{url},{url.split('/')[4]}\n"
                                                                    for url in [*weddings, *gold]))
    (tmp_path / "votes.csv").write_text("task,worker,label\n" + "".join(
        f"{url},w{worker},{int(yes)}\n"
        for url, yes in [*((url, True) for url in weddings), *gold.items()] for worker in range(3)))
    (tmp_path / "gold.csv").write_text("url,truth\n" + "".join(f"{url},{truth}\n" for url, truth in gold.items()))
    target = "groom" if predicted else "suit"
    (tmp_path / "p.csv").write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                                    + "".join(f"{url},\"['suit']\",False\n" for url in gold)
                                    + "".join(f"{url},\"['{target}']\",{predicted}\n" for url in weddings))
    for kind, name in (("images", "images.csv"), ("votes", "votes.csv"), ("gold", "gold.csv"), ("predictions", "p.csv")):
        run_cli("load", kind, str(tmp_path / name))
    run_cli("labels", "--method", "majority")  # gold's votes are unanimous: the labels' se = sp = 1
    rows = query(warehouse, "SELECT grp, precision, precision_corrected, precision_corrected_lo, precision_corrected_hi, "
                            "recall, recall_corrected, recall_corrected_lo, recall_corrected_hi, labels_sensitivity "
                            "FROM classifier_metrics WHERE truth_source = 'labels' AND grouping = 'region' ORDER BY grp")
    if predicted:
        non_western = ("non-Western", 1.0, 1.0, pytest.approx(0.4556, abs=1e-4), 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    else:
        non_western = ("non-Western", None, None, None, None, 0.0, 0.0, 0.0, 0.0, 1.0)
    assert rows == [("Western", None, None, None, None, 0.0, None, None, None, None), non_western]


def _table_scans(plan: object):
    """(table, row groups read, row groups it has) of every table scan in an EXPLAIN ANALYZE json tree."""
    if isinstance(plan, dict):
        extra = plan.get("extra_info")
        if isinstance(extra, dict) and extra.get("Table"):
            yield extra["Table"], plan["row_groups_scanned"], plan["total_row_groups_to_scan"]
        for value in plan.values():
            yield from _table_scans(value)
    elif isinstance(plan, list):
        for value in plan:
            yield from _table_scans(value)


def test_no_shipped_model_reads_a_table_over_again_at_each_step_of_a_loop(demo_warehouse_template, tmp_path):
    """A build writes every mart in one transaction, and DuckDB keeps no statistics for a table
    written in the transaction that reads it. With none for `votes`, it evaluated the gold rates
    (a view over the votes) afresh at every step of the weighted vote's EM: 73 reads of the votes
    on the demo, 43 of twelve million votes at a million assignments (4 s of a 25 s build). Each
    model is run again under EXPLAIN ANALYZE in the build's own transaction, right after it is built."""
    warehouse = copy_of(demo_warehouse_template, tmp_path / "wh" / "crowdaudit.duckdb")
    read_again: dict[str, list] = {}
    with open_warehouse(warehouse, read_only=False) as con:
        sql_of = {model.name: model.sql for model in models.discover(con)}

        def scans_of(name: str, _seconds: float) -> None:
            if name in sql_of:  # Python models have no SQL to explain
                plan = json.loads(con.sql(f"EXPLAIN (ANALYZE, FORMAT json) {sql_of[name]}").fetchall()[0][1])
                read_again[name] = [scan for scan in _table_scans(plan) if scan[1] > scan[2]]

        models.build(con, on_model=scans_of)
    assert read_again.keys() == sql_of.keys()
    assert {name: scans for name, scans in read_again.items() if scans} == {}
