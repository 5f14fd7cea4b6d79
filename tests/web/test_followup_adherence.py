"""PDC on an order's follow-up from its dispensed fill (SPEC 7.4), and a prescriber's ``stop``
review refusing further fills."""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine

from pharmacy.extensions import db
from pharmacy.models import Fill
from tests.factories_dispensing import make_labelled_fill

START = datetime(2027, 1, 4, 15, tzinfo=UTC)


def _dispensed_fill(app) -> str:
    """Return the Rx of an order (high-dose from 2027-01-04, 90 days) whose first fill is out."""
    with time_machine.travel(START, tick=False), app.app_context():
        fill = make_labelled_fill(start=date(2027, 1, 4), bud_days=120)
        fill.status = "dispensed"
        fill.dispensed_dt = START
        db.session.commit()
        return fill.order.rx_number


def test_pdc_from_the_dispensed_fill(app, client, api):
    rx = _dispensed_fill(app)
    with time_machine.travel(datetime(2027, 3, 1, 15, tzinfo=UTC), tick=False):
        early = client.get(f"/api/v1/orders/{rx}/follow-up", headers=api("pharmacist")).get_json()
    # Jan 4 .. Mar 1: every day has a dose in hand (the Feb 7 dose lasts until Mar 7).
    assert early["pdc"] == {
        "value": "1.00",
        "flagged": False,
        "start": "2027-01-04",
        "end": "2027-03-01",
        "days": 57,
        "days_covered": 57,
    }
    with time_machine.travel(datetime(2027, 6, 1, 15, tzinfo=UTC), tick=False):
        late = client.get(f"/api/v1/orders/{rx}/follow-up", headers=api("technician")).get_json()
    # The fill's last dose (Mar 7) covers until Apr 6: 93 of 149 days = 0.62, below 0.80.
    assert late["pdc"]["value"] == "0.62" and late["pdc"]["flagged"] is True
    assert late["pdc"]["days"] == 149 and late["pdc"]["days_covered"] == 93


def test_stop_review_refuses_the_next_fill(app, client, api):
    rx = _dispensed_fill(app)
    with time_machine.travel(datetime(2027, 3, 20, 15, tzinfo=UTC), tick=False):
        stop = client.post(
            f"/api/v1/orders/{rx}/reviews",
            json={"decision": "stop", "note": "Oral B12 from now on"},
            headers=api("prescriber"),
        )
        assert stop.status_code == 201, stop.get_json()
        refill = client.post(f"/api/v1/orders/{rx}/fills", headers=api("technician"))
    assert refill.status_code == 409
    assert "stopped therapy" in refill.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Fill.id))).scalar_one() == 1
