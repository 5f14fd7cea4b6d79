"""USP <797> beyond-use dates: every table row, the ingredient-expiry cap, in-use discard."""

from __future__ import annotations

import inspect
import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pharmacy.domain import bud
from pharmacy.domain.bud import (
    BUD_LIMITS,
    Expiry,
    Preparation,
    beyond_use,
    bud_covers,
    bud_days_from,
    bud_rule,
)
from pharmacy.domain.errors import DomainError

COMPOUNDED = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


def at(*args: int) -> datetime:
    """Return a UTC date-time."""
    return datetime(*args, tzinfo=UTC)


# Every row of SPEC 2.4 at room, refrigerator and freezer, compounded 2024-03-01 10:00 UTC.
# Expected instants are worked out by hand (March has 31 days, April 30, May 31, June 30).
# (category, sterilization, sterility_tested, nonsterile_components, storage, expected BUD)
TABLE_CASES = [
    # Category 1, any method: 12 h / 24 h (frozen refused below)
    (1, "aseptic", False, True, "room", at(2024, 3, 1, 22, 0)),
    (1, "aseptic", False, True, "refrigerated", at(2024, 3, 2, 10, 0)),
    (1, "terminal", True, False, "room", at(2024, 3, 1, 22, 0)),
    (1, "terminal", True, False, "refrigerated", at(2024, 3, 2, 10, 0)),
    # Category 2, aseptic, untested, nonsterile component: 1 / 4 / 45 days (domain.md seed 1)
    (2, "aseptic", False, True, "room", at(2024, 3, 2, 10, 0)),
    (2, "aseptic", False, True, "refrigerated", at(2024, 3, 5, 10, 0)),
    (2, "aseptic", False, True, "frozen", at(2024, 4, 15, 10, 0)),
    # Category 2, aseptic, untested, sterile components only: 4 / 10 / 45 days
    (2, "aseptic", False, False, "room", at(2024, 3, 5, 10, 0)),
    (2, "aseptic", False, False, "refrigerated", at(2024, 3, 11, 10, 0)),
    (2, "aseptic", False, False, "frozen", at(2024, 4, 15, 10, 0)),
    # Category 2, aseptic, sterility tested: 30 / 45 / 60 days (either component kind)
    (2, "aseptic", True, True, "room", at(2024, 3, 31, 10, 0)),
    (2, "aseptic", True, True, "refrigerated", at(2024, 4, 15, 10, 0)),
    (2, "aseptic", True, True, "frozen", at(2024, 4, 30, 10, 0)),
    (2, "aseptic", True, False, "room", at(2024, 3, 31, 10, 0)),
    (2, "aseptic", True, False, "refrigerated", at(2024, 4, 15, 10, 0)),
    (2, "aseptic", True, False, "frozen", at(2024, 4, 30, 10, 0)),
    # Category 2, terminally sterilized, untested: 14 / 28 / 45 days
    (2, "terminal", False, True, "room", at(2024, 3, 15, 10, 0)),
    (2, "terminal", False, True, "refrigerated", at(2024, 3, 29, 10, 0)),
    (2, "terminal", False, True, "frozen", at(2024, 4, 15, 10, 0)),
    (2, "terminal", False, False, "refrigerated", at(2024, 3, 29, 10, 0)),
    # Category 2, terminally sterilized, tested: 45 / 60 / 90 days
    (2, "terminal", True, True, "room", at(2024, 4, 15, 10, 0)),
    (2, "terminal", True, True, "refrigerated", at(2024, 4, 30, 10, 0)),
    (2, "terminal", True, True, "frozen", at(2024, 5, 30, 10, 0)),
    (2, "terminal", True, False, "frozen", at(2024, 5, 30, 10, 0)),
    # Category 3, aseptic, tested: 60 / 90 / 120 days
    (3, "aseptic", True, True, "room", at(2024, 4, 30, 10, 0)),
    (3, "aseptic", True, True, "refrigerated", at(2024, 5, 30, 10, 0)),
    (3, "aseptic", True, True, "frozen", at(2024, 6, 29, 10, 0)),
    (3, "aseptic", True, False, "refrigerated", at(2024, 5, 30, 10, 0)),
    # Category 3, terminally sterilized, tested: 90 / 120 / 180 days
    (3, "terminal", True, True, "room", at(2024, 5, 30, 10, 0)),
    (3, "terminal", True, True, "refrigerated", at(2024, 6, 29, 10, 0)),
    (3, "terminal", True, True, "frozen", at(2024, 8, 28, 10, 0)),
]


@pytest.mark.parametrize(
    ("category", "sterilization", "tested", "nonsterile", "storage", "expected"), TABLE_CASES
)
def test_table_limit(category, sterilization, tested, nonsterile, storage, expected):
    prep = Preparation(category, sterilization, tested, nonsterile, storage)

    result = beyond_use(prep, COMPOUNDED, [], UTC)

    assert result.at == expected
    assert result.at.tzinfo is UTC
    assert result.limited_by == "usp797"
    assert f"Category {category}" in result.rule


def test_rule_text_names_the_row():
    prep = Preparation(2, "aseptic", False, True, "refrigerated")

    assert bud_rule(prep).description == (
        "USP <797> Category 2, aseptically processed, not sterility tested, one or more "
        "nonsterile starting components, refrigerated (2-8 C): 4 days"
    )
    assert bud_rule(Preparation(1, "aseptic", False, True, "room")).description.endswith(
        "room temperature (20-25 C): 12 hours"
    )


def test_every_valid_combination_matches_exactly_one_row_or_is_refused():
    refused = 0
    for combo in itertools.product(
        (1, 2, 3), ("aseptic", "terminal"), (False, True), (False, True), bud.STORAGES
    ):
        matches = [
            key
            for key in BUD_LIMITS
            if all(want is None or want == have for want, have in zip(key, combo, strict=True))
        ]
        category, _, tested, _, storage = combo
        if (category == 1 and storage == "frozen") or (category == 3 and not tested):
            assert matches == []
            refused += 1
        else:
            assert len(matches) == 1, combo
    # Cat 1 frozen: 2 methods x 2 x 2 flags; Cat 3 untested: 2 methods x 2 x 3 storages.
    assert refused == 8 + 12


def test_every_table_row_cites_its_source():
    source = inspect.getsource(bud)
    table = source[source.index("BUD_LIMITS: dict") : source.index("_STORAGE_TEXT")]
    rows = [line for line in table.splitlines() if "timedelta(" in line and ":" in line]
    assert len(rows) == len(BUD_LIMITS)
    for row in rows:
        assert "#" in row and any(
            name in row.split("#", 1)[1] for name in ("Phar 15.37", "USP fact sheet", "brainscape")
        ), row


@pytest.mark.parametrize("sterilization", ["aseptic", "terminal"])
def test_category_1_frozen_is_refused(sterilization):
    with pytest.raises(DomainError) as info:
        beyond_use(Preparation(1, sterilization, False, True, "frozen"), COMPOUNDED, [], UTC)
    assert info.value.field == "storage"
    assert "Category 1" in info.value.message and "frozen" in info.value.message


@pytest.mark.parametrize(
    ("sterilization", "storage"),
    [("aseptic", "room"), ("aseptic", "refrigerated"), ("terminal", "frozen")],
)
def test_category_3_without_sterility_test_is_refused(sterilization, storage):
    with pytest.raises(DomainError) as info:
        beyond_use(Preparation(3, sterilization, False, True, storage), COMPOUNDED, [], UTC)
    assert info.value.field == "sterility_tested"
    assert "Category 3" in info.value.message


@pytest.mark.parametrize(
    ("prep", "field"),
    [
        (Preparation(4, "aseptic", False, True, "room"), "category"),
        (Preparation(0, "aseptic", False, True, "room"), "category"),
        (Preparation(True, "aseptic", False, True, "room"), "category"),
        (Preparation(2, "filtered", False, True, "room"), "sterilization"),
        (Preparation(2, "aseptic", False, True, "freezer"), "storage"),
        (Preparation(2, "aseptic", "no", True, "room"), "sterility_tested"),
        (Preparation(2, "aseptic", False, None, "room"), "nonsterile_components"),
    ],
)
def test_unknown_values_are_refused(prep, field):
    with pytest.raises(DomainError) as info:
        bud_rule(prep)
    assert info.value.field == field


def test_naive_compounding_time_is_refused():
    with pytest.raises(DomainError) as info:
        beyond_use(
            Preparation(2, "aseptic", False, True, "room"), datetime(2024, 3, 1, 10), [], UTC
        )
    assert info.value.field == "compounded_at"


def test_compounding_time_in_another_zone_gives_the_same_instant_in_utc():
    local = datetime(2024, 3, 1, 4, 0, tzinfo=timezone(timedelta(hours=-6)))

    result = beyond_use(Preparation(2, "aseptic", False, True, "refrigerated"), local, [], UTC)

    assert result.at == at(2024, 3, 5, 10, 0)
    assert result.at.tzinfo is UTC


def test_days_are_24_hours_across_a_dst_change():
    # Chicago moves to CDT on 2024-03-10: 4 x 24 h later is 11:00 local, not 10:00.
    compounded = datetime(2024, 3, 8, 10, 0, tzinfo=CHICAGO)

    result = beyond_use(
        Preparation(2, "aseptic", False, True, "refrigerated"), compounded, [], CHICAGO
    )

    assert result.at == at(2024, 3, 12, 16, 0)
    assert result.at.astimezone(CHICAGO).hour == 11


# --- the ingredient-expiry cap (domain.md seed 2) -------------------------------------------

TERMINAL_UNTESTED_FRIDGE = Preparation(2, "terminal", False, True, "refrigerated")  # 28 d


def test_month_only_expiry_after_the_table_limit_does_not_cap():
    result = beyond_use(
        TERMINAL_UNTESTED_FRIDGE, COMPOUNDED, [Expiry.parse("BA-2403", "2024-03")], UTC
    )

    assert result.at == at(2024, 3, 29, 10, 0)
    assert result.limited_by == "usp797"


def test_dated_expiry_caps_at_the_end_of_that_day():
    expiries = [Expiry.parse("BA-2403", "2024-03"), Expiry.parse("WFI-77", "2024-03-20")]

    result = beyond_use(TERMINAL_UNTESTED_FRIDGE, COMPOUNDED, expiries, UTC)

    assert result.at == at(2024, 3, 20, 23, 59, 59)
    assert result.limited_by == "WFI-77"
    assert "28 days" in result.rule  # the row used is still named


def test_dated_expiry_ends_at_local_midnight_of_the_pharmacy():
    # 2024-03-20 23:59:59 CDT (UTC-5) is 2024-03-21 04:59:59 UTC.
    result = beyond_use(
        TERMINAL_UNTESTED_FRIDGE, COMPOUNDED, [Expiry.parse("WFI-77", "2024-03-20")], CHICAGO
    )

    assert result.at == at(2024, 3, 21, 4, 59, 59)
    assert result.at.astimezone(CHICAGO) == datetime(2024, 3, 20, 23, 59, 59, tzinfo=CHICAGO)
    assert result.limited_by == "WFI-77"


def test_month_only_expiry_caps_at_the_end_of_the_months_last_day():
    # Cat 2 aseptic, sterility tested, refrigerated: 45 d -> 2024-04-15 10:00, but the lot
    # expires "2024-03" = end of 2024-03-31 in Tokyo = 2024-03-31 14:59:59 UTC.
    prep = Preparation(2, "aseptic", True, True, "refrigerated")

    result = beyond_use(prep, COMPOUNDED, [Expiry.parse("CYA-0424", "2024-03")], TOKYO)

    assert result.at == at(2024, 3, 31, 14, 59, 59)
    assert result.limited_by == "CYA-0424"


def test_the_earliest_of_several_expiries_caps_whatever_their_order():
    expiries = [
        Expiry.parse("LATE", "2024-12"),
        Expiry.parse("EARLY", "2024-03-10"),
        Expiry.parse("MIDDLE", "2024-03-20"),
    ]

    forward = beyond_use(TERMINAL_UNTESTED_FRIDGE, COMPOUNDED, expiries, UTC)
    backward = beyond_use(TERMINAL_UNTESTED_FRIDGE, COMPOUNDED, expiries[::-1], UTC)

    assert forward == backward
    assert forward.at == at(2024, 3, 10, 23, 59, 59)
    assert forward.limited_by == "EARLY"


def test_expiry_equal_to_the_table_limit_is_reported_as_usp797():
    compounded = at(2024, 3, 1, 23, 59, 59)
    prep = Preparation(2, "aseptic", False, True, "room")  # 1 day

    result = beyond_use(prep, compounded, [Expiry.parse("NACL-1", "2024-03-02")], UTC)

    assert result.at == at(2024, 3, 2, 23, 59, 59)
    assert result.limited_by == "usp797"


def test_lot_expiring_later_on_the_compounding_day_caps_at_that_days_end():
    result = beyond_use(
        TERMINAL_UNTESTED_FRIDGE, COMPOUNDED, [Expiry.parse("NACL-1", "2024-03-01")], UTC
    )

    assert result.at == at(2024, 3, 1, 23, 59, 59)
    assert result.limited_by == "NACL-1"


def test_lot_expired_before_compounding_is_refused():
    with pytest.raises(DomainError) as info:
        beyond_use(TERMINAL_UNTESTED_FRIDGE, COMPOUNDED, [Expiry.parse("OLD-1", "2024-02")], UTC)
    assert info.value.field == "ingredient_lots"
    assert "OLD-1" in info.value.message


def test_expiry_parse_errors_name_the_expiry_field():
    with pytest.raises(DomainError) as info:
        Expiry.parse("X", "03/2024")
    assert info.value.field == "expiry"


def test_expiry_end_is_23_59_59_local_in_utc():
    expiry = Expiry.parse("BA", "2027-03")

    assert expiry.on == date(2027, 3, 31)
    assert expiry.end(UTC) == at(2027, 3, 31, 23, 59, 59)
    assert expiry.end(NEW_YORK) == at(2027, 4, 1, 3, 59, 59)  # EDT, UTC-4


# --- covering dose dates, at a time-zone boundary -------------------------------------------

# 2024-03-05 03:00 UTC is 2024-03-04 22:00 in New York (EST, UTC-5).
BUD_NEAR_MIDNIGHT = at(2024, 3, 5, 3, 0)


@pytest.mark.parametrize(
    ("tz", "dose_date", "covered"),
    [
        (UTC, date(2024, 3, 4), True),
        (UTC, date(2024, 3, 5), False),
        (NEW_YORK, date(2024, 3, 3), True),
        (NEW_YORK, date(2024, 3, 4), False),  # the BUD's local date
        (NEW_YORK, date(2024, 3, 5), False),
    ],
)
def test_bud_covers_dates_before_its_local_calendar_date(tz, dose_date, covered):
    assert bud_covers(BUD_NEAR_MIDNIGHT, dose_date, tz) is covered


@pytest.mark.parametrize(
    ("tz", "dispense_date", "days"),
    [
        (UTC, date(2024, 3, 1), 4),
        (NEW_YORK, date(2024, 3, 1), 3),
        (NEW_YORK, date(2024, 3, 4), 0),
        (NEW_YORK, date(2024, 3, 20), 0),  # dispensed after the BUD: never below 0
    ],
)
def test_bud_days_from_the_dispense_date(tz, dispense_date, days):
    assert bud_days_from(BUD_NEAR_MIDNIGHT, dispense_date, tz) == days


def test_bud_covers_at_local_midnight_covers_the_whole_previous_day():
    bud_at = datetime(2024, 3, 5, 0, 0, tzinfo=NEW_YORK)

    assert bud_covers(bud_at, date(2024, 3, 4), NEW_YORK)
    assert not bud_covers(bud_at, date(2024, 3, 5), NEW_YORK)
    assert bud_days_from(bud_at, date(2024, 3, 1), NEW_YORK) == 4


@pytest.mark.parametrize("tz", [UTC, NEW_YORK, TOKYO])
def test_bud_days_window_matches_bud_covers(tz):
    # SPEC 2.3: N days from day s means s .. s+N-1; those must be exactly the covered dates.
    dispense = date(2024, 3, 1)
    days = bud_days_from(BUD_NEAR_MIDNIGHT, dispense, tz)
    for offset in range(10):
        dose = dispense + timedelta(days=offset)
        assert bud_covers(BUD_NEAR_MIDNIGHT, dose, tz) is (offset < days)


def test_bud_covers_refuses_a_naive_bud():
    with pytest.raises(DomainError):
        bud_covers(datetime(2024, 3, 5), date(2024, 3, 1), UTC)
