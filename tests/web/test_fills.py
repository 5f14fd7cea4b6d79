"""Fills: FEFO allocation with the real batch BUD, refills, voiding, and nothing oversold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Batch, Fill, FillAllocation, Order, now_utc
from pharmacy.services import fills as fills_service
from tests.factories import user, writing
from tests.factories_fills import (
    make_batch,
    make_formulation,
    make_verified_order,
)

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive

DAILY_5 = [{"dose_mcg": 1000, "every": 1, "unit": "day", "count": 5}]


def post_fill(client, api, rx):
    return client.post(f"/api/v1/orders/{rx}/fills", headers=api("technician"))


def test_fefo_takes_the_earliest_bud_first(app, client, api):
    with writing(app):
        formulation = make_formulation()
        later = make_batch(formulation, bud_dt=now_utc() + timedelta(days=40))
        sooner = make_batch(formulation, bud_dt=now_utc() + timedelta(days=20))
        rx = make_verified_order().rx_number
        later_lot, sooner_lot = later.lot_number, sooner.lot_number
    response = post_fill(client, api, rx)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["fill_number"] == 0
    assert body["vials"] == 1
    assert body["status"] == "allocated"
    assert body["allocations"] == [
        {"batch_lot": sooner_lot, "vials": 1, "serials": [1], "bud": body["allocations"][0]["bud"]}
    ]
    assert body["plan"]["totals"]["vials"] == 1
    with app.app_context():
        available = dict(db.session.execute(select(Batch.lot_number, Batch.vials_available)).all())
    assert available == {later_lot: 10, sooner_lot: 9}


def test_fill_splits_across_batches_in_fefo_order(app, client, api):
    with writing(app):
        formulation = make_formulation()
        big = make_batch(formulation, vials=10, bud_dt=now_utc() + timedelta(days=50))
        small = make_batch(formulation, vials=2, bud_dt=now_utc() + timedelta(days=30))
        rx = make_verified_order(phases=DAILY_5).rx_number
        big_lot, small_lot = big.lot_number, small.lot_number
    body = post_fill(client, api, rx).get_json()
    assert body["vials"] == 5
    assert [(a["batch_lot"], a["vials"]) for a in body["allocations"]] == [
        (small_lot, 2),
        (big_lot, 3),
    ]
    with app.app_context():
        assert (
            db.session.execute(
                select(Batch.vials_available).where(Batch.lot_number == small_lot)
            ).scalar()
            == 0
        )
        assert (
            db.session.execute(
                select(Batch.vials_available).where(Batch.lot_number == big_lot)
            ).scalar()
            == 7
        )


def test_batch_whose_bud_misses_the_first_dose_is_skipped(app, client, api):
    with writing(app):
        formulation = make_formulation()
        short = make_batch(formulation, bud_dt=now_utc() + timedelta(days=5))
        good = make_batch(formulation, bud_dt=now_utc() + timedelta(days=60))
        rx = make_verified_order(
            start_date=fills_service.local_today() + timedelta(days=10)
        ).rx_number
        short_lot, good_lot = short.lot_number, good.lot_number
    body = post_fill(client, api, rx).get_json()
    assert [a["batch_lot"] for a in body["allocations"]] == [good_lot]
    with app.app_context():
        assert (
            db.session.execute(
                select(Batch.vials_available).where(Batch.lot_number == short_lot)
            ).scalar()
            == 10
        )


def test_vial_count_uses_the_real_batch_bud(app, client, api):
    # 20 daily 1 mL doses from 10 mL multiple-dose vials: 2 vials without a BUD. A batch
    # whose BUD covers only the first 8 days serves one vial; the rest is uncovered.
    with writing(app):
        formulation = make_formulation(vial_volume_ml=10, container="multiple-dose")
        today = fills_service.local_today()
        zone = fills_service.pharmacy_zone()
        from datetime import datetime, time

        bud = datetime.combine(today + timedelta(days=8), time(12), tzinfo=zone)
        make_batch(formulation, bud_dt=bud)
        rx = make_verified_order(
            vial_volume_ml=10,
            container="multiple-dose",
            days_supply=20,
            phases=[{"dose_mcg": 1000, "every": 1, "unit": "day", "count": 20}],
        ).rx_number
    body = post_fill(client, api, rx).get_json()
    assert body["vials"] == 1
    assert body["plan"]["fills"][0]["vials"] == 1
    assert len(body["plan"]["uncovered_doses"]) == 12
    assert body["plan"]["warnings"]


def test_short_stock_is_409_with_missing_count_and_writes_nothing(app, client, api):
    api("technician")  # issue the token (an audited event) before counting events
    with writing(app):
        formulation = make_formulation()
        make_batch(formulation, vials=3)
        rx = make_verified_order(phases=DAILY_5).rx_number
        events_before = db.session.execute(select(func.count(AuditEvent.id))).scalar()
    response = post_fill(client, api, rx)
    assert response.status_code == 409
    message = response.get_json()["error"]["message"]
    assert "needs 5 vials" in message and "2 are missing" in message
    with app.app_context():
        assert db.session.execute(select(func.count(Fill.id))).scalar() == 0
        assert db.session.execute(select(func.count(FillAllocation.id))).scalar() == 0
        assert db.session.execute(select(Batch.vials_available)).scalar() == 3
        assert db.session.execute(select(func.count(AuditEvent.id))).scalar() == events_before


def test_no_matching_stock_at_all_is_409(app, client, api):
    with writing(app):
        make_batch(make_formulation(vial_volume_ml=10, container="multiple-dose"))
        rx = make_verified_order().rx_number
    response = post_fill(client, api, rx)
    assert response.status_code == 409
    assert "1 is missing" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "status, words",
    [("submitted", "not been verified"), ("cancelled", "cancelled"), ("rejected", "rejected")],
)
def test_order_not_verified_is_409(app, client, api, status, words):
    with writing(app):
        make_batch()
        rx = make_verified_order(status=status).rx_number
    response = post_fill(client, api, rx)
    assert response.status_code == 409
    assert words in response.get_json()["error"]["message"]


def test_unknown_order_is_404(client, api):
    assert post_fill(client, api, "999").status_code == 404


def test_prescriber_may_not_fill(app, client, api):
    with writing(app):
        rx = make_verified_order().rx_number
    response = client.post(f"/api/v1/orders/{rx}/fills", headers=api("prescriber"))
    assert response.status_code == 403


def test_refill_waits_for_75_percent_and_refills_left(app, client, api):
    today = None
    with writing(app):
        today = fills_service.local_today()
        make_batch(make_formulation(), vials=10, bud_dt=now_utc() + timedelta(days=120))
        # Weekly doses; 30-day supply; one refill. Started 20 days ago: the original fill
        # covers the doses of days 0, 7, 14, 21 and 28; refill 1 is due by day 35 and opens
        # at 75 % of those 35 days from the original's first dose: day 26 (SPEC 5.4).
        order = make_verified_order(
            start_date=today - timedelta(days=20),
            refills=1,
            phases=[{"dose_mcg": 1000, "every": 1, "unit": "week", "count": None}],
        )
        rx, order_id = order.rx_number, order.id
    first = post_fill(client, api, rx)
    assert first.status_code == 201, first.get_json()
    early = post_fill(client, api, rx)
    assert early.status_code == 409
    opens = (today + timedelta(days=6)).isoformat()
    assert f"allowed from {opens}" in early.get_json()["error"]["message"]

    with writing(app):
        order = db.session.get(Order, order_id)
        tech = user("technician")
        with pytest.raises(fills_service.ConflictError):
            fills_service.allocate_fill(order, tech, today + timedelta(days=5))
        refill = fills_service.allocate_fill(order, tech, today + timedelta(days=6))
        assert refill.fill_number == 1
        assert refill.dispense_date == today + timedelta(days=15)
        with pytest.raises(fills_service.ConflictError, match="no refills left"):
            fills_service.allocate_fill(
                db.session.get(Order, order_id), tech, today + timedelta(days=60)
            )


def test_void_returns_vials_and_the_number_is_filled_again(app, client, api):
    with writing(app):
        make_batch(vials=10)
        rx = make_verified_order(phases=DAILY_5).rx_number
    fill = post_fill(client, api, rx).get_json()
    response = client.post(
        f"/api/v1/fills/{fill['id']}/void",
        json={"reason": "wrong patient"},
        headers=api("technician"),
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "voided"
    with app.app_context():
        assert db.session.execute(select(Batch.vials_available)).scalar() == 10
        actions = db.session.execute(select(AuditEvent.action)).scalars().all()
        assert "fill.allocated" in actions and "fill.voided" in actions
    again = client.post(
        f"/api/v1/fills/{fill['id']}/void", json={"reason": "twice"}, headers=api("technician")
    )
    assert again.status_code == 409
    refill = post_fill(client, api, rx).get_json()
    assert refill["fill_number"] == 0 and refill["vials"] == 5


def test_void_needs_a_reason(app, client, api):
    with writing(app):
        make_batch()
        rx = make_verified_order().rx_number
    fill = post_fill(client, api, rx).get_json()
    response = client.post(f"/api/v1/fills/{fill['id']}/void", json={}, headers=api("technician"))
    assert response.status_code == 422
    assert "reason" in response.get_json()["error"]["fields"]


def test_dispensed_fill_cannot_be_voided(app, client, api):
    with writing(app):
        make_batch()
        rx = make_verified_order().rx_number
    fill_id = post_fill(client, api, rx).get_json()["id"]
    with writing(app):
        db.session.get(Fill, fill_id).status = "dispensed"
        db.session.commit()
    response = client.post(
        f"/api/v1/fills/{fill_id}/void", json={"reason": "x"}, headers=api("technician")
    )
    assert response.status_code == 409


@pytest.mark.parametrize("kind", ["recalled", "quarantine", "rejected", "expired"])
def test_unusable_batches_are_never_allocated(app, client, api, kind):
    with writing(app):
        formulation = make_formulation()
        if kind == "expired":
            make_batch(
                formulation,
                bud_dt=now_utc() - timedelta(hours=1),
                compounded_dt=now_utc() - timedelta(days=30),
            )
        else:
            make_batch(formulation, status=kind)
        rx = make_verified_order().rx_number
    response = post_fill(client, api, rx)
    assert response.status_code == 409
    with app.app_context():
        assert db.session.execute(select(func.count(FillAllocation.id))).scalar() == 0


def test_get_fill_shows_order_details(app, client, api):
    with writing(app):
        make_batch()
        order = make_verified_order()
        rx, name = order.rx_number, order.patient.first_name
    fill_id = post_fill(client, api, rx).get_json()["id"]
    body = client.get(f"/api/v1/fills/{fill_id}", headers=api("pharmacist")).get_json()
    assert body["rx_number"] == rx
    assert body["patient"]["first_name"] == name
    assert body["status"] == "allocated"
    assert body["fill_number"] == 0 and body["vials"] == 1 and body["dispense_date"]
    assert client.get("/api/v1/fills/9999", headers=api("pharmacist")).status_code == 404
    assert client.get(f"/api/v1/fills/{fill_id}", headers=api("prescriber")).status_code == 403


def test_refill_adds_a_vial_when_the_carried_vial_expired(app):
    # Weekly 1 mL from 10 mL multiple-dose vials, 14-day supply. Fill 0 came from a batch
    # whose BUD ends on day 10, so its vial cannot serve the day-14 and day-21 doses even
    # though a long-BUD plan would carry it over: refill 1 must bring a vial.
    from datetime import datetime, time

    with writing(app):
        today = fills_service.local_today()
        zone = fills_service.pharmacy_zone()
        formulation = make_formulation(vial_volume_ml=10, container="multiple-dose")
        start = today
        make_batch(
            formulation, bud_dt=datetime.combine(start + timedelta(days=10), time(12), tzinfo=zone)
        )
        order = make_verified_order(
            start_date=start,
            vial_volume_ml=10,
            container="multiple-dose",
            days_supply=14,
            refills=1,
            phases=[{"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4}],
        )
        tech = user("technician")
        fill0 = fills_service.allocate_fill(order, tech, start)
        assert fill0.vials == 1
        make_batch(formulation, bud_dt=now_utc() + timedelta(days=90))
        fill1 = fills_service.allocate_fill(
            db.session.get(Order, order.id), tech, start + timedelta(days=11)
        )
        assert fill1.fill_number == 1
        assert fill1.vials == 1


def test_worklist_page_lists_to_fill_and_to_compound(app, as_user):
    with writing(app):
        make_batch(make_formulation(), vials=10)
        in_stock = make_verified_order(phases=DAILY_5)
        short = make_verified_order(vial_volume_ml=10, container="multiple-dose")
        rx_in, rx_short = in_stock.rx_number, short.rx_number
    client = as_user("technician")
    page = client.get("/compounding/worklist")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    to_fill, to_compound = html.split("To compound", 1)
    assert rx_in in to_fill and rx_short not in to_fill
    assert rx_short in to_compound
    response = client.post(
        f"/compounding/orders/{rx_in}/fill", data={"next": "/compounding/worklist"}
    )
    assert response.status_code == 302
    with app.app_context():
        fill = db.session.execute(select(Fill)).scalar_one()
        assert fill.vials == 5
    # The short order's fill fails with the reason flashed, and goes back to the list.
    failed = client.post(
        f"/compounding/orders/{rx_short}/fill",
        data={"next": "/compounding/worklist"},
        follow_redirects=True,
    )
    assert "is missing" in failed.get_data(as_text=True)
    assert client.post("/compounding/orders/nope/fill").status_code == 404
    assert as_user("prescriber").get("/compounding/worklist").status_code == 403


def test_void_page_action(app, as_user):
    with writing(app):
        make_batch(vials=10)
        rx = make_verified_order().rx_number
    client = as_user("technician")
    client.post(f"/compounding/orders/{rx}/fill")
    with app.app_context():
        fill_id = db.session.execute(select(Fill.id)).scalar_one()
    no_reason = client.post(f"/compounding/fills/{fill_id}/void", data={"reason": ""})
    assert no_reason.status_code == 302
    client.post(f"/compounding/fills/{fill_id}/void", data={"reason": "label misprint"})
    with app.app_context():
        assert db.session.get(Fill, fill_id).status == "voided"
        assert db.session.execute(select(Batch.vials_available)).scalar() == 10
