"""Continuity pages: the follow-up list with counts and CSV, the order's next fill, the
pharmacist's renewal request and the prescriber's inbox and renewal form (SPEC 7.5, 7.6)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.models import Order
from tests.factories import writing
from tests.factories_fills import make_batch, make_formulation, make_verified_order

TODAY = date(2027, 1, 10)
MONTHLY = [{"dose_mcg": 1000, "every": 1, "unit": "month", "count": None}]


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(datetime(2027, 1, 10, 17, 0, tzinfo=UTC), tick=False):
        yield


def test_follow_up_page_counts_filters_and_csv(app, as_user):
    with writing(app):
        make_batch(make_formulation(), vials=20)
        overdue = make_verified_order(phases=MONTHLY, start_date=TODAY - timedelta(days=3))
        rx = overdue.rx_number
        name = overdue.patient.last_name
    client = as_user("pharmacist")
    page = client.get("/follow-up/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'data-kind="fill_overdue" data-rx="{rx}"' in html
    assert "Fill overdue" in html
    only = client.get("/follow-up/?kind=fill_due").get_data(as_text=True)
    assert f'data-rx="{rx}"' not in only.split("<tbody>", 1)[-1] or "fill_overdue" not in only
    csv = client.get("/follow-up/export.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0] == "kind,rx_number,patient,dob,phone,since,detail"
    assert any(line.startswith(f'fill_overdue,{rx},"{name}, ') for line in lines)
    assert as_user("technician").get("/follow-up/").status_code == 403


def test_order_page_shows_next_fill_and_renewal_flow(app, as_user):
    with writing(app):
        make_batch(make_formulation(), vials=20, bud_dt=datetime(2027, 6, 1, 17, tzinfo=UTC))
        order = make_verified_order(
            phases=MONTHLY, start_date=TODAY, days_supply=30, indication="Pernicious anaemia"
        )
        rx = order.rx_number
    pharmacist = as_user("pharmacist")
    detail = pharmacist.get(f"/orders/{rx}").get_data(as_text=True)
    assert 'id="next-fill" data-next-fill-status="due"' in detail
    assert 'id="request-renewal"' in detail
    asked = pharmacist.post(f"/follow-up/orders/{rx}/renewal-request", data={"next": "list"})
    assert asked.status_code == 302
    prescriber = as_user("prescriber")
    home = prescriber.get("/home").get_data(as_text=True)
    assert f'data-kind="renewal_requested" data-rx="{rx}"' in home
    form = prescriber.get(f"/follow-up/orders/{rx}/renew")
    assert form.status_code == 200
    assert "2027-01-10" in form.get_data(as_text=True) or "Jan" in form.get_data(as_text=True)
    bad = prescriber.post(f"/follow-up/orders/{rx}/renew", data={"refills": "99"})
    assert bad.status_code == 422
    done = prescriber.post(
        f"/follow-up/orders/{rx}/renew", data={"refills": "3", "days_supply": "60"}
    )
    assert done.status_code == 302
    with app.app_context():
        new = db.session.execute(select(Order).where(Order.renews_id.is_not(None))).scalar_one()
        assert new.status == "submitted" and new.refills == 3 and new.days_supply == 60
        assert new.start_date == TODAY
    assert as_user("prescriber2").get(f"/follow-up/orders/{rx}/renew").status_code == 404


def test_demo_tells_the_continuity_story(app):
    from pharmacy.services import continuity_list
    from pharmacy.services.demo import load_demo
    from tests.factories import user

    with writing(app):
        load_demo()
    with app.app_context():
        items = continuity_list.follow_up_list(user("pharmacist"), today=TODAY)
        kinds = {(i.patient["last_name"], i.kind) for i in items}
    assert ("Brennan", "fill_overdue") in kinds
    assert ("Castillo", "lapsed") in kinds
    assert ("Achterberg", "renewal_needed") in kinds
