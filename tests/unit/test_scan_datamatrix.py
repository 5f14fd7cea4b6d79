"""Vial DataMatrix payloads and how a 2D scanner's input is read back (SPEC 6.2, 6.3)."""

from __future__ import annotations

from datetime import date

import pytest

from labels.gs1 import GS
from pharmacy.domain.errors import DomainError
from pharmacy.domain.scan import Gs1Scan, LotScan, VialScan, parse_scan, vial_payload

GTIN = "09501101530003"
BUD = date(2027, 3, 15)
LOT = "CY261201-01"
VIAL = VialScan(lot=LOT, serial=7, gtin=GTIN, expiry=BUD)


def test_vial_payload_with_and_without_gtin():
    assert vial_payload(GTIN, BUD, LOT, 7) == (
        "gs1-datamatrix",
        "(01)09501101530003(17)270315(10)CY261201-01(21)7",
    )
    assert vial_payload(None, BUD, LOT, 12) == ("datamatrix", "CY261201-01/12")
    assert vial_payload("", BUD, LOT, 1) == ("datamatrix", "CY261201-01/1")


@pytest.mark.parametrize(
    ("gtin", "lot", "serial", "field"),
    [
        (GTIN, LOT, 0, "serial"),
        (GTIN, LOT, True, "serial"),
        ("09501101530004", LOT, 1, "gtin"),
        (None, "cy 1", 1, "lot"),
        (GTIN, "A B", 1, "lot"),
    ],
)
def test_vial_payload_refuses_bad_values(gtin, lot, serial, field):
    with pytest.raises(DomainError) as info:
        vial_payload(gtin, BUD, lot, serial)
    assert info.value.field == field


# What a 2D scanner sends for the GS1 DataMatrix of serial 7, in the ways scanners are set up.
@pytest.mark.parametrize(
    "text",
    [
        f"]d2010950110153000317270315{10}{LOT}{GS}217",  # AIM identifier, GS after the lot
        f"]d2{GS}010950110153000317270315{10}{LOT}{GS}217",  # FNC1 sent as a leading GS too
        f"010950110153000317270315{10}{LOT}{GS}217\r\n",  # no identifier, Enter suffix
        f"]d2010950110153000317270315{10}{LOT}217",  # the wedge dropped the GS
        f"010950110153000317270315{10}{LOT}217",  # neither identifier nor GS
        f"(01){GTIN}(17)270315(10){LOT}(21)7",  # parenthesised, typed by hand
        f"]d2(01){GTIN}(17)270315(10){LOT}(21)7",
        f"]d20109501101530003{10}{LOT}{GS}217{GS}17270315",  # any order, GS ends each field
    ],
)
def test_gs1_datamatrix_scans(text):
    assert parse_scan(text) == VIAL


@pytest.mark.parametrize(
    "text", [f"{LOT}/7", f"]d1{LOT}/7", f" {LOT.lower()}/7 \n", f"]d1{LOT}/007"]
)
def test_plain_datamatrix_scans(text):
    assert parse_scan(text) == VialScan(lot=LOT, serial=7)


def test_a_gs1_128_batch_label_stays_a_lot_scan_without_serial():
    scan = parse_scan(f"]C1010950110153000317270315{10}{LOT}")
    assert scan == Gs1Scan(gtin=GTIN, expiry=BUD, lot=LOT)
    assert parse_scan(LOT) == LotScan(LOT)


def test_lot_and_serial_run_together_resolved_by_the_known_lots():
    # "CY261201-01" + "217" or "CY261201-0121" + "7": two readings without the GS.
    text = f"]d2010950110153000317270315{10}{LOT}21217"
    with pytest.raises(DomainError, match="without the GS"):
        parse_scan(text)
    assert parse_scan(text, known_lots={LOT}) == VialScan(LOT, 217, GTIN, BUD)
    assert parse_scan(text, known_lots={LOT + "21"}) == VialScan(LOT + "21", 7, GTIN, BUD)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # truncated GS1 strings
        ("]d2010950110153", "needs 14 digits"),
        ("]d201095011015300031727", "cut short"),
        ("]d20109501101530003172703151", "application identifier"),
        (f"]d2010950110153000317270315{10}{LOT}", "no serial (21)"),
        (f"]d2010950110153000317270315{10}{LOT}{GS}21", "serial (21) is empty"),
        ("]d20109501101530003", "no batch/lot"),
        # a serial that is not one
        (f"]d2010950110153000317270315{10}{LOT}{GS}21AB", "not a vial serial"),
        (f"{LOT}/0", "not a vial serial"),
        (f"{LOT}/99999999", "not a vial serial"),
        (f"{LOT}/x", "<lot>/<serial>"),
        ("RX1/2/3", "<lot>/<serial>"),
        # not our symbologies
        (f"]d0{LOT}/7", "not one this pharmacy prints"),
        ("]Q3abc", "not one this pharmacy prints"),
        # a wrong check digit on another pharmacy's label
        ("]d2010950110153000417270315" + "10ABC" + GS + "211", "check digit"),
    ],
)
def test_bad_vial_scans_say_why(text, fragment):
    with pytest.raises(DomainError) as info:
        parse_scan(text)
    assert info.value.field == "scan"
    assert fragment in info.value.message
