"""Compounding in a browser: receive and release a lot, compound a batch, print, release."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import clock
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def test_receive_release_compound_print_and_release(browser, live_server):
    tech_context = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 900}
    )
    tech = tech_context.new_page()
    errors: list[str] = []
    tech.on("pageerror", lambda exc: errors.append(str(exc)))
    login(tech, "technician")
    tech.wait_for_url("**/home")

    # The technician receives a cyanocobalamin lot into quarantine.
    tech.goto("/compounding/lots/receive")
    tech.fill("#component", "Cyanocobalamin")
    tech.fill("#manufacturer", "Medisca")
    tech.fill("#lot", "MD-BROWSER-1")
    tech.fill("#expiry", (clock.today() + timedelta(days=700)).strftime("%Y-%m"))
    tech.fill("#quantity", "2")
    tech.select_option("#unit", "g")
    tech.fill("#assay_percent", "99.1")
    tech.fill("#lod_percent", "5.0")
    tech.fill("#coa_reference", "COA-MD-1")
    tech.click("text=Receive into quarantine")
    assert tech.locator("#lot-status").inner_text() == "quarantine"
    lot_url = tech.url

    # The pharmacist releases it.
    rph_context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    rph = rph_context.new_page()
    login(rph, "pharmacist")
    rph.wait_for_url("**/home")
    rph.goto(lot_url)
    rph.click("#release-lot")
    assert rph.locator("#lot-status").inner_text() == "released"

    # The technician compounds a 10 mL batch from it, previewing the worksheet first.
    tech.goto("/compounding/batches/new")
    tech.select_option("#formulation-choice", "CYB-10ML-MDV")
    tech.wait_for_url("**formulation=CYB-10ML-MDV")
    active = tech.locator("#lot-0")
    value = active.locator("option", has_text="MD-BROWSER-1").get_attribute("value")
    active.select_option(value)
    tech.fill("#vials", "5")
    # Compounded 15 days ago: a sterility test passes only after 14 days (SPEC 5.6, USP <71>).
    compounded = clock.now() - timedelta(days=15)
    tech.fill(
        "#compounded_at", compounded.astimezone(clock.PHARMACY_ZONE).strftime("%Y-%m-%dT%H:%M")
    )
    tech.click("#preview-batch")
    assert "MD-BROWSER-1" in tech.locator("#worksheet-preview").inner_text()
    tech.screenshot(path="/tmp/cmp/compound-preview.png", full_page=True)
    tech.click("#compound-batch")
    tech.wait_for_url("**/compounding/batches/CY*")
    lot_number = tech.url.rsplit("/", 1)[1]
    assert tech.locator("#batch-status").inner_text() == "quarantine"
    assert "MD-BROWSER-1" in tech.locator("#worksheet").inner_text()
    tech.screenshot(path="/tmp/cmp/batch.png", full_page=True)

    # ... and prints its worksheet.
    tech.click("#print-worksheet")
    assert lot_number in tech.locator("#printable-worksheet").inner_text()
    tech.screenshot(path="/tmp/cmp/worksheet.png", full_page=True)
    pdf = tech.request.get(tech.locator("#worksheet-pdf").get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")

    # The pharmacist records the sterility result and releases the batch.
    rph.goto(f"/compounding/batches/{lot_number}")
    assert rph.locator("#release-batch").is_disabled()
    assert rph.locator("#result").input_value() == ""  # no result is preselected (SPEC 5.6)
    rph.select_option("#result", "passed")
    rph.fill("#lab_reference", "LAB-2211")
    rph.click("text=Record result")
    rph.click("#release-batch")
    assert rph.locator("#batch-status").inner_text() == "released"
    rph.goto("/compounding/stock")
    assert lot_number in rph.locator("#stock-batches").inner_text()
    rph.screenshot(path="/tmp/cmp/stock.png", full_page=True)
    assert errors == []
    tech_context.close()
    rph_context.close()
