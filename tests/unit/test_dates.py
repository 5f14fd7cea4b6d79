"""Date windows (SPEC 5.3) and the sterility incubation rule (SPEC 5.6, USP <71>), from tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pharmacy.domain.dates import (
    check_compounded_at,
    check_start_date,
    check_sterility_completed,
)
from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.order_input import parse_order
from tests.factories_orders import order_body

TODAY = date(2027, 3, 14)
NOW = datetime(2027, 3, 14, 15, 0, tzinfo=UTC)
COMPOUNDED = datetime(2027, 2, 20, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "backdate", "allowed"),
    [
        (TODAY, 7, True),
        (TODAY - timedelta(days=7), 7, True),  # the last day back allowed
        (TODAY - timedelta(days=8), 7, False),
        (TODAY + timedelta(days=365), 7, True),  # the last day ahead allowed
        (TODAY + timedelta(days=366), 7, False),
        (date(2020, 1, 1), 7, False),  # issue 10: an order starting 2020-01-01 was accepted
        (TODAY - timedelta(days=1), 0, False),  # a pharmacy that allows no backdating
        (TODAY, 0, True),
        (TODAY - timedelta(days=30), 30, True),
        (date(2028, 2, 29), 7, True),  # leap day, within 365 days
    ],
)
def test_start_date_window(start, backdate, allowed):
    problem = check_start_date(start, TODAY, max_backdate_days=backdate)
    assert (problem is None) == allowed
    if not allowed:
        assert problem.field == "start_date"
        # The message says what is allowed: both ends of the window.
        earliest = (TODAY - timedelta(days=backdate)).isoformat()
        latest = (TODAY + timedelta(days=365)).isoformat()
        assert earliest in problem.message and latest in problem.message


@pytest.mark.parametrize(
    ("moment", "max_age", "allowed"),
    [
        (NOW, 30, True),
        (NOW - timedelta(days=30), 30, True),
        (NOW - timedelta(days=30, minutes=1), 30, False),
        (NOW + timedelta(minutes=4), 30, True),  # clock skew, not the future
        (NOW + timedelta(minutes=6), 30, False),
        (NOW + timedelta(days=1), 30, False),
        (NOW - timedelta(days=3), 2, False),
        (datetime(2026, 1, 1, tzinfo=UTC), 30, False),
    ],
)
def test_compounded_at_window(moment, max_age, allowed):
    problem = check_compounded_at(moment, NOW, max_age_days=max_age)
    assert (problem is None) == allowed
    if not allowed:
        assert problem.field == "compounded_at"


@pytest.mark.parametrize(
    ("result", "completed", "days", "allowed", "says"),
    [
        # USP <71>: incubation of not less than 14 days before a pass.
        ("passed", COMPOUNDED + timedelta(days=14), 14, True, None),
        ("passed", COMPOUNDED + timedelta(days=14) - timedelta(minutes=1), 14, False, "14 days"),
        ("passed", COMPOUNDED + timedelta(minutes=1), 14, False, "14 days"),  # issue 10
        ("passed", COMPOUNDED + timedelta(days=20), 21, False, "21 days"),  # a longer setting
        # A failure can be seen on any day of incubation.
        ("failed", COMPOUNDED + timedelta(days=2), 14, True, None),
        ("failed", COMPOUNDED - timedelta(minutes=1), 14, False, "before the batch"),
        ("passed", COMPOUNDED - timedelta(days=1), 14, False, "before the batch"),
        ("passed", NOW + timedelta(hours=1), 14, False, "future"),
        ("failed", NOW + timedelta(hours=1), 14, False, "future"),
    ],
)
def test_sterility_incubation(result, completed, days, allowed, says):
    problem = check_sterility_completed(result, completed, COMPOUNDED, NOW, incubation_days=days)
    assert (problem is None) == allowed
    if not allowed:
        assert problem.field == "completed_at" and says in problem.message


def test_order_parser_applies_the_window_only_when_asked():
    """``POST /plan`` parses without the window; an order with it (SPEC 5.3)."""
    body = order_body(start_date="2020-01-01")
    assert parse_order(body, TODAY).start_date == date(2020, 1, 1)
    with pytest.raises(ValidationFailed) as caught:
        parse_order(body, TODAY, max_backdate_days=7)
    assert set(caught.value.errors) == {"start_date"}


def test_order_parser_reports_the_window_with_other_errors():
    body = order_body(start_date="2020-01-01", route="IV?", days_supply=0)
    with pytest.raises(ValidationFailed) as caught:
        parse_order(body, TODAY, max_backdate_days=7)
    assert {"start_date", "route", "days_supply"} <= set(caught.value.errors)
