"""The printable batch worksheet PDF: plain data in, a stable PDF with every line out, flowing
onto as many pages as it needs and never shortened with an ellipsis (SPEC 6.5)."""

from __future__ import annotations

import subprocess
import sys

import pypdfium2 as pdfium
import pytest

from labels.worksheet import WorksheetDocument, WorksheetRow, render_worksheet

PROCEDURE = (
    "Sanitize the ISO 5 workbench with sterile 70 % isopropyl alcohol; allow to dry.",
    "Weigh the cyanocobalamin on the calibrated balance; record the actual amount.",
    "Dissolve in 80 % of the sterile water for injection; add benzyl alcohol and sodium chloride.",
    "q.s. to final volume with sterile water for injection; mix until clear.",
    "Filter through a 0.22 micron PES filter into the sterile vials; stopper and crimp.",
)
EQUIPMENT = (
    "ISO 5 laminar airflow workbench",
    "Analytical balance (0.1 mg)",
    "0.22 micron PES syringe filter",
)


def document(rows=None, procedure=PROCEDURE, equipment=EQUIPMENT) -> WorksheetDocument:
    return WorksheetDocument(
        pharmacy_name="Northside Compounding Pharmacy",
        lot_number="CY261201-01",
        formulation="CYB-10ML-MDV v1 - Cyanocobalamin 1,000 mcg/mL, 10 mL multiple-dose vial",
        vials="3 x 10 mL = 30 mL",
        compounded_at="2026-12-01 09:30",
        bud="2027-01-30 09:30",
        bud_limited_by="USP <797> table",
        bud_rule="USP <797> Category 2, terminally sterilized, tested, refrigerated: 60 days",
        storage="Refrigerate 2-8 °C; protect from light",
        status="quarantine",
        sterility="pending",
        rows=rows
        or (
            WorksheetRow("Cyanocobalamin", "FG-CY-1", "30.000 mg", "33.105 mg"),
            WorksheetRow("Benzyl alcohol", "BA-1", "0.450 mL", "0.450 mL"),
            WorksheetRow("Sodium chloride", "NACL-1", "0.270 g", "0.270 g"),
            WorksheetRow("Sterile water for injection", "WFI-1", "30.000 mL", "q.s. to 30.000 mL"),
        ),
        procedure=procedure,
        equipment=equipment,
        expected_yield="3 vials of 10 mL",
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
        "Compounded by (technician)",
        "Verified by (pharmacist)",
        "Visual inspection",
        "Yield reconciliation",
        "3 vials of 10 mL",
        "2027-01-30 09:30",
        "Refrigerate 2-8 °C; protect from light",
        *EQUIPMENT,
    ):
        assert expected in text
    flat = " ".join(text.split())
    for step in PROCEDURE:
        assert step in flat


def test_pdf_embeds_the_label_font():
    pdf = render_worksheet(document())
    assert b"/FontFile2" in pdf and b"Helvetica" not in pdf


def test_pdf_is_byte_stable():
    assert render_worksheet(document()) == render_worksheet(document())


def page_count(pdf: bytes) -> int:
    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def test_many_rows_and_steps_flow_onto_more_pages_without_an_ellipsis():
    long_name = "Sterile water for injection, bacteriostatic-free, low endotoxin grade " * 2
    rows = tuple(
        WorksheetRow(f"Component {i} {long_name}", f"LOT-{i}-2026-12-01-A", "1.000 g",
                     f"q.s. to {210 + i}.000 mL")
        for i in range(40)
    )  # fmt: skip
    steps = tuple(f"Step {i}: " + "check, record and initial the reading. " * 6 for i in range(30))
    short = render_worksheet(document())
    pdf = render_worksheet(document(rows, procedure=steps))
    assert page_count(pdf) >= page_count(short) + 3
    text = " ".join(text_of(pdf).split())
    assert "..." not in text and "\u2026" not in text
    assert "Component 39" in text and "q.s. to 249.000 mL" in text
    for i in range(30):
        assert f"Step {i}: check, record" in text
    # Every page says which lot it belongs to; the headings repeat where the tables continue.
    doc = pdfium.PdfDocument(pdf)
    try:
        pages = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()
    assert all("Lot CY261201-01" in page for page in pages)
    assert sum("Weigh / measure" in page for page in pages) >= 2


def test_without_procedure_or_equipment_lines_are_left_to_write_in():
    text = text_of(render_worksheet(document(procedure=(), equipment=())))
    assert "Procedure step" in text and "ID / calibration due" in text


def test_names_outside_windows_1252_print():
    rows = (WorksheetRow("Cyanocobalamin (Łódź lot)", "ŁD-1", "30.000 mg", "33.105 mg"),)
    assert "Cyanocobalamin (Łódź lot)" in text_of(render_worksheet(document(rows)))


@pytest.mark.parametrize("module", ["labels.worksheet"])
def test_imports_no_flask_or_pharmacy(module):
    code = (
        f"import sys, {module}; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'sqlalchemy', 'pharmacy')]; print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=".")
