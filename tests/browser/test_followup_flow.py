"""The pharmacist records a B12 result and a symptom report on the patient page, sees the
trend picture and the checkpoint turn ``done`` (SPEC 7.2, 7.3, 7.8)."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest

from tests.browser.conftest import login

SHOTS = os.environ.get("FOLLOWUP_SCREENSHOTS")  # a folder: save the pages for a look


def _patient_id(live_app, mrn: str) -> int:
    from pharmacy.extensions import db
    from pharmacy.models import Patient

    with live_app.app_context():
        return db.session.execute(db.select(Patient.id).where(Patient.mrn == mrn)).scalar_one()


@pytest.mark.browser
def test_pharmacist_records_labs_and_symptoms(page, live_app):
    patient = _patient_id(live_app, "MRN-30877")  # the demo's Daniel Brooks
    login(page, "pharmacist")
    page.wait_for_url("**/home")
    page.goto(f"/patients/{patient}")
    first = page.locator("table.checkpoints tbody tr").first
    checkpoint = date.fromisoformat(first.get_attribute("data-checkpoint"))
    assert first.locator("[data-status]").get_attribute("data-status") == "overdue"
    assert page.locator("svg.trend-chart").is_visible()
    assert page.locator("svg.trend-chart circle.trend-point").count() == 1  # one B12 so far

    taken = (checkpoint + timedelta(days=3)).isoformat()
    form = page.locator("#observation-form")
    form.locator("#test").select_option("b12")
    form.locator("#value").fill("295")
    form.locator("#unit").select_option("pmol/L")
    form.locator("#effective_date").fill(taken)
    form.locator("#record-observation").click()
    page.wait_for_url(f"**/patients/{patient}*")
    assert "B12 result recorded (normal)" in page.locator(".flash").first.inner_text()
    first = page.locator("table.checkpoints tbody tr").first
    assert first.locator("[data-status]").get_attribute("data-status") == "overdue"  # CBC due

    form = page.locator("#observation-form")
    form.locator("#test").select_option("hemoglobin")
    form.locator("#value").fill("12.9")
    form.locator("#unit").select_option("g/dL")
    form.locator("#effective_date").fill(taken)
    form.locator("#record-observation").click()
    page.wait_for_url(f"**/patients/{patient}*")
    first = page.locator("table.checkpoints tbody tr").first
    assert first.locator("[data-status]").get_attribute("data-status") == "done"
    assert page.locator("svg.trend-chart circle.trend-point").count() == 3  # 2 B12, 1 Hb
    assert "B12 rose from 164 to 400" in page.locator("svg.trend-chart desc").text_content()

    symptoms = page.locator("#symptom-form")
    symptoms.locator("#symptom_numbness_tingling").select_option("better")
    symptoms.locator("#symptom_balance").select_option("same")
    symptoms.locator("#note").fill("Walks without the cane now.")
    symptoms.locator("#record-symptoms").click()
    page.wait_for_url(f"**/patients/{patient}*")
    assert "Symptom report recorded" in page.locator(".flash").first.inner_text()
    assert page.locator("svg.trend-chart rect.symptom").count() == 2
    assert page.locator("svg.trend-chart rect.symptom-better").count() == 1
    assert "Walks without the cane now." in page.locator(".symptom-reports").inner_text()
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "patient-followup.png"), full_page=True)
    assert page.js_errors == []
