"""Formulary and compounding pages: render, forms, actions, roles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import Batch, Formulation, IngredientLot
from pharmacy.services.demo import load_demo
from tests import clock

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive


@pytest.fixture
def demo(app):
    with app.app_context(), write_intent():
        load_demo()
        db.session.remove()


def _batch(app, code="CYB-10ML-MDV") -> Batch:
    with app.app_context():
        return (
            db.session.execute(db.select(Batch).join(Formulation).where(Formulation.code == code))
            .scalars()
            .first()
        )


@pytest.mark.parametrize(
    "url",
    [
        "/formulations/",
        "/formulations/CYB-10ML-MDV",
        "/compounding/stock",
        "/compounding/batches",
        "/compounding/batches/new",
        "/compounding/lots/receive",
        "/compounding/lots/1",
    ],
)
def test_pages_render_for_technician(demo, as_user, url):
    response = as_user("technician").get(url)
    assert response.status_code == 200, url
    assert b"<h1" in response.data


def test_prescriber_is_refused(demo, as_user):
    client = as_user("prescriber")
    for url in ("/formulations/", "/compounding/stock", "/compounding/batches"):
        assert client.get(url).status_code == 403


def test_anonymous_redirected(client):
    assert client.get("/compounding/stock").status_code == 302


def test_stock_page_lists_lots_batches_and_expiring(app, demo, as_user):
    from tests.factories_stock import make_lot

    with app.app_context():
        make_lot(lot="SOON-1", expiry_date=clock.today() + timedelta(days=5))
    page = as_user("technician").get("/compounding/stock").get_data(as_text=True)
    assert "Expiring within 30 days" in page
    assert "SOON-1" in page.split('id="expiring"')[1].split("</section>")[0]
    assert "FG-CY-24117" in page and "CYB-10ML-MDV" in page


def test_receive_release_and_reject_lot(app, demo, as_user):
    client = as_user("technician")
    bad = client.post("/compounding/lots/receive", data={"component": "Cyanocobalamin"})
    assert bad.status_code == 422
    assert b"This field is required" in bad.data
    response = client.post(
        "/compounding/lots/receive",
        data={
            "component": "Cyanocobalamin",
            "manufacturer": "Fagron",
            "lot": "PAGE-1",
            "expiry": (clock.today() + timedelta(days=500)).strftime("%Y-%m"),
            "quantity": "5",
            "unit": "g",
            "assay_percent": "99.0",
            "lod_percent": "6.5",
            "coa_reference": "COA-P1",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        lot_id = db.session.execute(db.select(IngredientLot.id).filter_by(lot="PAGE-1")).scalar()
    # A technician cannot release.
    assert client.post(f"/compounding/lots/{lot_id}/release").status_code == 403
    pharmacist = as_user("pharmacist")
    page = pharmacist.get(f"/compounding/lots/{lot_id}").get_data(as_text=True)
    assert "Release lot" in page
    pharmacist.post(f"/compounding/lots/{lot_id}/release")
    with app.app_context():
        assert db.session.get(IngredientLot, lot_id).status == "released"
    pharmacist.post(f"/compounding/lots/{lot_id}/reject", data={"reason": "Label damaged"})
    with app.app_context():
        assert db.session.get(IngredientLot, lot_id).status == "rejected"


def test_release_out_of_spec_lot_flashes_the_spec(app, demo, as_user):
    as_user("technician").post(
        "/compounding/lots/receive",
        data={
            "component": "Cyanocobalamin",
            "manufacturer": "X",
            "lot": "OOS-1",
            "expiry": "2099-01",
            "quantity": "5",
            "unit": "g",
            "assay_percent": "94.0",
            "lod_percent": "6.5",
            "coa_reference": "COA",
        },
    )
    with app.app_context():
        lot_id = db.session.execute(db.select(IngredientLot.id).filter_by(lot="OOS-1")).scalar()
    page = (
        as_user("pharmacist")
        .post(f"/compounding/lots/{lot_id}/release", follow_redirects=True)
        .get_data(as_text=True)
    )
    assert "Assay 94" in page and "out of specification" in page
    with app.app_context():
        assert db.session.get(IngredientLot, lot_id).status == "quarantine"


def _form_lots(client, code):
    page = client.get(f"/compounding/batches/new?formulation={code}").get_data(as_text=True)
    import re

    return dict(re.findall(r'<select name="(lot-\d+)" id="lot-\d+">\s*<option value="(\d+)"', page))


def test_compound_preview_then_record(app, demo, as_user):
    client = as_user("technician")
    lots = _form_lots(client, "CYB-10ML-MDV")
    assert len(lots) == 4
    data = {"formulation": "CYB-10ML-MDV", "vials": "3", "compounded_at": "", **lots}
    preview = client.post("/compounding/batches/new", data={**data, "action": "preview"})
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "Worksheet preview" in text and "34.761 mg" in text  # 31.5 mg / (0.985 x 0.92) = 34.7605
    with app.app_context():
        before = db.session.execute(db.select(db.func.count(Batch.id))).scalar()
    response = client.post("/compounding/batches/new", data={**data, "action": "compound"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Batch.id))).scalar() == before + 1


def test_compound_form_shows_errors(app, demo, as_user):
    client = as_user("technician")
    lots = _form_lots(client, "CYB-10ML-MDV")
    response = client.post(
        "/compounding/batches/new",
        data={"formulation": "CYB-10ML-MDV", "vials": "0", "action": "compound", **lots},
    )
    assert response.status_code == 422
    assert b"vials" in response.data
    huge = client.post(
        "/compounding/batches/new",
        data={"formulation": "CYB-10ML-MDV", "vials": "9000", "action": "compound", **lots},
    )
    assert huge.status_code == 409
    assert b"on hand" in huge.data


def test_batch_detail_sterility_and_release(app, demo, as_user):
    client = as_user("technician")
    lots = _form_lots(client, "CYB-30ML-MDV")
    # Compounded 15 days ago, so the sterility test can pass (14 days, USP <71>, SPEC 5.6).
    compounded = (clock.now() - timedelta(days=15)).astimezone(clock.PHARMACY_ZONE)
    client.post(
        "/compounding/batches/new",
        data={
            "formulation": "CYB-30ML-MDV",
            "vials": "2",
            "action": "compound",
            "compounded_at": compounded.strftime("%Y-%m-%dT%H:%M"),
            **lots,
        },
    )
    with app.app_context():
        lot = db.session.execute(
            db.select(Batch.lot_number).filter_by(status="quarantine")
        ).scalar()
    page = client.get(f"/compounding/batches/{lot}").get_data(as_text=True)
    assert "USP &lt;797&gt; table limit" in page and "sterility pending" in page
    pharmacist = as_user("pharmacist")
    blocked = pharmacist.post(f"/compounding/batches/{lot}/release", follow_redirects=True)
    assert b"needs a passed sterility test" in blocked.data
    pharmacist.post(f"/compounding/batches/{lot}/sterility", data={"result": "passed"})
    pharmacist.post(f"/compounding/batches/{lot}/release")
    with app.app_context():
        assert (
            db.session.execute(db.select(Batch.status).filter_by(lot_number=lot)).scalar()
            == "released"
        )


def test_worksheet_page_and_pdf(app, demo, as_user):
    batch = _batch(app)
    lot = batch.lot_number
    with app.app_context(), write_intent():
        formulation = db.session.get(Batch, batch.id).formulation
        formulation.procedure = ["Sanitize the ISO 5 workbench.", "Filter through 0.22 micron."]
        formulation.equipment = ["Analytical balance (0.1 mg)"]
        db.session.commit()
    client = as_user("technician")
    page = client.get(f"/compounding/batches/{lot}/worksheet").get_data(as_text=True)
    assert "Batch compounding worksheet" in page and "Tech" in page and "RPh" in page
    for text in ("Filter through 0.22 micron.", "Analytical balance (0.1 mg)", "Visual inspection",
                 "Yield reconciliation", "Verified by (pharmacist)"):  # fmt: skip
        assert text in page
    pdf = client.get(f"/compounding/batches/{lot}/worksheet.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf.data)
    try:
        text = " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    assert "Sanitize the ISO 5 workbench." in text and "Analytical balance (0.1 mg)" in text
    assert "°C" in text and "..." not in text
    assert client.get("/compounding/batches/NOPE-1/worksheet.pdf").status_code == 404


def test_formulary_new_edit_and_retire(app, demo, as_user):
    client = as_user("pharmacist")
    assert client.get("/formulations/new").status_code == 200
    data = {
        "code": "CYB-2ML-MDV",
        "name": "Cyanocobalamin 1,000 mcg/mL, 2 mL MDV",
        "concentration_mcg_per_ml": "1000",
        "vial_volume_ml": "2",
        "container": "multiple-dose",
        "overfill_ml": "",
        "category": "2",
        "sterilization": "terminal",
        "sterility_tested": "y",
        "nonsterile_components": "y",
        "storage": "refrigerated",
        "protect_from_light": "y",
        "in_use_days": "",
        "gtin": "",
        "ingredients-0-component": "Cyanocobalamin",
        "ingredients-0-amount": "1000",
        "ingredients-0-unit": "mcg/mL",
        "ingredients-0-active": "y",
        "ingredients-1-component": "Sodium chloride",
        "ingredients-1-amount": "0.9",
        "ingredients-1-unit": "% w/v",
        "ingredients-2-component": "Sterile water for injection",
        "ingredients-2-unit": "q.s.",
    }
    missing = client.post("/formulations/new", data=data)
    assert missing.status_code == 422
    assert b"preservative" in missing.data
    data.update(
        {
            "ingredients-3-component": "Benzyl alcohol",
            "ingredients-3-amount": "1.5",
            "ingredients-3-unit": "% v/v",
        }
    )
    created = client.post("/formulations/new", data=data)
    assert created.status_code == 302, created.data
    edit = client.get("/formulations/CYB-2ML-MDV/edit")
    assert b'value="Benzyl alcohol"' in edit.data
    data["name"] = "Renamed 2 mL"
    assert client.post("/formulations/CYB-2ML-MDV/edit", data=data).status_code == 302
    # The 10 mL demo formulation was used by a batch: editing makes version 2.
    client.post(
        "/formulations/CYB-10ML-MDV/edit",
        data={**data, "code": "CYB-10ML-MDV", "vial_volume_ml": "10"},
    )
    with app.app_context():
        versions = (
            db.session.execute(db.select(Formulation.version).filter_by(code="CYB-10ML-MDV"))
            .scalars()
            .all()
        )
        assert sorted(versions) == [1, 2]
    client.post("/formulations/CYB-2ML-MDV/status", data={"status": "retired"})
    with app.app_context():
        assert (
            db.session.execute(db.select(Formulation.status).filter_by(code="CYB-2ML-MDV")).scalar()
            == "retired"
        )
    assert as_user("technician").get("/formulations/new").status_code == 403
