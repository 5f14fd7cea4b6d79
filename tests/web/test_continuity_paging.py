"""The continuity list a page at a time (SPEC 7.5, 9): positions, links, counts, and the
stored ``awaiting_review`` state behind ``symptoms_worse``. The clock is 2027-01-10."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from pharmacy.extensions import db
from pharmacy.models import SymptomReport
from pharmacy.services import followup
from tests.factories import user, writing
from tests.factories_fills import make_verified_order

TODAY = date(2027, 1, 10)
MONTHLY = [{"dose_mcg": 1000, "every": 1, "unit": "month", "count": None}]


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(datetime(2027, 1, 10, 17, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def spread(app):
    """Return the Rx numbers of 4 lapsed, 3 overdue and 4 due orders (11 items)."""
    rxs = []
    with writing(app):
        for days in (40, 35, 30, 25):  # lapsed
            rxs.append(make_verified_order(phases=MONTHLY, start_date=TODAY - timedelta(days=days)))
        for days in (3, 2, 1):  # overdue
            rxs.append(make_verified_order(phases=MONTHLY, start_date=TODAY - timedelta(days=days)))
        for days in (1, 2, 3, 4):  # due
            rxs.append(make_verified_order(phases=MONTHLY, start_date=TODAY + timedelta(days=days)))
        return [o.rx_number for o in rxs]


def _walk(client, api, first: str) -> list[dict]:
    pages = []
    url: str | None = first
    while url:
        body = client.get(url, headers=api("pharmacist")).get_json()
        pages.append(body)
        url = body["next"]
        assert len(pages) < 20
    return pages


def test_api_pages_forward_and_back_lose_and_repeat_nothing(app, client, api, spread):
    whole = client.get("/api/v1/follow-up?limit=200", headers=api("pharmacist")).get_json()
    assert whole["next"] is None and whole["prev"] is None
    everything = [(i["kind"], i["rx_number"]) for i in whole["items"]]
    assert {rx for _, rx in everything} >= set(spread)
    assert whole["counts"]["lapsed"] == 4 and whole["counts"]["fill_overdue"] == 3
    assert whole["counts_capped_at"] == 500

    pages = _walk(client, api, "/api/v1/follow-up?limit=3")
    assert all(len(p["items"]) <= 3 for p in pages)
    walked = [(i["kind"], i["rx_number"]) for p in pages for i in p["items"]]
    assert walked == everything  # same order, nothing lost or repeated
    assert pages[0]["prev"] is None and all(p["prev"] for p in pages[1:])
    # Back from the last page by the prev links: the same pages, in reverse.
    back, url = [], pages[-1]["prev"]
    while url:
        body = client.get(url, headers=api("pharmacist")).get_json()
        back.append([(i["kind"], i["rx_number"]) for i in body["items"]])
        url = body["prev"]
    assert back == [[(i["kind"], i["rx_number"]) for i in p["items"]] for p in pages[-2::-1]]


def test_one_kind_pages_too(app, client, api, spread):
    pages = _walk(client, api, "/api/v1/follow-up?kind=lapsed&limit=3")
    assert [len(p["items"]) for p in pages] == [3, 1]
    assert {i["kind"] for p in pages for i in p["items"]} == {"lapsed"}
    assert "kind=lapsed" in pages[0]["next"]


@pytest.mark.parametrize(
    "query",
    [
        "after=garbage",
        "after=9~2027-01-01~1",
        "after=0~2027-13-01~1",
        "before=0~2027-01-01~99999999999",
        "after=0~2027-01-01~1&before=0~2027-01-01~2",
        "limit=0",
        "limit=201",
        "after=" + "1" * 500,
    ],
)
def test_bad_positions_are_refused_naming_the_field(client, api, query):
    response = client.get(f"/api/v1/follow-up?{query}", headers=api("pharmacist"))
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    name = query.split("=")[0]
    assert name in str(body)


def test_page_and_prescriber_inbox_link_to_the_next_page(app, as_user, spread):
    page = as_user("pharmacist").get("/follow-up/?limit=5").get_data(as_text=True)
    assert page.count('<tr data-kind="') == 5
    assert 'rel="next"' in page and 'rel="prev"' not in page
    home = as_user("pharmacist").get("/home").get_data(as_text=True)
    assert "Patients to follow up" in home
    prescriber = as_user("prescriber")
    inbox = prescriber.get("/home").get_data(as_text=True)
    assert 'id="inbox"' in inbox
    assert as_user("pharmacist").get("/follow-up/?after=nonsense").status_code == 422


def test_csv_export_holds_every_item(app, as_user, spread):
    response = as_user("pharmacist").get("/follow-up/export.csv")
    lines = response.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("kind,rx_number")
    assert {line.split(",")[1] for line in lines[1:]} >= set(spread)


def _flags(app) -> dict[date, bool]:
    with app.app_context():
        rows = db.session.execute(
            select(SymptomReport.report_date, SymptomReport.awaiting_review)
        ).all()
        return {d: flag for d, flag in rows}


def test_awaiting_review_follows_reports_and_reviews(app):
    with writing(app):
        order = make_verified_order(phases=MONTHLY, start_date=TODAY - timedelta(days=20))
        rx, patient_id = order.rx_number, order.patient_id
    pharmacist = None

    def report(day: date, change: str) -> None:
        nonlocal pharmacist
        with writing(app):
            from pharmacy.models import Patient

            followup.record_symptom_report(
                db.session.get(Patient, patient_id),
                day,
                {"fatigue": change},
                actor=user("pharmacist"),
                today=TODAY,
            )

    def listed() -> list[str]:
        with app.app_context():
            return [i["rx_number"] for i in followup.symptoms_worse_items(today=TODAY)]

    report(date(2027, 1, 2), "worse")
    assert _flags(app) == {date(2027, 1, 2): True} and listed() == [rx]
    # A report dated earlier than the latest one changes nothing.
    report(date(2027, 1, 1), "worse")
    assert _flags(app)[date(2027, 1, 1)] is False and listed() == [rx]
    # A later, better report: nothing waits any more.
    report(date(2027, 1, 5), "better")
    assert not any(_flags(app).values()) and listed() == []
    # Worse again, then the prescriber reviews: it leaves the list.
    report(date(2027, 1, 8), "worse")
    assert listed() == [rx]
    with writing(app):
        from pharmacy.models import Order

        order = db.session.execute(select(Order).where(Order.rx_number == rx)).scalar_one()
        followup.record_review(order, "continue", "Seen", actor=user("prescriber"), today=TODAY)
    assert not any(_flags(app).values()) and listed() == []


def test_a_lab_result_moves_only_orders_in_force(app):
    """A new result refreshes the patient's orders in force, not the ones renewed or
    stopped over the years: its statement count does not grow with the patient's history."""
    from decimal import Decimal

    from pharmacy.models import Order, Patient
    from tests.factories_fills import make_patient
    from tests.web.test_followup_queries import count_statements

    def record(patient_id: int) -> int:
        with writing(app):
            patient = db.session.get(Patient, patient_id)
            db.session.expire_all()
            with count_statements() as seen:
                followup.record_observation(
                    patient,
                    followup.ObservationInput("b12", Decimal(300), "pg/mL", TODAY),
                    actor=user("pharmacist"),
                    today=TODAY,
                )
            return len(seen)

    counts = []
    for history in (0, 8):
        with writing(app):
            patient = make_patient()
            old = [
                make_verified_order(patient, phases=MONTHLY, renewal_state="replaced")
                for _ in range(history)
            ]
            make_verified_order(patient, phases=MONTHLY, start_date=TODAY - timedelta(days=20))
            for order in old:
                order.labs_due_on = date(2020, 1, 1)
            db.session.commit()
            patient_id, old_ids = patient.id, [o.id for o in old]
        counts.append(record(patient_id))
        with app.app_context():
            untouched = db.session.execute(
                select(Order.labs_due_on).where(Order.id.in_(old_ids))
            ).scalars()
            assert set(untouched) <= {date(2020, 1, 1)}
    assert counts[0] == counts[1], counts


def test_a_race_that_leaves_two_flags_lists_the_latest_report_once(app):
    """Two reports (or a report and a review) recorded at the same moment each set their
    flag without seeing the other: the list checks the rule again on the flagged reports."""
    from pharmacy.models import OrderReview, Patient

    with writing(app):
        order = make_verified_order(phases=MONTHLY, start_date=TODAY - timedelta(days=20))
        patient = db.session.get(Patient, order.patient_id)
        for day in (date(2027, 1, 3), date(2027, 1, 4)):
            followup.record_symptom_report(
                patient, day, {"fatigue": "worse"}, actor=user("pharmacist"), today=TODAY
            )
        # What the race leaves behind: both reports flagged.
        db.session.execute(
            update(SymptomReport)
            .where(SymptomReport.patient_id == patient.id)
            .values(awaiting_review=True)
        )
        db.session.commit()
        rx, order_id = order.rx_number, order.id
    with app.app_context():
        items = followup.symptoms_worse_items(today=TODAY)
        assert [(i["rx_number"], i["since"]) for i in items] == [(rx, "2027-01-04")]
    with writing(app):
        # A review that committed while the later report was being recorded.
        db.session.add(
            OrderReview(order_id=order_id, decision="continue", reviewed_on=date(2027, 1, 5))
        )
        db.session.commit()
    with app.app_context():
        assert followup.symptoms_worse_items(today=TODAY) == []
