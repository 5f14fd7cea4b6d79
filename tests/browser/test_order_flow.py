"""A prescriber submits an order from the page; a pharmacist sees its alerts and approves it."""

from __future__ import annotations

import os

import pytest

from tests.browser.conftest import login

SHOTS = os.environ.get("ORDER_SCREENSHOTS")  # a folder: save the pages for a look


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_prescriber_orders_and_pharmacist_approves(page, browser, live_server):
    login(page, "prescriber")
    page.wait_for_url("**/home")
    page.goto("/orders/new")
    page.fill("#patient_first_name", "Grace")
    page.fill("#patient_last_name", "Hopper")
    page.fill("#patient_dob", "1956-12-09")
    page.fill("#patient_mrn", "BR-0001")
    page.click("button[data-preset='high-dose']")
    page.fill("[name='phases-0-dose_mcg']", "1500")  # above the usual maximum: a warning
    page.fill("#indication", "Pernicious anaemia (D51.0)")
    page.fill("#compounding_reason", "Commercial 10 mL vials on national shortage")
    page.fill("#refills", "1")
    page.locator("[data-plan-result]").wait_for()
    assert page.locator("[data-plan-output] svg").count() >= 1
    _shot(page, "order-new")
    page.click("#submit-order")
    page.wait_for_url("**/orders/1*")
    rx = page.url.rstrip("/").rsplit("/", 1)[1]
    assert page.locator("[data-status]").inner_text().strip() == "submitted"
    assert page.locator("[data-alert='dose_above_max']").is_visible()
    _shot(page, "order-detail")
    assert page.js_errors == []

    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    pharmacist = context.new_page()
    try:
        login(pharmacist, "pharmacist")
        pharmacist.wait_for_url("**/home")
        pharmacist.goto("/orders/queue")
        item = pharmacist.locator(f"[data-queue-item='{rx}']")
        assert item.locator("[data-alert='dose_above_max']").is_visible()
        assert "warning" in item.locator("[data-alert='dose_above_max']").inner_text().lower()
        _shot(pharmacist, "verification-queue")
        # SPEC 5.2: a reason for each warning (the dose, and no allergies recorded).
        for field in item.locator("[data-ack]").all():
            field.fill("Checked with the prescriber")
        item.locator(f"[data-approve='{rx}']").click()
        pharmacist.wait_for_url("**/orders/queue")
        assert f"Rx {rx} verified" in pharmacist.locator(".flash").inner_text()
        pharmacist.goto(f"/orders/{rx}")
        assert pharmacist.locator("[data-status]").inner_text().strip() == "verified"
    finally:
        context.close()
