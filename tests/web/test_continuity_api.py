"""``next_fill`` after each fill event, renewals and the continuity list over the API
(SPEC 5.4, 7.5-7.7). The clock is fixed: 2027-01-10, in the pharmacy's zone."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from pharmacy.extensions import db
from pharmacy.models import Fill, FinalCheck
from tests.factories import writing
from tests.factories_fills import make_batch, make_formulation, make_verified_order

TODAY = date(2027, 1, 10)
MONTHLY = [{"dose_mcg": 1000, "every": 1, "unit": "month", "count": None}]
WEEKLY_3 = [{"dose_mcg": 1000, "every": 1, "unit": "week", "count": 3}]


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(datetime(2027, 1, 10, 17, 0, tzinfo=UTC), tick=False):
        yield


def later(app, when: datetime):
    """Travel to ``when`` and return fresh API headers there (tokens last 12 hours)."""
    from tests.conftest import issue_token

    @contextmanager
    def block():
        with time_machine.travel(when, tick=False):
            cache: dict[str, dict] = {}

            def headers(username: str) -> dict:
                if username not in cache:
                    cache[username] = {"Authorization": f"Bearer {issue_token(app, username)}"}
                return cache[username]

            yield headers

    return block()


def order_json(client, api, rx, who="pharmacist"):
    response = client.get(f"/api/v1/orders/{rx}", headers=api(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def dispense(app, client, api, fill_id):
    """Mark the fill as passed its final check, then dispense it through the API.

    The check stores the scans that passed: dispensing runs the check again on them (SPEC 5.5).
    """
    from tests.factories_dispensing import scans_for

    with writing(app):
        fill = db.session.get(Fill, fill_id)
        fill.status = "checked"
        db.session.add(FinalCheck(fill_id=fill.id, ok=True, scans=scans_for(fill), reasons=[]))
        db.session.commit()
    response = client.post(f"/api/v1/fills/{fill_id}/dispense", json={}, headers=api("pharmacist"))
    assert response.status_code == 200, response.get_json()


def test_next_fill_after_fill_void_and_dispense(app, client, api):
    # Monthly 1 mL doses from Jan 10, 90-day supply, two refills; the only batch's BUD
    # is Feb 20: the original fill covers Jan 10 and Feb 10, not Mar 10.
    with writing(app):
        make_batch(make_formulation(), vials=20, bud_dt=datetime(2027, 2, 20, 17, tzinfo=UTC))
        rx = make_verified_order(
            phases=MONTHLY, start_date=TODAY, days_supply=90, refills=2
        ).rx_number
    assert order_json(client, api, rx)["next_fill"] == {
        "fill_number": 0,
        "due_by": "2027-01-10",
        "allowed_from": "2027-01-10",
        "status": "due",
    }
    fill = client.post(f"/api/v1/orders/{rx}/fills", headers=api("technician"))
    assert fill.status_code == 201, fill.get_json()
    assert fill.get_json()["vials"] == 2
    # Jan 10 -> Mar 10 is 59 days; 75 % is 44.25 -> Feb 23.
    assert order_json(client, api, rx)["next_fill"] == {
        "fill_number": 1,
        "due_by": "2027-03-10",
        "allowed_from": "2027-02-23",
        "status": "not_yet",
    }
    voided = client.post(
        f"/api/v1/fills/{fill.get_json()['id']}/void",
        json={"reason": "wrong label"},
        headers=api("technician"),
    )
    assert voided.status_code == 200
    assert order_json(client, api, rx)["next_fill"]["fill_number"] == 0
    again = client.post(f"/api/v1/orders/{rx}/fills", headers=api("technician")).get_json()
    assert again["fill_number"] == 0
    with later(app, datetime(2027, 1, 16, 17, tzinfo=UTC)) as api16:
        dispense(app, client, api16, again["id"])
        # Counted from the real dispense date now: Jan 16 -> Mar 10, 53 days -> 39.
        assert order_json(client, api16, rx)["next_fill"]["allowed_from"] == "2027-02-24"


def test_refill_too_early_then_made_and_none_left(app, client, api):
    with writing(app):
        make_batch(make_formulation(), vials=20, bud_dt=datetime(2027, 6, 1, 17, tzinfo=UTC))
        rx = make_verified_order(
            phases=WEEKLY_3, start_date=TODAY, days_supply=7, refills=1
        ).rx_number
    client.post(f"/api/v1/orders/{rx}/fills", headers=api("technician"))
    early = client.post(f"/api/v1/orders/{rx}/fills", headers=api("technician"))
    assert early.status_code == 409
    assert "2027-01-15" in early.get_json()["error"]["message"]
    with later(app, datetime(2027, 1, 15, 17, tzinfo=UTC)) as api15:
        refill = client.post(f"/api/v1/orders/{rx}/fills", headers=api15("technician"))
        assert refill.status_code == 201
        assert refill.get_json()["dispense_date"] == "2027-01-17"
        left = order_json(client, api15, rx)["next_fill"]
        assert left == {
            "fill_number": None,
            "due_by": "2027-01-24",
            "allowed_from": None,
            "status": "none_left",
        }
        assert (
            client.post(f"/api/v1/orders/{rx}/fills", headers=api15("technician")).status_code
            == 409
        )


def test_completed_when_dispensed_fills_cover_the_regimen(app, client, api):
    with writing(app):
        make_batch(make_formulation(), vials=20, bud_dt=datetime(2027, 6, 1, 17, tzinfo=UTC))
        rx = make_verified_order(phases=WEEKLY_3, start_date=TODAY, days_supply=30).rx_number
    fill = client.post(f"/api/v1/orders/{rx}/fills", headers=api("technician")).get_json()
    assert fill["vials"] == 3
    dispense(app, client, api, fill["id"])
    body = order_json(client, api, rx)
    assert body["status"] == "completed"
    assert body["next_fill"] is None
    items = client.get("/api/v1/follow-up", headers=api("pharmacist")).get_json()["items"]
    assert rx not in {i["rx_number"] for i in items}


def test_expired_order_is_refused(app, client, api):
    with writing(app):
        make_batch(make_formulation(), vials=20)
        order = make_verified_order(phases=MONTHLY, start_date=TODAY, refills=3)
        order.expires_on = TODAY - timedelta(days=1)
        db.session.commit()
        rx = order.rx_number
    body = order_json(client, api, rx)
    assert body["status"] == "expired"
    assert body["next_fill"]["status"] == "expired"
    response = client.post(f"/api/v1/orders/{rx}/fills", headers=api("technician"))
    assert response.status_code == 409
    kinds = {
        i["kind"]
        for i in client.get("/api/v1/follow-up", headers=api("pharmacist")).get_json()["items"]
        if i["rx_number"] == rx
    }
    assert kinds == {"renewal_needed"}


def test_follow_up_kinds_overdue_lapsed_and_due(app, client, api):
    with writing(app):
        make_batch(make_formulation(), vials=20)
        overdue = make_verified_order(phases=MONTHLY, start_date=TODAY - timedelta(days=3))
        lapsed = make_verified_order(phases=MONTHLY, start_date=TODAY - timedelta(days=20))
        due = make_verified_order(phases=MONTHLY, start_date=TODAY + timedelta(days=2))
        rxs = {
            overdue.rx_number: "fill_overdue",
            lapsed.rx_number: "lapsed",
            due.rx_number: "fill_due",
        }
    body = client.get("/api/v1/follow-up", headers=api("pharmacist")).get_json()
    fills = [
        i
        for i in body["items"]
        if i["rx_number"] in rxs and i["kind"].startswith(("fill", "lapsed"))
    ]
    assert {i["rx_number"]: i["kind"] for i in fills} == rxs
    ordered = [i["kind"] for i in fills]
    assert ordered == ["lapsed", "fill_overdue", "fill_due"]
    assert body["counts"]["lapsed"] >= 1
    only = client.get("/api/v1/follow-up?kind=lapsed", headers=api("pharmacist")).get_json()
    assert {i["kind"] for i in only["items"]} == {"lapsed"}
    assert client.get("/api/v1/follow-up?kind=nope", headers=api("pharmacist")).status_code == 422
    # Another prescriber sees none of these patients.
    other = client.get("/api/v1/follow-up", headers=api("prescriber2"))
    assert other.status_code == 200
    assert not {i["rx_number"] for i in other.get_json()["items"]} & set(rxs)


def test_renewal_request_and_renew_continue_the_regimen(app, client, api):
    # Daily x5 then weekly x3 from Jan 10, a 3-day supply and no refill: the original
    # covers Jan 10-12, so the renewal starts on Jan 13 with 2 daily doses, then weekly.
    phases = [
        {"dose_mcg": 1000, "every": 1, "unit": "day", "count": 5},
        {"dose_mcg": 1000, "every": 1, "unit": "week", "count": 3},
    ]
    with writing(app):
        make_batch(make_formulation(), vials=20, bud_dt=datetime(2027, 6, 1, 17, tzinfo=UTC))
        rx = make_verified_order(
            phases=phases, start_date=TODAY, days_supply=3, indication="Pernicious anaemia"
        ).rx_number
    client.post(f"/api/v1/orders/{rx}/fills", headers=api("technician"))
    needed = client.get("/api/v1/follow-up", headers=api("pharmacist")).get_json()["items"]
    assert {"renewal_needed"} == {i["kind"] for i in needed if i["rx_number"] == rx}
    asked = client.post(
        f"/api/v1/orders/{rx}/renewal-request",
        json={"note": "Patient still on therapy"},
        headers=api("pharmacist"),
    )
    assert asked.status_code == 200, asked.get_json()
    assert asked.get_json()["renewal"] == "requested"
    inbox = client.get("/api/v1/follow-up", headers=api("prescriber")).get_json()["items"]
    assert {"renewal_requested"} == {i["kind"] for i in inbox if i["rx_number"] == rx}
    assert (
        client.post(
            f"/api/v1/orders/{rx}/renew", json={"refills": 1}, headers=api("prescriber2")
        ).status_code
        == 404
    )
    bad = client.post(f"/api/v1/orders/{rx}/renew", json={"refills": -1}, headers=api("prescriber"))
    assert bad.status_code == 422 and "refills" in bad.get_json()["error"]["fields"]
    renewed = client.post(
        f"/api/v1/orders/{rx}/renew",
        json={"refills": 2, "days_supply": 30, "note": "Continue"},
        headers=api("prescriber"),
    )
    assert renewed.status_code == 201, renewed.get_json()
    new = renewed.get_json()
    assert new["status"] == "submitted" and new["renews"] == rx
    assert new["start_date"] == "2027-01-13"
    assert [(p["unit"], p["count"]) for p in new["phases"]] == [("day", 2), ("week", 3)]
    assert [d["date"] for d in new["plan"]["doses"]] == [
        "2027-01-13",
        "2027-01-14",
        "2027-01-21",
        "2027-01-28",
        "2027-02-04",
    ]
    again = client.post(
        f"/api/v1/orders/{rx}/renew", json={"refills": 1}, headers=api("prescriber")
    )
    assert again.status_code == 422 and "rx_number" in again.get_json()["error"]["fields"]
    inbox = client.get("/api/v1/follow-up", headers=api("prescriber")).get_json()["items"]
    assert rx not in {i["rx_number"] for i in inbox if i["kind"].startswith("renewal")}
    verified = client.post(
        f"/api/v1/orders/{new['rx_number']}/verify",
        json={
            "decision": "approve",
            "acknowledgements": {"allergies_unknown": "Asked the patient"},
        },
        headers=api("pharmacist"),
    )
    assert verified.status_code == 200, verified.get_json()
    assert order_json(client, api, rx)["next_fill"] is None
    assert order_json(client, api, new["rx_number"])["next_fill"]["due_by"] == "2027-01-13"
