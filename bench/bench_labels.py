"""Time ``labels.render_pdf`` against a bare reportlab + python-barcode script.

Both render the same 500 vial labels (2.25 x 1.25 in, a GS1 DataMatrix with the vial's serial
each, every element's text in the embedded TrueType label font) into one PDF. The plain script
encodes each symbol with the same encoder (zint) and draws it at fixed positions and sizes, one
vector rectangle per run of dark modules, with no fitting, checks or layout machinery: it is the
floor our renderer is measured against.

Run from the repository root: ``.venv/bin/python bench/bench_labels.py``. Every round uses new
lot numbers, so no round reuses barcode encodings cached by an earlier one.
"""

from __future__ import annotations

import gc
import sys
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import zint
from reportlab.lib.units import inch, mm
from reportlab.pdfgen.canvas import Canvas

from labels import Barcode, VialLabel, render_pdf
from labels.fonts import FONT, FONT_BOLD

COUNT = 500
ROUNDS = 7
GOAL = 1.3
GTIN = "09501101530003"


def make_labels(round_no: int) -> list[VialLabel]:
    """Return COUNT vial labels with distinct lots and BUDs (a realistic print run varies)."""
    labels = []
    for i in range(COUNT):
        lot = f"CY{26 + round_no:02d}{(i // 40) % 12 + 1:02d}{i % 28 + 1:02d}-{i % 100:02d}"
        yymmdd = f"27{(i % 12) + 1:02d}{(i % 28) + 1:02d}"
        labels.append(
            VialLabel(
                drug_strength="Cyanocobalamin 1,000 mcg/mL",
                volume="10 mL",
                container_statement="Multiple-dose vial - discard 28 days after first puncture",
                route="For intramuscular use",
                lot=lot,
                bud=f"20{yymmdd[:2]}-{yymmdd[2:4]}-{yymmdd[4:]}",
                storage=("Refrigerate 2-8 °C", "Protect from light"),
                pharmacy_name="Riverside Compounding Pharmacy",
                pharmacy_phone="(217) 555-0142",
                barcode=Barcode.gs1_datamatrix(GTIN, yymmdd, lot, i + 1),
                serial=i + 1,
                patient_name="Margaret A. Thompson",
                rx_reference=f"Rx 1000{round_no}-{i % 5}",
            )
        )
    return labels


def plain_matrix(label: VialLabel) -> tuple[int, list[tuple[int, int, int]]]:
    """Encode the label's GS1 DataMatrix with zint (square, GS1 mode): size and dark runs."""
    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.DATAMATRIX
    symbol.option_3 = int(zint.DataMatrixOptions.SQUARE)
    symbol.input_mode = zint.InputMode.GS1 | zint.InputMode.GS1PARENS
    symbol.encode(label.barcode.data)
    bits, stride = symbol.encoded_data.tobytes(), symbol.encoded_data.shape[1]
    runs = []
    for row in range(symbol.rows):
        start = None
        for col in range(symbol.width + 1):
            dark = col < symbol.width and (bits[row * stride + (col >> 3)] >> (col & 7)) & 1
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                runs.append((row, start, col - start))
                start = None
    return symbol.rows, runs


def plain_script(labels: list[VialLabel]) -> bytes:
    """Render the labels with reportlab and zint directly: fixed layout, no checks."""
    buf = BytesIO()
    canvas = Canvas(buf, pagesize=(2.25 * inch, 1.25 * inch), invariant=True, initialFontName=FONT)
    module = 4 * 25.4 / 203 * mm  # four 203 dpi dots
    for label in labels:
        _size, runs = plain_matrix(label)
        canvas.setFont(FONT_BOLD, 10)
        canvas.drawString(1.6 * mm, 27.5 * mm, label.drug_strength)
        canvas.setFont(FONT_BOLD, 8)
        canvas.drawString(1.6 * mm, 24.5 * mm, label.volume)
        canvas.setFont(FONT, 7)
        canvas.drawRightString(55.5 * mm, 24.5 * mm, label.route)
        canvas.setFont(FONT, 6)
        canvas.drawString(1.6 * mm, 21.8 * mm, label.container_statement)
        canvas.setFont(FONT_BOLD, 8.5)
        canvas.drawString(1.6 * mm, 19 * mm, label.patient_name or "")
        canvas.setFont(FONT, 7)
        canvas.drawString(1.6 * mm, 16.5 * mm, label.rx_reference or "")
        canvas.drawString(26 * mm, 16.5 * mm, f"Vial #{label.serial}")
        canvas.setFont(FONT_BOLD, 9)
        canvas.drawString(1.6 * mm, 13.5 * mm, f"BUD {label.bud}")
        canvas.setFont(FONT_BOLD, 8)
        canvas.drawString(1.6 * mm, 11 * mm, f"Lot {label.lot}")
        canvas.setFont(FONT_BOLD, 6)
        canvas.drawString(1.6 * mm, 8.8 * mm, ". ".join(label.storage))
        canvas.drawString(2 * mm, 6.6 * mm, label.compounded_statement.upper())
        canvas.setFont(FONT, 5.5)
        canvas.drawCentredString(
            28.5 * mm, 4.3 * mm, f"{label.pharmacy_name}  {label.pharmacy_phone}"
        )
        canvas.drawCentredString(28.5 * mm, 2 * mm, label.barcode.text)
        path = canvas.beginPath()
        top = 17.5 * mm
        for row, col, length in runs:
            path.rect(41 * mm + col * module, top - (row + 1) * module, length * module, module)
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.showPage()
    canvas.save()
    return buf.getvalue()


def timed(render, labels: list[VialLabel]) -> tuple[float, float, bytes]:
    """Return (CPU seconds, wall seconds, PDF) of one render."""
    gc.collect()  # neither side pays for the other's garbage
    cpu, wall = time.process_time(), time.perf_counter()
    pdf = render(labels)
    return time.process_time() - cpu, time.perf_counter() - wall, pdf


def main() -> None:
    """Time both renderers over several interleaved rounds and print the best of each.

    The ratio uses this process's CPU time: on a shared machine wall-clock time mostly measures
    the other processes. Wall-clock bests are printed too.
    """
    ours, plain = [], []
    for round_no in range(ROUNDS):
        labels = make_labels(round_no)
        ours.append(timed(render_pdf, labels))
        plain.append(timed(plain_script, labels))
    best_ours, best_plain = min(t[0] for t in ours), min(t[0] for t in plain)
    ratio = best_ours / best_plain
    print(
        f"labels.render_pdf: {best_ours:.2f} s for {COUNT} vial labels "
        f"({len(ours[-1][2]) / 1024:.0f} KiB); plain script: {best_plain:.2f} s "
        f"({len(plain[-1][2]) / 1024:.0f} KiB); ratio {ratio:.2f} (goal <= {GOAL})"
    )
    print(
        f"  CPU seconds, best of {ROUNDS} interleaved rounds; wall-clock bests: "
        f"{min(t[1] for t in ours):.2f} s vs {min(t[1] for t in plain):.2f} s"
    )
    sys.exit(0 if ratio <= GOAL else 1)


if __name__ == "__main__":
    main()
