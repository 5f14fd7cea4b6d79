"""A prescriber plans a regimen from a preset and watches the live preview follow edits."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def dose_counts(page) -> tuple[int, int]:
    rows = page.locator("[data-plan-output] [data-dose-table] tr[data-dose]").count()
    marks = page.locator("[data-plan-output] svg.timeline rect.dose-mark").count()
    return rows, marks


def test_preset_then_edit_updates_preview_and_timeline(page):
    login(page, "prescriber")
    page.wait_for_url("**/home")
    page.goto("/plan/")
    page.fill("input[name=start_date]", "2026-12-01")
    page.click("button[data-preset='high-dose']")
    page.wait_for_selector("[data-plan-output] [data-plan-result]")
    assert page.locator("[data-phase-row]").count() == 3
    rows, marks = dose_counts(page)
    assert rows == marks == 12  # SPEC 2.3 worked example

    # Ten daily loading doses instead of seven: three more doses in the same 90 days.
    page.fill("input[name='phases-0-count']", "10")
    page.wait_for_selector("[data-plan-output] [data-plan-result][data-dose-count='15']")
    rows, marks = dose_counts(page)
    assert rows == marks == 15

    # An open-ended phase that is not last is flagged next to its field, live.
    page.fill("input[name='phases-1-count']", "")
    error = page.locator("[data-phase-row]").nth(1).locator(".error")
    error.wait_for()
    assert "Only the last phase may be open-ended" in error.inner_text()
    page.fill("input[name='phases-1-count']", "4")
    page.wait_for_selector("[data-plan-output] [data-plan-result][data-dose-count='15']")

    # Compare vial options: the recommendation appears with its reason.
    page.check("input[name=vial_options][value='1|single-dose']")
    page.wait_for_selector("[data-recommendation]")
    assert "Recommended: 1 mL single-dose" in page.inner_text("[data-recommendation]")
    page.uncheck("input[name=vial_options][value='1|single-dose']")
    page.locator("[data-recommendation]").wait_for(state="detached")
    page.screenshot(path="/tmp/plan.png", full_page=True)
    assert page.js_errors == []


def test_add_move_remove_phase_renumbers_fields(page):
    login(page, "prescriber")
    page.wait_for_url("**/home")
    page.goto("/plan/")
    page.click("button[data-preset='three-times-weekly']")
    rows = page.locator("[data-phase-row]")
    assert rows.count() == 2
    assert rows.nth(0).locator("[data-phase-weekdays]").is_visible()
    assert rows.nth(1).locator("[data-phase-weekdays]").is_hidden()
    page.click("[data-phase-add]")
    assert rows.count() == 3
    assert page.locator("input[name='phases-2-dose_mcg']").count() == 1
    rows.nth(2).locator("[data-phase-up]").click()
    # The copied last phase (every 3 months) moved up: names follow the new order.
    assert page.input_value("select[name='phases-1-unit']") == "month"
    rows.nth(0).locator("[data-phase-remove]").click()
    assert rows.count() == 2
    assert page.locator("input[name='phases-0-dose_mcg']").count() == 1
    assert page.locator("[name^='phases-2-']").count() == 0
    assert page.js_errors == []
