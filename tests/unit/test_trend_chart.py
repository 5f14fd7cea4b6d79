"""The patient's trend picture (SPEC 7.8): well-formed SVG, no inline styles, every element."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

from pharmacy.therapy.trend import trend_from_rows, trend_svg

NS = {"svg": "http://www.w3.org/2000/svg"}
RANGES = {
    "b12": (Decimal(200), Decimal(900)),
    "mma": (Decimal(0), Decimal(400)),
    "homocysteine": (Decimal(0), Decimal(15)),
    "hemoglobin": (Decimal(12), Decimal("17.5")),
}


def _obs(i, test, day, value, flag):
    return {"id": i, "test": test, "effective_date": day, "value": value, "flag": flag}


def _chart(**kwargs):
    data = trend_from_rows(today=date(2027, 3, 15), ranges=RANGES, **kwargs)
    return str(trend_svg(data))


def test_rising_b12_with_band_doses_checkpoints_and_symptoms():
    svg = _chart(
        observations=[
            _obs(1, "b12", "2026-10-01", 150, "low"),
            _obs(2, "b12", "2027-01-05", 474.25, "normal"),
            _obs(3, "hemoglobin", "2027-01-05", 13.1, "normal"),
            _obs(4, "mma", "2026-10-01", 620, "high"),
        ],
        doses=[(date(2026, 10, 2), True), (date(2027, 4, 2), False)],
        checkpoints=[(date(2027, 1, 5), "done"), (date(2027, 4, 5), "upcoming")],
        reports=[{"date": "2027-01-05", "symptoms": {"fatigue": "better", "balance": "new"}}],
    )
    root = ET.fromstring(svg)  # well-formed XML
    assert "style=" not in svg  # the Content Security Policy forbids inline styles
    points = root.findall(".//svg:circle[@class]", NS)
    assert len(points) == 4  # 2 B12, 1 Hb, 1 MMA
    assert {p.get("class") for p in points} >= {"trend-point trend-low", "trend-point trend-normal"}
    assert len(root.findall(".//svg:path[@class]", NS)) == 2  # checkpoints
    assert root.find(".//svg:rect[@class='symptom symptom-worse']", NS) is not None
    desc = root.find("svg:desc", NS).text
    assert desc.startswith("B12 rose from 150 to 474 pg/mL")
    assert "Reference range 200-900 pg/mL" in svg
    assert "Homocysteine" not in svg  # no results, no panel


def test_empty_chart_says_so():
    svg = _chart(observations=[])
    ET.fromstring(svg)
    assert "No B12 results yet" in svg and "No symptom reports yet" in svg


def test_text_is_escaped():
    svg = _chart(
        observations=[],
        reports=[{"date": "2027-01-05", "symptoms": {"<script>": "worse"}}],
    )
    ET.fromstring(svg)
    assert "<script>" not in svg
