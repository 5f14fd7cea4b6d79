"""SPEC 5.8 in the browser: the order page's live preview warns that the labels cannot print a
name before the prescriber submits; the submission is then refused on that field."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login


@pytest.mark.browser
def test_preview_warns_then_submission_names_the_field(page, live_server):
    login(page, "prescriber")
    page.wait_for_url("**/home")
    page.goto("/orders/new")
    page.fill("#patient_first_name", "Wang")
    page.fill("#patient_last_name", "王")
    page.fill("#patient_dob", "1956-12-09")
    page.click("button[data-preset='high-dose']")
    page.fill("#indication", "Pernicious anaemia (D51.0)")
    page.fill("#compounding_reason", "Commercial 10 mL vials on national shortage")
    warning = page.locator("[data-label-warnings]")
    warning.wait_for()
    assert "U+738B" in warning.inner_text()
    # A name the labels can print clears the warning at the next preview.
    page.fill("#patient_last_name", "Yılmaz")
    warning.wait_for(state="detached")
    page.locator("[data-plan-result]").wait_for()
    page.fill("#patient_last_name", "王")
    warning.wait_for()
    page.click("#submit-order")
    page.wait_for_load_state()
    assert "labels cannot print this patient name" in page.content()
    assert page.locator(".has-error #patient_last_name").count() == 1
    assert page.js_errors == []
