"""A recalled batch's checked fill shows why it cannot be dispensed, and is voided (SPEC 5.5).

Issue 10: the fill page still showed Dispense after the recall, and dispensing succeeded.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.date_sensitive]


@pytest.fixture(scope="module")
def checked_fill(live_app):
    """Create an allocated, printed fill in the live database; return (id, scans, batch lot)."""
    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from tests.factories_dispensing import make_labelled_fill, mark_printed, scans_for

    with live_app.app_context(), write_intent():
        fill = make_labelled_fill(patient_name=("Rosalind", "Franklin"))
        mark_printed(fill)
        made = (
            fill.id,
            [s.replace("\x1d", "") for s in scans_for(fill)],
            fill.allocations[0].batch.lot_number,
        )
        db.session.remove()
    return made


def test_recalled_checked_fill_cannot_be_dispensed(page, checked_fill):
    fill_id, scans, lot = checked_fill
    login(page, "pharmacist")
    page.wait_for_url("**/home")

    # The final check passes: the fill could be dispensed.
    page.goto(f"/fills/{fill_id}/check")
    for payload in scans:
        page.keyboard.type(payload)
        page.keyboard.press("Enter")
    page.click("#check-submit")
    page.locator(".verdict-pass").wait_for()
    assert page.locator("#dispense-panel").is_visible()

    # Before it is dispensed, its batch is recalled; the recall lists the fill to pull.
    page.goto(f"/compounding/trace?batch_lot={lot}")
    page.fill("#reason", "Visible particulates in retained sample")
    page.click("button:has-text('Recall')")
    page.wait_for_load_state()
    assert "Pull 1 fill not yet dispensed" in page.locator(".flashes").inner_text()
    pull = page.locator("#fills-to-pull")
    assert "Rosalind Franklin" in pull.inner_text() and "checked" in pull.inner_text()
    page.screenshot(path="/tmp/recall-fills-to-pull.png", full_page=True)

    # The fill page says why it cannot be dispensed, offers void, and has no Dispense button.
    pull.locator("a").first.click()
    page.wait_for_url(f"**/fills/{fill_id}")
    why = page.locator("#cannot-dispense")
    assert why.is_visible()
    assert f"batch {lot} was recalled after the final check" in why.inner_text()
    assert page.locator("a.button:has-text('Dispense')").count() == 0
    assert page.locator("#void-link").is_visible()
    page.screenshot(path="/tmp/recalled-fill.png", full_page=True)

    # The check page offers no Dispense button either.
    page.goto(f"/fills/{fill_id}/check")
    assert page.locator("#dispense-button").count() == 0
    assert page.locator("#cannot-dispense").is_visible()

    # The pharmacist voids it; the vials go back to the (recalled) batch.
    page.goto(f"/fills/{fill_id}")
    page.click("#void-link")
    page.fill("#void-reason", "Batch recalled")
    page.click("button:has-text('Void fill')")
    page.wait_for_load_state()
    page.goto(f"/fills/{fill_id}")
    assert "voided" in page.locator(".page-head .badge").inner_text()
    assert page.js_errors == []
