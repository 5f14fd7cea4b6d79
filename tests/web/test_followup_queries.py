"""The continuity-list queries of SPEC 7.5 that follow-up provides: ``labs_overdue`` and
``symptoms_worse`` items, each one SQL statement whatever the number of orders."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

import time_machine
from sqlalchemy import event

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.services import followup
from tests.factories import user
from tests.factories_orders import make_order

WRITTEN = datetime(2026, 11, 28, 15, tzinfo=UTC)


@contextmanager
def count_statements():
    """Yield a list that fills with every SQL statement run inside the block."""
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE"):
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def _orders(n: int, *, first: int = 0) -> list:
    """Submit ``n`` orders for ``n`` patients (high-dose from 2026-12-01) and verify them."""
    made = []
    with time_machine.travel(WRITTEN, tick=False), write_intent():
        for i in range(first, first + n):
            order = make_order(
                "prescriber" if i % 2 == 0 else "prescriber2",
                start_date="2026-12-01",
                patient__mrn=f"MRN-Q{i}",
                patient__first_name=f"Pat{i}",
            )
            order.status = "verified"
            made.append(order)
        db.session.commit()
    return made


def _report(order, day: date, symptoms: dict) -> None:
    with write_intent():
        followup.record_symptom_report(
            order.patient, day, symptoms, actor=user("pharmacist"), today=day
        )


def _result(order, test: str, day: date, value: str = "400", unit: str = "pg/mL") -> None:
    with write_intent():
        followup.record_observation(
            order.patient,
            followup.ObservationInput(test, Decimal(value), unit, day),
            actor=user("pharmacist"),
            today=day,
        )


def test_labs_overdue_items(app):
    with app.app_context():
        a, b, c = _orders(3)
        # Checkpoint Jan 5 2027: overdue from Jan 20.
        assert followup.labs_overdue_items(today=date(2027, 1, 19)) == []
        items = followup.labs_overdue_items(today=date(2027, 1, 20))
        assert [i["rx_number"] for i in items] == [a.rx_number, b.rx_number, c.rx_number]
        assert items[0]["kind"] == "labs_overdue"
        assert items[0]["since"] == "2027-01-20" and items[0]["checkpoint"] == "2027-01-05"
        assert items[0]["patient"]["last_name"] == "Lovelace"
        # Results for a: done. Only B12 for b: still overdue.
        _result(a, "b12", date(2027, 1, 6))
        _result(a, "mcv", date(2027, 1, 6), "92", "fL")
        _result(b, "b12", date(2027, 1, 6))
        items = followup.labs_overdue_items(today=date(2027, 1, 20))
        assert [i["rx_number"] for i in items] == [b.rx_number, c.rx_number]
        # Only c is the second prescriber's.
        mine = followup.labs_overdue_items(
            today=date(2027, 1, 20), prescriber_id=user("prescriber2").id
        )
        assert [i["rx_number"] for i in mine] == [b.rx_number]
        # a's next checkpoint (Apr 5) becomes overdue on Apr 20.
        items = followup.labs_overdue_items(today=date(2027, 4, 20))
        assert a.rx_number in [i["rx_number"] for i in items]


def test_symptoms_worse_items(app):
    with app.app_context():
        a, b, c = _orders(3)
        _report(a, date(2027, 1, 10), {"fatigue": "worse"})
        _report(b, date(2027, 1, 12), {"balance": "new", "mood": "better"})
        _report(c, date(2027, 1, 9), {"fatigue": "worse"})
        _report(c, date(2027, 1, 11), {"fatigue": "better"})  # the latest is fine
        items = followup.symptoms_worse_items(today=date(2027, 1, 15))
        assert [(i["rx_number"], i["since"]) for i in items] == [
            (a.rx_number, "2027-01-10"),
            (b.rx_number, "2027-01-12"),
        ]
        assert items[1]["symptoms"] == ["balance"] and items[1]["kind"] == "symptoms_worse"
        # The prescriber reviews a's order: the item leaves the list.
        with write_intent():
            followup.record_review(
                a, "continue", "Seen", actor=user("prescriber"), today=date(2027, 1, 13)
            )
        items = followup.symptoms_worse_items(today=date(2027, 1, 15))
        assert [i["rx_number"] for i in items] == [b.rx_number]
        assert (
            followup.symptoms_worse_items(
                today=date(2027, 1, 15), prescriber_id=user("prescriber").id
            )
            == []
        )


def test_one_statement_whatever_the_number_of_orders(app):
    with app.app_context():
        few = _orders(2)
        for order in few:
            _report(order, date(2027, 1, 10), {"fatigue": "worse"})
        db.session.expire_all()
        with count_statements() as small_labs:
            assert len(followup.labs_overdue_items(today=date(2027, 2, 1))) == 2
        with count_statements() as small_sym:
            assert len(followup.symptoms_worse_items(today=date(2027, 2, 1))) == 2
        many = _orders(20, first=10)
        for order in many:
            _report(order, date(2027, 1, 10), {"fatigue": "worse"})
        db.session.expire_all()
        with count_statements() as big_labs:
            assert len(followup.labs_overdue_items(today=date(2027, 2, 1))) == 22
        with count_statements() as big_sym:
            assert len(followup.symptoms_worse_items(today=date(2027, 2, 1))) == 22
    assert len(small_labs) == len(big_labs) == 1
    assert len(small_sym) == len(big_sym) == 1
