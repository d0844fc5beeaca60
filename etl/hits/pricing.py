"""What a batch of HITs costs, fees included: the one function every publish and `cost` use.

Mechanical Turk's fees (https://requester.mturk.com/pricing): a 20% commission on the reward and
on bonuses; 40% on the reward when the HIT has 10 or more assignments; Masters qualification +5%
of the reward; at least $0.01 per assignment and per bonus payment. Each fee is charged when its
assignment (or bonus) is paid, rounded half up to the cent ("$0.104 is rounded to $0.10, $0.105 to
$0.11", MTurk's pricing FAQ): $0.13 x 20% = $0.026 is charged $0.03, so 3,000 such assignments
cost $480.00, not the $468.00 a fraction-of-a-cent sum gives. Money is Decimal throughout. A price
is compared with a budget exactly (`Price.exact`), and shown rounded up to the cent (`Price.total`),
never less than what is spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, ROUND_UP, Decimal

CENT = Decimal("0.01")
# Dollars with a comma grouping thousands (1,250): the only comma an amount may hold, here and in a
# results file's Reward. A first group of 0 is never thousands: `0,020` is two cents written with a
# decimal comma, not $20.
GROUPED_THOUSANDS = r"[1-9]\d{0,2}(?:,\d{3})+"


@dataclass(frozen=True)
class FeeSchedule:
    """MTurk's fees; another platform passes its own schedule."""

    commission: Decimal = Decimal("0.20")
    large_hit_commission: Decimal = Decimal("0.40")
    large_hit_assignments: int = 10
    minimum_fee: Decimal = Decimal("0.01")
    masters_fee: Decimal = Decimal("0.05")
    bonus_commission: Decimal = Decimal("0.20")


MTURK_FEES = FeeSchedule()


def money(value: Decimal | float | str) -> Decimal:
    """A Decimal from user input; floats go through str so 0.01 stays 0.01."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class Price:
    """The bill for `n_hits` HITs of one design."""

    n_hits: int
    assignments_per_hit: int
    reward: Decimal
    bonus: Decimal
    fee_per_assignment: Decimal
    masters: bool

    @property
    def n_assignments(self) -> int:
        return self.n_hits * self.assignments_per_hit

    @property
    def rewards(self) -> Decimal:
        return (self.reward + self.bonus) * self.n_assignments

    @property
    def fees(self) -> Decimal:
        return self.fee_per_assignment * self.n_assignments

    @property
    def exact(self) -> Decimal:
        """Rewards and fees, unrounded: what a budget is compared with."""
        return self.rewards + self.fees

    @property
    def total(self) -> Decimal:
        """The exact price rounded up to the cent, once (never shows less than is spent)."""
        return round_up_to_cent(self.exact)

    def over(self, limit: Decimal) -> bool:
        return self.exact > limit

    @property
    def per_assignment(self) -> Decimal:
        return self.reward + self.bonus + self.fee_per_assignment


def is_whole_cents(amount: Decimal) -> bool:
    """MTurk pays rewards and bonuses in whole cents (and would round anything else)."""
    return amount == amount.quantize(CENT)


def round_up_to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_UP)


def fee_per_assignment(
    reward: Decimal, assignments_per_hit: int, *, masters: bool = False, bonus: Decimal = Decimal(0),
    fees: FeeSchedule = MTURK_FEES,
) -> Decimal:
    """The platform's cut of one assignment: the fee on its reward (commission + Masters, rounded
    half up to the cent, at least the minimum) and, with a bonus, the fee on that payment (the
    same rounding and minimum)."""
    rate = fees.large_hit_commission if assignments_per_hit >= fees.large_hit_assignments else fees.commission
    if masters:
        rate += fees.masters_fee
    reward_fee = _charged(reward * rate, fees)
    bonus_fee = _charged(bonus * fees.bonus_commission, fees) if bonus > 0 else Decimal(0)
    return reward_fee + bonus_fee


def _charged(fee: Decimal, fees: FeeSchedule) -> Decimal:
    """A fee as MTurk charges it: rounded half up to the cent, and at least the minimum."""
    return max(fees.minimum_fee, fee.quantize(CENT, rounding=ROUND_HALF_UP))


def fee_macro_sql(fees: FeeSchedule = MTURK_FEES) -> str:
    """`fee_per_assignment` (the fee on the reward; no bonus) as a DuckDB macro, written from the
    same schedule so the SQL models price extra votes by this file's rule. `crowdaudit build`
    (re)creates it in the warehouse, where the DuckDB shell sees it too. Computed in DECIMAL, so
    a fee of exactly half a cent rounds up as MTurk's does, not as a binary double happens to."""
    return (
        "CREATE OR REPLACE MACRO main.mturk_fee_per_assignment(reward, assignments_per_hit, masters := false) AS\n"
        f"    greatest({fees.minimum_fee}, round(reward::DECIMAL(18, 6) * (CASE WHEN assignments_per_hit >= "
        f"{fees.large_hit_assignments} THEN {fees.large_hit_commission} ELSE {fees.commission} END"
        f" + CASE WHEN masters THEN {fees.masters_fee} ELSE 0 END), 2))"
    )


def price_hits(
    n_hits: int, *, assignments: int, reward: Decimal | float | str, masters: bool = False,
    bonus: Decimal | float | str = 0, fees: FeeSchedule = MTURK_FEES,
) -> Price:
    """The price of `n_hits` HITs with `assignments` assignments each."""
    reward, bonus = money(reward), money(bonus)
    if n_hits < 0 or assignments < 1:
        raise ValueError("need n_hits >= 0 and assignments >= 1")
    if reward < 0 or bonus < 0:
        raise ValueError("reward and bonus cannot be negative")
    return Price(
        n_hits=n_hits,
        assignments_per_hit=assignments,
        reward=reward,
        bonus=bonus,
        fee_per_assignment=fee_per_assignment(reward, assignments, masters=masters, bonus=bonus, fees=fees),
        masters=masters,
    )


def hits_for_images(n_images: int, per_hit: int, gold_per_hit: int = 0) -> int:
    """HITs needed to show every image once: the last HIT may be short. Gold slots carry no new image."""
    fresh = per_hit - gold_per_hit
    if fresh < 1:
        raise ValueError("a HIT needs at least one slot that is not gold")
    return int((Decimal(n_images) / fresh).to_integral_value(rounding=ROUND_CEILING))


def price_images(
    n_images: int, *, per_hit: int, assignments: int, reward: Decimal | float | str, gold_per_hit: int = 0,
    masters: bool = False, bonus: Decimal | float | str = 0, fees: FeeSchedule = MTURK_FEES,
) -> Price:
    """The price of labelling `n_images` with a design of `per_hit` images per HIT."""
    return price_hits(
        hits_for_images(n_images, per_hit, gold_per_hit), assignments=assignments, reward=reward,
        masters=masters, bonus=bonus, fees=fees,
    )
