"""The cost model against hand-worked bills (MTurk: 20% commission, 40% at 10+ assignments,
at least $0.01 per assignment, Masters +5%)."""

from __future__ import annotations

import re
from decimal import Decimal

import duckdb
import pytest

from etl.hits.pricing import fee_macro_sql, fee_per_assignment, hits_for_images, price_hits, price_images


def test_all_mmid_images_twelve_per_hit_cost_175000_dollars_and_2_cents():
    # 35,000,000 / 12 = 2,916,666.67 -> 2,916,667 HITs; x3 assignments x ($0.01 + $0.01 minimum fee)
    price = price_images(35_000_000, per_hit=12, assignments=3, reward="0.01")
    assert price.n_hits == 2_916_667
    assert price.total == Decimal("175000.02")


def test_all_mmid_images_one_per_hit_cost_2_1_million_dollars():
    # 35,000,000 HITs x 3 x $0.02
    assert price_images(35_000_000, per_hit=1, assignments=3, reward="0.01").total == Decimal("2100000.00")


@pytest.mark.parametrize(
    ("n_images", "per_hit", "assignments", "reward", "expected"),
    [
        # below 10 assignments, 20% of $0.10 = $0.02: 1,000 HITs x 3 x $0.12
        (1000, 1, 3, "0.10", "360.00"),
        # 12 per HIT: ceil(1000 / 12) = 84 HITs x 3 x $0.12
        (1000, 12, 3, "0.10", "30.24"),
        # 10 assignments -> 40%: $0.05 x 0.4 = $0.02; 1,000 x 10 x $0.07
        (1000, 1, 10, "0.05", "700.00"),
        (1000, 12, 10, "0.05", "58.80"),
        # 9 assignments stay at 20%: $0.05 x 0.2 = $0.01; 84 x 9 x $0.06
        (1000, 12, 9, "0.05", "45.36"),
        # minimum fee even at 40%: $0.01 x 0.4 = $0.004 -> $0.01; 84 x 10 x $0.02
        (1000, 12, 10, "0.01", "16.80"),
    ],
)
def test_hand_worked_bills_below_and_above_ten_assignments(n_images, per_hit, assignments, reward, expected):
    price = price_images(n_images, per_hit=per_hit, assignments=assignments, reward=reward)
    assert price.total == Decimal(expected)


def test_masters_add_five_percent_of_the_reward():
    # $0.10: commission $0.02 + Masters $0.005 = $0.025, charged $0.03 -> $0.13 per assignment; 10 HITs x 3
    assert price_hits(10, assignments=3, reward="0.10", masters=True).total == Decimal("3.90")
    # $0.30: $0.06 + $0.015 = $0.075, charged $0.08
    assert fee_per_assignment(Decimal("0.30"), 3, masters=True) == Decimal("0.08")


def test_bonuses_pay_twenty_percent_commission():
    # reward $0.10 + bonus $0.05; fee $0.02 + $0.01 -> $0.18 per assignment
    assert price_hits(10, assignments=3, reward="0.10", bonus="0.05").total == Decimal("5.40")


def test_gold_slots_carry_no_new_image_so_need_more_hits():
    assert hits_for_images(110, 12, gold_per_hit=1) == 10
    assert hits_for_images(111, 12, gold_per_hit=1) == 11


def test_cost_command_answers_the_seeds_questions_for_the_whole_mmid(run_cli):
    output = run_cli("cost", "--images", "35000000", "--per-hit", "12", "--assignments", "3",
                     "--reward", "0.01").output
    assert "2,916,667" in output
    assert "$175,000.02" in output
    assert "$2,100,000.00" in output
    assert "assumptions" in output


def test_cost_command_prices_the_warehouses_images_when_no_count_is_given(run_cli, warehouse):
    from etl.warehouse import open_warehouse

    with open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.images (image_id, load_id) SELECT 'u' || i, 1 FROM range(25) t(i)")
    output = run_cli("cost").output
    # 25 images: 25 HITs x 3 x $0.02 = $1.50 one per HIT; 3 HITs x 3 x $0.02 = $0.18 twelve per HIT
    assert "$1.50" in output and "$0.18" in output


def test_cost_without_a_warehouse_says_to_give_images(run_cli, warehouse):
    # it said 'load something first (crowdaudit ingest / load / demo)', though --images N needs no warehouse
    result = run_cli("cost", expect=1)
    assert "give --images N" in result.output
    assert not warehouse.exists()


def test_the_sql_fee_macro_charges_what_the_python_fee_rule_charges():
    # needs_more_votes prices extra votes with the macro; a reward on either side of the $0.05
    # where the minimum fee stops applying, and HITs on either side of 10 assignments.
    con = duckdb.connect()
    con.execute(fee_macro_sql())
    for reward in ("0.00", "0.01", "0.04", "0.05", "0.06", "0.07", "0.10", "0.13", "0.30", "1.37"):
        for assignments in (1, 3, 9, 10, 11, 50):
            for masters in (False, True):
                in_sql = con.execute("SELECT mturk_fee_per_assignment(?::DOUBLE, ?, masters := ?)",
                                     [float(reward), assignments, masters]).fetchone()[0]
                assert in_sql == fee_per_assignment(Decimal(reward), assignments, masters=masters), \
                    (reward, assignments, masters)


def test_cost_caps_gold_as_hits_build_does_and_says_so(run_cli):
    # 12 gold asked in 12-image HITs: build keeps one slot for a new image, so 11 gold + 1 image.
    output = run_cli("cost", "--images", "1200", "--gold-per-hit", "12").output
    line = next(x for x in output.splitlines() if x.startswith("12 per HIT"))
    assert "(11 gold)" in line and "1,200" in line and "$72.00" in line


def test_each_fee_is_charged_rounded_half_up_to_the_cent_as_mturk_charges_it():
    # MTurk's pricing FAQ: "$0.104 is rounded to $0.10, $0.105 to $0.11".
    assert fee_per_assignment(Decimal("0.07"), 3) == Decimal("0.01")  # $0.014
    assert fee_per_assignment(Decimal("0.13"), 3) == Decimal("0.03")  # $0.026
    assert fee_per_assignment(Decimal("0.13"), 10) == Decimal("0.05")  # 40%: $0.052
    # 3,000 assignments at $0.13: $480.00, where fractions of a cent summed would say $468.00
    price = price_hits(1000, assignments=3, reward="0.13")
    assert price.exact == price.total == Decimal("480.00")
    assert price.over(Decimal("479.99")) and not price.over(Decimal(480))


def test_a_bonus_is_a_payment_of_its_own_with_its_own_minimum_fee():
    # 20% of a $0.02 bonus is $0.004: charged the $0.01 minimum, on top of the reward's fee
    assert fee_per_assignment(Decimal("0.10"), 3, bonus=Decimal("0.02")) == Decimal("0.03")
    assert fee_per_assignment(Decimal("0.10"), 3, bonus=Decimal(0)) == Decimal("0.02")


def test_cost_command_shows_every_amount_in_dollars_and_cents(run_cli):
    # $0.50 + $0.10 fee: the table said $0.6 per assignment and the header reward $0.5
    output = run_cli("cost", "--images", "1200", "--reward", "0.5", "--bonus", "0.1").output
    amounts = re.findall(r"\$[\d,]+(?:\.\d+)?", output)
    assert "$0.72" in output
    assert [a for a in amounts if not re.fullmatch(r"\$[\d,]+\.\d\d", a)] == []
