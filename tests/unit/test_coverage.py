"""Fill windows from what was really covered (SPEC 5.4), from tables of cases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from pharmacy.domain.coverage import (
    MadeFill,
    NewStock,
    NextFill,
    OrderTerms,
    allowed_from,
    coverage,
    walk,
)
from pharmacy.domain.errors import DomainError
from pharmacy.domain.regimen import Phase, Regimen, continue_regimen, expand_regimen, iter_regimen
from pharmacy.domain.vials import VialSpec

D = date
MONTHLY = Regimen((Phase(1000, 1, "month", None),))
HIGH_DOSE = Regimen(
    (Phase(1000, 1, "day", 7), Phase(1000, 1, "week", 4), Phase(1000, 1, "month", None))
)
WEEKLY_8 = Regimen((Phase(1000, 1, "week", 8),))
WEEKLY_12 = Regimen((Phase(1000, 1, "week", 12),))


START = D(2026, 12, 6)


def terms(
    regimen: Regimen = MONTHLY,
    start: date = START,
    *,
    days_supply: int = 90,
    fills: int = 2,
    volume: str = "1",
    container: str = "single-dose",
) -> OrderTerms:
    return OrderTerms(
        regimen=regimen,
        start_date=start,
        concentration_mcg_per_ml=Decimal(1000),
        vial=VialSpec(Decimal(volume), container),
        days_supply=days_supply,
        fills=fills,
    )


# The case: a 90-day supply filled from a batch whose BUD is Jan 27 (vials good
# through Jan 26). The Feb 6 dose is not covered, so refill 1 is due by Feb 6, not Mar 6.
JAN27 = MadeFill(0, D(2026, 12, 6), 2, bud_last_day=D(2027, 1, 26), dispensed_on=D(2026, 12, 6))


@pytest.mark.parametrize(
    ("case", "order", "fills", "expected"),
    [
        (
            "no fill yet: the original is due by the first dose, open from verification",
            terms(),
            [],
            NextFill(0, D(2026, 12, 6), D(2026, 12, 1)),
        ),
        (
            "Jan 27 BUD: Feb 6 is due by refill 1, open at 75 % of Dec 6 -> Feb 6",
            terms(),
            [JAN27],
            NextFill(1, D(2027, 2, 6), D(2027, 1, 21)),  # 62 days x 75 % = 46.5 -> 46
        ),
        (
            "a full original fill: refill 1 due on Mar 6",
            terms(),
            [MadeFill(0, D(2026, 12, 6), 3, dispensed_on=D(2026, 12, 6))],
            NextFill(1, D(2027, 3, 6), D(2027, 2, 11)),  # 90 days x 75 % = 67.5 -> 67
        ),
        (
            "counted from the real dispense date, not the first dose",
            terms(),
            [MadeFill(0, D(2026, 12, 6), 3, dispensed_on=D(2026, 12, 2))],
            NextFill(1, D(2027, 3, 6), D(2027, 2, 10)),  # 94 days x 75 % = 70.5 -> 70
        ),
        (
            "not yet dispensed: counted from its first dose",
            terms(),
            [MadeFill(0, D(2026, 12, 6), 3)],
            NextFill(1, D(2027, 3, 6), D(2027, 2, 11)),
        ),
        (
            "every fill made: none left, due by the first uncovered dose",
            terms(),
            [JAN27, MadeFill(1, D(2027, 2, 6), 4, dispensed_on=D(2027, 2, 1))],
            NextFill(None, D(2027, 6, 6), None),
        ),
        (
            "a voided refill is not passed in: its number is free again",
            terms(fills=3),
            [JAN27],
            NextFill(1, D(2027, 2, 6), D(2027, 1, 21)),
        ),
        (
            "refill 2 made while refill 1 was voided: refill 1 fills the gap before it",
            terms(fills=3),
            [JAN27, MadeFill(2, D(2027, 5, 6), 1)],
            NextFill(1, D(2027, 2, 6), D(2027, 1, 21)),
        ),
    ],
)
def test_next_fill(case, order, fills, expected):
    result = coverage(order, fills, verified_on=D(2026, 12, 1), refill_percent=75)
    assert result.next_fill == expected, case


# 10 mL multiple-dose, 1 mL weekly doses: one vial serves 4 weekly doses (28-day in-use).
MULTI = terms(
    WEEKLY_12, D(2027, 1, 4), days_supply=14, fills=4, volume="10", container="multiple-dose"
)


@pytest.mark.parametrize(
    ("case", "fills", "due_by", "covered_through"),
    [
        (
            "a carried-over vial covers the whole next window: the refill moves back",
            [MadeFill(0, D(2027, 1, 4), 1)],
            D(2027, 2, 1),  # Jan 4, 11, 18, 25 from one vial; Feb 1 is past its 28 days
            D(2027, 1, 31),
        ),
        (
            "a short BUD cuts the carried vial: the refill comes forward",
            [MadeFill(0, D(2027, 1, 4), 1, bud_last_day=D(2027, 1, 12))],
            D(2027, 1, 18),
            D(2027, 1, 17),
        ),
        (
            "a second vial of the same fill keeps serving after the first is discarded",
            [MadeFill(0, D(2027, 1, 4), 2)],
            D(2027, 3, 1),  # vial 1 Jan 4-25, vial 2 Feb 1-22
            D(2027, 2, 28),
        ),
        (
            "an unused vial past its BUD is never opened",
            [MadeFill(0, D(2027, 1, 4), 2, bud_last_day=D(2027, 1, 30))],
            D(2027, 2, 1),
            D(2027, 1, 31),
        ),
    ],
)
def test_carried_over_vials(case, fills, due_by, covered_through):
    result = coverage(MULTI, fills, verified_on=D(2027, 1, 1), refill_percent=75)
    assert result.next_fill is not None and result.next_fill.due_by == due_by, case
    assert result.covered_through == covered_through, case


def test_a_new_fill_counts_only_the_vials_its_window_needs():
    # Refill 1 of the Jan 27 case from a batch good through May 31: Feb 6 .. May 6.
    order = terms()
    stock = NewStock(1, D(2027, 2, 6), 90, bud_last_day=D(2027, 5, 31))
    result = walk(order, [JAN27], stock)
    assert result.new_vials == 4
    assert [s.date for s in result.served_by(1)] == [
        D(2027, 2, 6),
        D(2027, 3, 6),
        D(2027, 4, 6),
        D(2027, 5, 6),
    ]
    assert result.first_uncovered is not None and result.first_uncovered.date == D(2027, 6, 6)


def test_a_new_fill_with_a_short_bud_leaves_the_rest_to_the_next():
    stock = NewStock(1, D(2027, 2, 6), 90, bud_last_day=D(2027, 3, 20))
    result = walk(terms(), [JAN27], stock)
    assert result.new_vials == 2
    assert result.first_uncovered is not None and result.first_uncovered.date == D(2027, 4, 6)


def test_a_new_fill_that_no_dose_needs_takes_no_vial():
    # Everything the window holds is already served by the carried vial.
    stock = NewStock(1, D(2027, 1, 11), 14)
    result = walk(MULTI, [MadeFill(0, D(2027, 1, 4), 1)], stock)
    assert result.new_vials == 0


def test_projection_and_doses_no_fill_can_cover():
    # Two fills of 90 days planned through Jun 3; the Jan 27 BUD brings refill 1 to
    # Feb 6 .. May 6: the Jun 6 dose is past the plan, so nothing is uncovered, but the
    # monthly regimen goes on: it needs a renewal from Jun 6.
    result = coverage(terms(), [JAN27], verified_on=D(2026, 12, 1), refill_percent=75)
    assert [(w.fill_number, w.due_by, w.last_day) for w in result.projected] == [
        (1, D(2027, 2, 6), D(2027, 5, 6))
    ]
    assert result.renewal_from == D(2027, 6, 6)
    assert result.uncovered_doses == ()
    assert result.covered_through == D(2027, 2, 5)


def test_doses_within_the_plan_that_no_fill_can_cover_are_listed():
    # A 60-day supply, one refill: planned through Apr 5. The original covers only Dec 6
    # and Jan 6 (BUD Jan 27); refill 1 then covers Feb 6 and Mar 6; Apr 6 is past the plan.
    order = terms(days_supply=60, fills=2, start=D(2026, 12, 6))
    daily = terms(Regimen((Phase(1000, 1, "day", None),)), D(2027, 1, 1), days_supply=10, fills=2)
    short = MadeFill(0, D(2027, 1, 1), 5, bud_last_day=D(2027, 1, 5))
    result = coverage(daily, [short], verified_on=D(2027, 1, 1), refill_percent=75)
    # Refill 1 covers Jan 6-15; the plan ran to Jan 20, so Jan 16-20 cannot be covered.
    assert [d.date for d in result.uncovered_doses] == [
        D(2027, 1, 16) + timedelta(days=i) for i in range(5)
    ]
    assert result.renewal_from == D(2027, 1, 16)
    assert coverage(order, [JAN27], verified_on=None, refill_percent=75).uncovered_doses == ()


def test_an_expired_order_cannot_be_filled_past_its_expiry():
    result = coverage(
        terms(fills=4),
        [JAN27],
        verified_on=D(2026, 12, 1),
        refill_percent=75,
        expires_on=D(2027, 3, 1),
    )
    # Refill 1 (opens Jan 21) can still be made; refill 2 would open after Mar 1.
    assert [w.fill_number for w in result.projected] == [1]
    assert result.renewal_from == D(2027, 6, 6)
    assert result.next_fill is not None
    assert result.next_fill.status(D(2027, 3, 2), D(2027, 3, 1)) == "expired"


@pytest.mark.parametrize(
    ("today", "status"),
    [
        (D(2027, 1, 20), "not_yet"),
        (D(2027, 1, 21), "due"),
        (D(2027, 2, 6), "due"),
        (D(2027, 2, 7), "overdue"),
    ],
)
def test_next_fill_status_at_its_boundaries(today, status):
    assert NextFill(1, D(2027, 2, 6), D(2027, 1, 21)).status(today, D(2027, 12, 1)) == status


def test_none_left_status():
    assert NextFill(None, D(2027, 2, 6), None).status(D(2027, 1, 1)) == "none_left"


@pytest.mark.parametrize(
    ("base", "due", "percent", "expected"),
    [
        (D(2027, 1, 1), D(2027, 1, 31), 75, D(2027, 1, 23)),  # 30 x .75 = 22.5 -> 22
        (D(2027, 1, 1), D(2027, 1, 1), 75, D(2027, 1, 1)),
        (D(2027, 1, 1), D(2027, 4, 1), 100, D(2027, 4, 1)),
        (D(2027, 1, 10), D(2027, 1, 1), 75, D(2027, 1, 10)),  # due before base: never earlier
    ],
)
def test_allowed_from(base, due, percent, expected):
    assert allowed_from(base, due, percent) == expected


def test_complete_when_dispensed_fills_cover_a_finite_regimen():
    order = terms(WEEKLY_8, D(2027, 1, 4), days_supply=28, fills=2)
    first = MadeFill(0, D(2027, 1, 4), 4, dispensed_on=D(2027, 1, 4))
    second = MadeFill(1, D(2027, 2, 1), 4)
    waiting = coverage(order, [first, second], verified_on=D(2027, 1, 1), refill_percent=75)
    assert waiting.next_fill is None
    assert waiting.covered_through == D(2027, 2, 22)
    assert not waiting.complete
    assert waiting.undispensed_from == D(2027, 2, 1)
    done = coverage(
        order,
        [first, MadeFill(1, D(2027, 2, 1), 4, dispensed_on=D(2027, 2, 1))],
        verified_on=D(2027, 1, 1),
        refill_percent=75,
    )
    assert done.complete and done.undispensed_from is None


def test_a_fill_number_outside_the_order_is_refused():
    with pytest.raises(DomainError):
        coverage(
            terms(fills=1), [MadeFill(1, D(2027, 1, 1), 1)], verified_on=None, refill_percent=75
        )


# --- renewals: the continued regimen gives exactly the remaining doses ------------------

REGIMENS = [
    HIGH_DOSE,
    Regimen((Phase(1000, 1, "week", 6, ("mon", "wed", "fri")), Phase(1000, 3, "month", None))),
    Regimen(
        (
            Phase(100, 1, "day", 7),
            Phase(100, 2, "day", 7),
            Phase(100, 3, "day", 7),
            Phase(100, 1, "month", 6),
        )
    ),
    Regimen((Phase(1000, 2, "day", 14), Phase(1000, 2, "month", None))),
]


@pytest.mark.parametrize("regimen", REGIMENS)
@pytest.mark.parametrize("start", [D(2026, 12, 1), D(2027, 2, 15)])
def test_continued_regimen_gives_exactly_the_remaining_doses(regimen, start):
    until = start + timedelta(days=800)
    doses = expand_regimen(regimen, start, until)
    for position in range(0, len(doses), 3):
        dose = doses[position]
        continued = continue_regimen(regimen, dose)
        again = expand_regimen(continued, dose.date, until)
        assert [(d.date, d.dose_mcg) for d in again] == [
            (d.date, d.dose_mcg) for d in doses[position:]
        ], (regimen, dose)


def test_iter_regimen_matches_expand():
    start = D(2026, 12, 1)
    head = [d for _, d in zip(range(30), iter_regimen(HIGH_DOSE, start), strict=False)]
    assert tuple(head) == expand_regimen(HIGH_DOSE, start, head[-1].date + timedelta(days=1))
