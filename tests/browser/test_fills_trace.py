"""A technician fills from the work list; a pharmacist traces the batch and recalls it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import Batch, Fill, FillAllocation, Order, now_utc
from tests.browser.conftest import login
from tests.factories_fills import make_batch, make_formulation, make_patient, make_verified_order


def test_fill_from_worklist_then_trace_and_recall(page, live_app):
    with live_app.app_context(), write_intent():
        make_batch(make_formulation(), vials=6, bud_dt=now_utc() + timedelta(days=45))
        patient = make_patient(first_name="Wendy", last_name="Browser")
        order = make_verified_order(
            patient, phases=[{"dose_mcg": 1000, "every": 1, "unit": "day", "count": 3}]
        )
        make_verified_order(vial_volume_ml=30, container="multiple-dose")
        rx = order.rx_number
        db.session.remove()

    login(page, "technician")
    page.wait_for_url("**/home")
    page.goto("/compounding/worklist")
    row = page.locator("tr", has_text=rx)
    assert row.is_visible()
    page.screenshot(path="/tmp/fills-worklist.png", full_page=True)
    row.locator("button", has_text="Fill").click()
    page.wait_for_load_state()
    assert f"Filled Rx {rx}" in page.locator(".flashes").inner_text()
    page.click("text=Sign out")
    with live_app.app_context():
        # FEFO may have picked a demo batch with an earlier BUD: trace what was really used.
        lot = (
            db.session.execute(
                select(Batch.lot_number)
                .join(FillAllocation, FillAllocation.batch_id == Batch.id)
                .join(Fill, Fill.id == FillAllocation.fill_id)
                .join(Order, Order.id == Fill.order_id)
                .where(Order.rx_number == rx)
            )
            .scalars()
            .first()
        )
        db.session.remove()

    login(page, "pharmacist")
    page.wait_for_url("**/home")
    page.goto("/compounding/trace")
    page.fill("#batch_lot", lot)
    page.click("text=Trace batch lot")
    page.wait_for_url("**batch_lot=*")
    assert "Wendy Browser" in page.locator("main").inner_text()
    page.fill("#reason", "Visible particulates in retained sample")
    page.screenshot(path="/tmp/fills-trace.png", full_page=True)
    page.click("button:has-text('Recall')")
    page.wait_for_load_state()
    assert "Recalled 1 batch" in page.locator(".flashes").inner_text()
    assert page.locator(".badge.status-recalled").first.is_visible()
    assert page.js_errors == []
