"""The printable batch worksheet PDF: plain data in, a stable PDF with every line out."""

from __future__ import annotations

import subprocess
import sys

import pypdfium2 as pdfium
import pytest

from labels.worksheet import WorksheetDocument, WorksheetRow, render_worksheet


def document(rows=None) -> WorksheetDocument:
    return WorksheetDocument(
        pharmacy_name="Northside Compounding Pharmacy",
        lot_number="CY261201-01",
        formulation="CYB-10ML-MDV v1 - Cyanocobalamin 1,000 mcg/mL, 10 mL multiple-dose vial",
        vials="3 x 10 mL = 30 mL",
        compounded_at="2026-12-01 09:30",
        bud="2027-01-30 09:30",
        bud_limited_by="USP <797> table",
        bud_rule="USP <797> Category 2, terminally sterilized, tested, refrigerated: 60 days",
        storage="Refrigerate 2-8 C; protect from light",
        status="quarantine",
        sterility="pending",
        rows=rows
        or (
            WorksheetRow("Cyanocobalamin", "FG-CY-1", "30.000 mg", "33.105 mg"),
            WorksheetRow("Benzyl alcohol", "BA-1", "0.450 mL", "0.450 mL"),
            WorksheetRow("Sodium chloride", "NACL-1", "0.270 g", "0.270 g"),
            WorksheetRow("Sterile water for injection", "WFI-1", "30.000 mL", "q.s. to 30.000 mL"),
        ),
    )


def text_of(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def test_pdf_lists_every_component_lot_and_amount():
    pdf = render_worksheet(document())
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    for expected in (
        "CY261201-01",
        "Cyanocobalamin",
        "FG-CY-1",
        "30.000 mg",
        "33.105 mg",
        "q.s. to 30.000 mL",
        "Tech",
        "RPh",
        "Initials",
        "Checked and released by (pharmacist)",
        "2027-01-30 09:30",
    ):
        assert expected in text


def test_pdf_is_byte_stable():
    assert render_worksheet(document()) == render_worksheet(document())


def test_many_rows_flow_onto_more_pages():
    rows = tuple(
        WorksheetRow(f"Component {i}", f"LOT-{i}", "1.000 g", "1.000 g") for i in range(40)
    )
    pdf = render_worksheet(document(rows))
    doc = pdfium.PdfDocument(pdf)
    assert len(doc) >= 2
    doc.close()
    assert "Component 39" in text_of(pdf)


@pytest.mark.parametrize("module", ["labels.worksheet"])
def test_imports_no_flask_or_pharmacy(module):
    code = (
        f"import sys, {module}; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'sqlalchemy', 'pharmacy')]; print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=".")
