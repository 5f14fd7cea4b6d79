"""Label files from the API scan back to their payloads; renders are logged; reprints need a reason."""

from __future__ import annotations

import re
from datetime import date

import pypdfium2 as pdfium
import pytest
import zxingcpp

from pharmacy.database import write_intent
from pharmacy.domain.scan import Gs1Scan, parse_scan
from pharmacy.extensions import db
from pharmacy.models import AuditEvent, Fill, LabelRender
from tests.factories_dispensing import GTIN, make_labelled_fill

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive


def _fill(app, **kwargs) -> dict:
    with app.app_context(), write_intent():
        fill = make_labelled_fill(**kwargs)
        info = {
            "id": fill.id,
            "rx": fill.order.rx_number,
            "patient": fill.order.patient.full_name,
            "serials": [s for a in fill.allocations for s in getattr(a, "serials", None) or []],
            "vials": fill.vials,
            "lots": [(a.batch.lot_number, a.vials, a.batch.bud_dt) for a in fill.allocations],
        }
        from pharmacy.services.labels import local_date

        info["dose_dates"] = [d["date"] for d in fill.plan["doses"] if d["fill_number"] == 0]
        info["buds"] = {a.batch.lot_number: local_date(a.batch.bud_dt) for a in fill.allocations}
        return info


def _decode(pdf: bytes, dpi: int) -> list[list]:
    """Rasterize every page at ``dpi`` and return the barcodes read on each."""
    pages = []
    doc = pdfium.PdfDocument(pdf)
    try:
        for i in range(len(doc)):
            img = doc[i].render(scale=dpi / 72).to_pil().convert("L")
            pages.append(zxingcpp.read_barcodes(img))
    finally:
        doc.close()
    return pages


def _text(pdf: bytes) -> str:
    """Return the text of every page."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [tuple(round(v, 1) for v in doc[i].get_size()) for i in range(len(doc))]
    finally:
        doc.close()


def _expected_vial_payload(info: dict, lot: str, gtin: str | None, serial: int | None) -> str:
    """Return what a vial's DataMatrix must read as (zxing-cpp's text: the HRI for GS1)."""
    bud = info["buds"][lot].strftime("%y%m%d")
    if gtin:
        tail = "" if serial is None else f"(21){serial}"
        return f"(01){gtin}(17){bud}(10){lot}{tail}"
    return lot if serial is None else f"{lot}/{serial}"


@pytest.mark.parametrize("gtin", [GTIN, None], ids=["gs1", "plain"])
@pytest.mark.parametrize("dpi", [203, 300])
def test_fill_label_pdf_scans_back(app, client, api, gtin, dpi):
    info = _fill(app, gtin=gtin)
    # The PDF puts bar edges on the printer's dot grid: ask for the printer's resolution.
    response = client.get(
        f"/api/v1/fills/{info['id']}/label.pdf?dpi={dpi}", headers=api("technician")
    )
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/pdf"
    pages = _decode(response.data, dpi)
    assert len(pages) == 1 + info["vials"]
    # Page 1: the prescription label, 4 x 2 in.
    assert _page_sizes(response.data)[0] == (288.0, 144.0)
    assert [b.text for b in pages[0]] == [f"RX{info['rx']}-0"]
    lot, _, _ = info["lots"][0]
    serials = info["serials"] or [None] * info["vials"]
    for page, serial in zip(pages[1:], serials, strict=True):
        assert len(page) == 1
        assert page[0].format == zxingcpp.BarcodeFormat.DataMatrix
        assert page[0].symbology_identifier == ("]d2" if gtin else "]d1")
        assert page[0].text == _expected_vial_payload(info, lot, gtin, serial)
    assert all(size == (162.0, 90.0) for size in _page_sizes(response.data)[1:])
    text = _text(response.data)
    assert text.count(f"Rx {info['rx']}-0") == info["vials"]
    assert text.count(info["patient"]) == 1 + info["vials"]


def test_batch_labels_pdf_batch_label_first_then_count(app, client, api):
    info = _fill(app)
    lot = info["lots"][0][0]
    response = client.get(f"/api/v1/batches/{lot}/labels.pdf?count=2", headers=api("technician"))
    assert response.status_code == 200, response.get_json()
    pages = _decode(response.data, 203)
    assert len(pages) == 3
    sizes = _page_sizes(response.data)
    assert sizes[0] == (288.0, 144.0) and sizes[1] == (162.0, 90.0)
    scan = parse_scan(pages[0][0].text)
    assert isinstance(scan, Gs1Scan) and scan.lot == lot
    # The batch's vial labels are numbered from serial 1.
    for serial, page in enumerate(pages[1:], start=1):
        assert page[0].symbology_identifier == "]d2"
        assert page[0].text == _expected_vial_payload(info, lot, GTIN, serial)
    assert "Refrigerate 2-8 °C" in _text(response.data)
    # All vials by default: a second print is a reprint and needs a reason.
    again = client.get(f"/api/v1/batches/{lot}/labels.pdf", headers=api("technician"))
    assert again.status_code == 422
    assert "reason" in again.get_json()["error"]["fields"]
    ok = client.get(f"/api/v1/batches/{lot}/labels.pdf?reason=jammed", headers=api("technician"))
    assert ok.status_code == 200
    assert len(_decode(ok.data, 203)) == 1 + 10


def test_batch_labels_bad_count_and_unknown_lot(app, client, api):
    info = _fill(app)
    lot = info["lots"][0][0]
    assert (
        client.get(
            f"/api/v1/batches/{lot}/labels.pdf?count=x", headers=api("technician")
        ).status_code
        == 422
    )
    bad = client.get(f"/api/v1/batches/{lot}/labels.pdf?count=99", headers=api("technician"))
    assert bad.status_code == 422 and "count" in bad.get_json()["error"]["fields"]
    assert (
        client.get("/api/v1/batches/NOPE/labels.pdf", headers=api("technician")).status_code == 404
    )


def test_rejected_and_recalled_batches_refused(app, client, api):
    for status in ("rejected", "recalled"):
        info = _fill(app, batch_status=status)
        lot = info["lots"][0][0]
        response = client.get(f"/api/v1/batches/{lot}/labels.pdf", headers=api("pharmacist"))
        assert response.status_code == 409
        assert status in response.get_json()["error"]["message"]


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("gtin", [GTIN, None], ids=["gs1", "plain"])
def test_fill_label_zpl(app, client, api, dpi, gtin):
    info = _fill(app, gtin=gtin)
    response = client.get(
        f"/api/v1/fills/{info['id']}/label.zpl?dpi={dpi}", headers=api("technician")
    )
    assert response.status_code == 200, response.get_json()
    assert "attachment" in response.headers["Content-Disposition"]
    zpl = response.get_data(as_text=True)
    formats = re.findall(r"\^XA.*?\^XZ", zpl, flags=re.DOTALL)
    assert len(formats) == 1 + info["vials"]
    assert zpl.count("^XA") == zpl.count("^XZ") == len(formats)
    assert "^BC" in formats[0]
    vial_formats = formats[1:]
    # Vial labels: ^BX quality 200, "_" escapes, FNC1 first (_1) exactly when there is a GTIN.
    data = [re.search(r"\^BXN,\d+,200,\d+,\d+,,_\^FD([^^]*)\^FS", f).group(1) for f in vial_formats]
    assert all(d.startswith("_1") == bool(gtin) for d in data)
    lot = info["lots"][0][0]
    assert all(lot in d for d in data)
    width = round(4 * dpi)
    assert f"^PW{width}" in formats[0]


def test_zpl_bad_dpi(app, client, api):
    info = _fill(app)
    response = client.get(
        f"/api/v1/fills/{info['id']}/label.zpl?dpi=600", headers=api("technician")
    )
    assert response.status_code == 422
    assert "dpi" in response.get_json()["error"]["fields"]


def test_render_log_and_reprint_reason(app, client, api):
    info = _fill(app)
    url = f"/api/v1/fills/{info['id']}/label.pdf"
    assert client.get(url, headers=api("technician")).status_code == 200
    refused = client.get(url, headers=api("technician"))
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"].keys() == {"reason"}
    blank = client.get(url + "?reason=%20%20", headers=api("technician"))
    assert blank.status_code == 422
    # ZPL of the same label is a reprint too.
    assert (
        client.get(
            f"/api/v1/fills/{info['id']}/label.zpl?dpi=300", headers=api("technician")
        ).status_code
        == 422
    )
    ok = client.get(url + "?reason=Label%20smudged", headers=api("pharmacist"))
    assert ok.status_code == 200 and ok.headers["X-Reprint"] == "true"
    with app.app_context():
        rows = db.session.execute(db.select(LabelRender).order_by(LabelRender.id)).scalars().all()
        assert [(r.kind, r.entity, r.entity_id, r.output, r.reprint, r.reason) for r in rows] == [
            ("prescription", "fill", str(info["id"]), "pdf", False, ""),
            ("prescription", "fill", str(info["id"]), "pdf", True, "Label smudged"),
        ]
        assert rows[0].labels == 1 + info["vials"]
        actions = (
            db.session.execute(
                db.select(AuditEvent.action)
                .where(AuditEvent.entity == "fill")
                .order_by(AuditEvent.seq)
            )
            .scalars()
            .all()
        )
        assert actions == ["label.printed", "label.reprinted"]


def test_voided_fill_409_unknown_404_and_roles(app, client, api):
    info = _fill(app)
    with app.app_context(), write_intent():
        fill = db.session.get(Fill, info["id"])
        fill.status = "voided"
        db.session.commit()
    for path in ("label.pdf", "label.zpl?dpi=203", "calendar.pdf"):
        response = client.get(f"/api/v1/fills/{info['id']}/{path}", headers=api("pharmacist"))
        assert response.status_code == 409, path
        assert response.get_json()["error"]["code"] == "conflict"
    assert (
        client.get("/api/v1/fills/999999/label.pdf", headers=api("pharmacist")).status_code == 404
    )
    assert (
        client.get(f"/api/v1/fills/{info['id']}/label.pdf", headers=api("prescriber")).status_code
        == 403
    )
    assert client.get(f"/api/v1/fills/{info['id']}/label.pdf").status_code == 401
    with app.app_context():
        assert db.session.execute(db.select(LabelRender)).first() is None


def test_label_too_long_is_422_naming_the_element(app, client, api):
    info = _fill(app)
    with app.app_context(), write_intent():
        fill = db.session.get(Fill, info["id"])
        fill.order.sig = "Inject 1 mL intramuscularly once daily. " * 40
        db.session.commit()
    response = client.get(f"/api/v1/fills/{info['id']}/label.pdf", headers=api("pharmacist"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "directions" in error["fields"]
    assert "directions" in error["message"]
    with app.app_context():
        assert db.session.execute(db.select(LabelRender)).first() is None


def test_calendar_pdf_letter_with_dose_months(app, client, api):

    info = _fill(app, start=date(2026, 3, 2), monitoring_tests=["b12", "cbc", "mma"])
    response = client.get(f"/api/v1/fills/{info['id']}/calendar.pdf", headers=api("technician"))
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/pdf"
    doc = pdfium.PdfDocument(response.data)
    try:
        assert tuple(round(v) for v in doc[0].get_size()) == (612, 792)
        text = "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    months = {date.fromisoformat(d).strftime("%B %Y") for d in info["dose_dates"]}
    assert {"March 2026", "April 2026"} <= months
    for month in months:
        assert month in text
    for day in info["dose_dates"]:
        assert date.fromisoformat(day).strftime("%b %-d, %Y") in text  # the dose checklist
    assert "MMA" in text and "B12" in text
    # A calendar is logged, and printing it again needs no reason.
    again = client.get(f"/api/v1/fills/{info['id']}/calendar.pdf", headers=api("technician"))
    assert again.status_code == 200
    with app.app_context():
        kinds = db.session.execute(db.select(LabelRender.kind)).scalars().all()
        assert kinds == ["calendar", "calendar"]
