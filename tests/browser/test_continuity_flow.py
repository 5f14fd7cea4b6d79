"""The continuity list shows an overdue fill; the pharmacist asks for a renewal, the
prescriber finds it in the inbox and renews, and the pharmacist verifies the new order."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login


@pytest.mark.browser
def test_overdue_fill_and_renewal_round_trip(page, browser, live_server):
    login(page, "pharmacist")
    page.wait_for_url("**/home")
    page.goto("/follow-up/")
    overdue = page.locator("tr[data-kind='fill_overdue']", has_text="Brennan")
    assert overdue.count() == 1 and overdue.is_visible()
    assert page.locator("a[data-kind='fill_overdue'] .count-badge").inner_text().strip() != "0"
    renewal = page.locator("tr[data-kind='renewal_needed']", has_text="Achterberg")
    rx = renewal.get_attribute("data-rx")
    renewal.locator("button", has_text="Request renewal").click()
    page.wait_for_url("**/follow-up/")
    assert f"Renewal of Rx {rx} requested" in page.locator(".flash").inner_text()
    assert page.js_errors == []

    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    prescriber = context.new_page()
    try:
        login(prescriber, "prescriber")
        prescriber.wait_for_url("**/home")
        row = prescriber.locator(f"#inbox tr[data-kind='renewal_requested'][data-rx='{rx}']")
        assert row.is_visible()
        row.locator("a", has_text="Renew").click()
        prescriber.wait_for_url(f"**/follow-up/orders/{rx}/renew")
        assert prescriber.locator("#renewal-phases li").count() >= 1
        prescriber.fill("#refills", "3")
        prescriber.click("#submit-renewal")
        prescriber.wait_for_url("**/orders/*")
        new_rx = prescriber.url.rstrip("/").rsplit("/", 1)[1]
        assert new_rx != rx
        assert prescriber.locator("[data-status]").inner_text().strip() == "submitted"
        assert f"Rx {rx}" in prescriber.locator("#continuity").inner_text()
    finally:
        context.close()

    page.goto("/orders/queue")
    page.locator(f"[data-approve='{new_rx}']").click()
    page.wait_for_url("**/orders/queue")
    assert f"Rx {new_rx} verified" in page.locator(".flash").inner_text()
    page.goto(f"/orders/{new_rx}")
    assert page.locator("[data-status]").inner_text().strip() == "verified"
    assert page.locator("#next-fill").is_visible()
