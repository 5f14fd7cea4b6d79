"""A technician prints a fill's labels to a network printer; the pharmacist checks the vials
by their DataMatrix serials (SPEC 6.3, 6.4), and the fill page's reprint flow (PDF then ZPL)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login
from tests.fake_printer import FakePrinter

pytestmark = pytest.mark.browser


def _make_fill(live_app, printer_port: int | None = None):
    """Create an allocated fill (and a printer on ``printer_port``); return id and scans."""
    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from pharmacy.models import now_utc
    from pharmacy.services.printing import add_printer, list_printers
    from tests.factories import user
    from tests.factories_dispensing import make_labelled_fill, scans_for

    with live_app.app_context(), write_intent():
        fill = make_labelled_fill(patient_name=("Łukasz", "Wójcik"))
        # A keyboard-wedge scanner may drop the GS: the scans are typed without it.
        result = fill.id, [s.replace("\x1d", "") for s in scans_for(fill)]
        if printer_port is not None and not list_printers():
            add_printer(
                name="Counter Zebra",
                host="127.0.0.1",
                port=printer_port,
                dpi=203,
                label_types=["prescription", "vial"],
                actor=user("admin"),
                now=now_utc(),
            )
        db.session.remove()
    return result


def _scan(page, payload: str) -> None:
    """Type a scan as a 2D scanner in keyboard mode does: the characters, then Enter."""
    page.keyboard.type(payload)
    page.keyboard.press("Enter")


def test_print_to_the_printer_then_check_by_serial(page, live_app):
    with FakePrinter() as printer:
        fill_id, scans = _make_fill(live_app, printer.port)
        login(page, "technician")
        page.goto(f"/fills/{fill_id}")
        assert page.locator("#printer-reason").is_hidden()  # a first print needs no reason
        page.select_option("#printer", "Counter Zebra")
        page.click("#send-to-printer")
        page.wait_for_url(f"**/fills/{fill_id}")
        assert "sent to Counter Zebra" in page.locator(".flash-success").inner_text()
        [received] = printer.wait_for(1)
        assert received.count(b"^XA") == len(scans)  # the prescription label and every vial
        assert page.locator("#print-jobs").inner_text().count("sent") == 1
        # Printed: the page asks for a reason before anything else is printed.
        assert page.locator("#reprint-form").is_visible()
        assert page.locator("#first-print").is_hidden()
        page.screenshot(path="/tmp/fill-printed-to-printer.png", full_page=True)
        assert page.js_errors == []

    page.context.clear_cookies()  # sign out: the pharmacist takes over
    login(page, "pharmacist")
    page.goto(f"/fills/{fill_id}/check")
    page.locator("#scan-input").click()
    rx, first, *others = scans
    for payload in (rx, first, first, *others[:-1]):  # one vial twice, the last one missing
        _scan(page, payload)
    assert "scanned twice" in page.locator("#scan-list li").nth(2).inner_text()
    page.keyboard.press("Enter")  # Enter on the empty scan field submits the check
    page.locator(".verdict-fail").wait_for()
    verdict = page.locator("#verdict").inner_text()
    assert "scanned twice" in verdict and "not scanned" in verdict
    assert page.locator("#dispense-panel").is_hidden()
    page.screenshot(path="/tmp/final-check-scanned-twice.png", full_page=True)
    page.click("#scan-clear")
    for payload in scans:
        _scan(page, payload)
    page.keyboard.press("Enter")
    page.locator(".verdict-pass").wait_for()
    assert "PASS" in page.locator("#verdict").inner_text()
    assert page.locator("#dispense-panel").is_visible()
    assert page.js_errors == []


def test_after_the_pdf_the_page_asks_a_reason_and_a_refused_zpl_says_why(page, live_app):
    fill_id, _ = _make_fill(live_app)
    login(page, "technician")
    page.goto(f"/fills/{fill_id}")
    assert page.locator("#reprint-form").is_hidden()
    with page.context.expect_page() as opened:
        page.click("#first-print a[data-output=pdf]")
    opened.value.close()
    # At once, without reloading: the next output is a reprint and needs a reason.
    page.locator("#reprint-form").wait_for(state="visible")
    assert page.locator("#first-print").is_hidden()
    page.click("#reprint-form button[value='203']")
    # The browser refuses the empty reason itself (the field is required) and says so.
    assert page.evaluate("document.getElementById('reason').validity.valueMissing")
    page.fill("#reason", "label smudged")
    with page.expect_download() as download:
        page.click("#reprint-form button[value='203']")
    assert download.value.suggested_filename.endswith("-203.zpl")
    assert page.locator("#print-problem").is_hidden()
    page.reload()
    history = page.locator("text=label smudged")
    assert history.count() >= 1
    assert page.js_errors == []


def test_a_stale_page_shows_why_the_zpl_was_refused(page, live_app):
    fill_id, _ = _make_fill(live_app)
    login(page, "technician")
    page.goto(f"/fills/{fill_id}")
    # Someone else prints meanwhile: this page still offers a first print.
    page.request.get(f"/api/v1/fills/{fill_id}/label.pdf")
    page.click("#first-print a[data-output=zpl]")
    problem = page.locator("#print-problem")
    problem.wait_for(state="visible")
    assert "give a reason" in problem.inner_text()
    assert page.locator("#reprint-form").is_visible()
    assert page.js_errors == []
