"""A pharmacist scans a fill's labels on the final-check page, sees PASS and dispenses."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fills(live_app):
    """Create two allocated fills in the live database; return (fill id, passing scans) pairs."""
    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from tests.factories_dispensing import make_labelled_fill, mark_printed, scans_for

    made = []
    with live_app.app_context(), write_intent():
        for name in (("Ada", "Lovelace"), ("Grace", "Hopper")):
            fill = make_labelled_fill(patient_name=name)
            mark_printed(fill)
            # A keyboard wedge may not type the GS: the parser splits lot and serial anyway.
            made.append((fill.id, [s.replace("\x1d", "") for s in scans_for(fill)]))
        db.session.remove()
    return made


def _scan(page, payload: str) -> None:
    """Type a scan as a keyboard-wedge scanner does: the characters, then Enter."""
    page.keyboard.type(payload)
    page.keyboard.press("Enter")


def test_scan_pass_and_dispense(page, fills):
    fill_id, scans = fills[0]
    login(page, "pharmacist")
    page.goto(f"/fills/{fill_id}/check")
    scan_input = page.locator("#scan-input")
    assert scan_input.is_visible()
    assert page.evaluate("document.activeElement.id") == "scan-input"
    for payload in scans:
        _scan(page, payload)
    items = page.locator("#scan-list li")
    assert items.count() == len(scans)
    assert "Rx " in items.nth(0).inner_text() and "ok" in items.nth(0).inner_text()
    assert "ok" in items.nth(1).inner_text() and "/1" in items.nth(1).inner_text()
    page.click("#check-submit")
    page.locator(".verdict-pass").wait_for()
    assert "PASS" in page.locator("#verdict").inner_text()
    page.screenshot(path="/tmp/final-check-pass.png", full_page=True)
    assert page.locator("#dispense-panel").is_visible()
    page.fill("#pharmacist_initials", "PS")
    page.click("#dispense-button")
    page.wait_for_url(f"**/fills/{fill_id}")
    assert "dispensed" in page.locator(".flash-success").inner_text()
    page.screenshot(path="/tmp/fill-detail-dispensed.png", full_page=True)
    assert page.js_errors == []


def test_wrong_vial_shows_its_reason(page, fills):
    fill_id, scans = fills[1]
    login(page, "pharmacist")
    page.goto(f"/fills/{fill_id}/check")
    page.locator("#scan-input").click()
    for payload in [*scans[:-1], "CYZ999999/1"]:
        _scan(page, payload)
    assert "not allocated to this fill" in page.locator("#scan-list li").last.inner_text()
    page.click("#check-submit")
    page.locator(".verdict-fail").wait_for()
    verdict = page.locator("#verdict").inner_text()
    assert "FAIL" in verdict
    assert "CYZ999999/1: not allocated to this fill" in verdict
    assert page.locator("#dispense-panel").is_hidden()
    page.screenshot(path="/tmp/final-check-fail.png", full_page=True)
    assert page.js_errors == []
