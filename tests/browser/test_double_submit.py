"""A double click on a form's submit button posts once (static/js/app.js)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import clock
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def test_double_click_receives_one_lot(page):
    login(page, "technician")
    page.wait_for_url("**/home")
    page.goto("/compounding/lots/receive")
    page.fill("#component", "Sodium chloride")
    page.fill("#manufacturer", "Spectrum")
    page.fill("#lot", "SP-DOUBLE-1")
    page.fill("#expiry", (clock.today() + timedelta(days=400)).isoformat())
    page.fill("#quantity", "100")
    page.select_option("#unit", "g")
    page.fill("#coa_reference", "COA-SP-1")
    # Slow the server's answer so both clicks land before the page changes.
    page.route(
        "**/compounding/lots/receive", lambda route: (page.wait_for_timeout(300), route.continue_())
    )
    page.dblclick("text=Receive into quarantine")
    page.wait_for_selector("#lot-status")
    lots = page.request.get("/api/v1/ingredient-lots?component=Sodium chloride").json()
    matching = [lot for lot in lots["ingredient_lots"] if lot["lot"] == "SP-DOUBLE-1"]
    assert len(matching) == 1
    assert page.js_errors == []


GUARD_PROBE = """() => {
  const form = document.querySelector("form[method=post]");
  const fire = () => form.dispatchEvent(new Event("submit", {bubbles: true, cancelable: true}));
  return [fire(), fire(), form.getAttribute("aria-busy")];
}"""


def test_second_submit_of_a_form_is_cancelled(page):
    login(page, "technician")
    page.wait_for_url("**/home")
    page.goto("/compounding/lots/receive")
    first, second, busy = page.evaluate(GUARD_PROBE)
    assert first is True  # the first submit goes through
    assert second is False  # the second is cancelled while the first is under way
    assert busy == "true"
