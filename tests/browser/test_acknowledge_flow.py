"""SPEC 5.2 in the browser: a pharmacist cannot approve the demo's two-warning order until a
reason is typed for each warning; the reasons then show on the order page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser.conftest import login


def _rx(live_app, mrn: str) -> str:
    from pharmacy.extensions import db
    from pharmacy.models import Order, Patient

    with live_app.app_context():
        rx = db.session.execute(
            select(Order.rx_number).join(Patient).where(Patient.mrn == mrn)
        ).scalar_one()
        db.session.remove()
        return rx


@pytest.mark.browser
def test_two_warnings_need_two_reasons(page, live_app):
    rx = _rx(live_app, "MRN-80830")  # the demo order with two warnings
    login(page, "pharmacist")
    page.wait_for_url("**/home")
    page.goto(f"/orders/{rx}")
    decide = page.locator("#decide")
    reasons = decide.locator("[data-ack]")
    assert reasons.count() == 2
    approve = decide.locator(f"[data-approve='{rx}']")
    # Messages, not codes: the labels quote each warning.
    labels = decide.locator(".ack-message").all_inner_texts()
    assert any("above the usual maximum" in t for t in labels)
    assert any("No allergies are recorded" in t for t in labels)
    assert approve.is_disabled()
    reasons.nth(0).fill("Oncology protocol: 1,500 mcg weekly agreed with Dr Patel")
    assert approve.is_disabled()  # one reason is not enough
    reasons.nth(1).fill("   ")
    assert approve.is_disabled()  # blanks are not a reason
    reasons.nth(1).fill("Patient reports no known allergies (NKDA)")
    assert approve.is_enabled()
    approve.click()
    page.wait_for_url(f"**/orders/{rx}")
    assert f"Rx {rx} verified" in page.locator(".flash").inner_text()
    assert page.locator("[data-status]").inner_text().strip() == "verified"
    acknowledged = page.locator("[data-acknowledgement]").all_inner_texts()
    assert any("Oncology protocol" in t for t in acknowledged)
    assert any("NKDA" in t for t in acknowledged)
    assert page.js_errors == []


@pytest.mark.browser
def test_allergy_stop_cannot_be_approved(page, live_app):
    rx = _rx(live_app, "MRN-70211")  # the demo order stopped by an allergy
    login(page, "pharmacist")
    page.wait_for_url("**/home")
    page.goto(f"/orders/{rx}")
    alert = page.locator("[data-alert='allergy']")
    assert "anaphylaxis" in alert.inner_text() and "stop" in alert.inner_text().lower()
    assert page.locator("#decide button.primary").is_disabled()
    assert page.locator("[data-blocked]").is_visible()
