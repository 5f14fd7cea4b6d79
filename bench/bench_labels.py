"""Time ``labels.render_pdf`` against a bare reportlab + python-barcode script.

Both render the same 500 vial labels (2.25 x 1.25 in, a GS1-128 barcode each, every element's
text) into one PDF. The plain script draws at fixed positions and sizes, with vector bars and no
fitting, checks or layout machinery: it is the floor our renderer is measured against.

Run from the repository root: ``.venv/bin/python bench/bench_labels.py``. Every round uses new
lot numbers, so no round reuses barcode encodings cached by an earlier one.
"""

from __future__ import annotations

import gc
import itertools
import sys
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from barcode.codex import Gs1_128
from reportlab.lib.units import inch, mm
from reportlab.pdfgen.canvas import Canvas

from labels import Barcode, VialLabel, render_pdf

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
                storage=("Refrigerate 2-8 C", "Protect from light"),
                pharmacy_name="Riverside Compounding Pharmacy",
                pharmacy_phone="(217) 555-0142",
                barcode=Barcode.gs1(GTIN, yymmdd, lot),
            )
        )
    return labels


def plain_script(labels: list[VialLabel]) -> bytes:
    """Render the labels with reportlab and python-barcode directly: fixed layout, no checks."""
    buf = BytesIO()
    canvas = Canvas(buf, pagesize=(2.25 * inch, 1.25 * inch), invariant=True)
    module = 25.4 / 203 * mm  # one 203 dpi dot
    for label in labels:
        pattern = Gs1_128(label.barcode.data).build()[0]
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawString(1.2 * mm, 28 * mm, label.drug_strength)
        canvas.setFont("Helvetica-Bold", 8)
        canvas.drawString(1.2 * mm, 24.5 * mm, label.volume)
        canvas.setFont("Helvetica", 7)
        canvas.drawRightString(56 * mm, 24.5 * mm, label.route)
        canvas.setFont("Helvetica", 6)
        canvas.drawString(1.2 * mm, 21.5 * mm, label.container_statement)
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(1.2 * mm, 18 * mm, f"BUD {label.bud}")
        canvas.drawRightString(56 * mm, 18 * mm, f"Lot {label.lot}")
        canvas.setFont("Helvetica-Bold", 6)
        canvas.drawString(1.2 * mm, 15 * mm, ". ".join(label.storage))
        canvas.drawString(40 * mm, 15 * mm, label.compounded_statement)
        canvas.setFont("Helvetica", 5.5)
        canvas.drawCentredString(
            28.5 * mm, 12.5 * mm, f"{label.pharmacy_name}  {label.pharmacy_phone}"
        )
        x = 4 * mm
        for bit, run in itertools.groupby(pattern):
            width = len(list(run)) * module
            if bit == "1":
                canvas.rect(x, 3 * mm, width, 8 * mm, stroke=0, fill=1)
            x += width
        canvas.drawCentredString(28.5 * mm, 1 * mm, label.barcode.text)
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
