"""GS1 check digits, barcode payloads and the scanner input parser (domain.md seeds 9, 10)."""

from __future__ import annotations

from datetime import date

import pytest

from labels.gs1 import gtin_check_digit, is_valid_gtin
from pharmacy.domain.errors import DomainError
from pharmacy.domain.scan import (
    GS,
    Gs1Scan,
    LotScan,
    RxScan,
    check_gs1_lot,
    gs1_element_string,
    gs1_human_readable,
    parse_scan,
    rx_payload,
)

GTIN = "09501101530003"  # GS1's example GTIN (domain.md 5.2)
SEED_10 = Gs1Scan(gtin=GTIN, expiry=date(2026, 3, 15), lot="LOT123")


# --- GTIN check digit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        ("0950110153000", 3),  # domain.md seed 9
        ("0952123454321", 3),
        ("0000000000000", 0),
        ("1234567890123", 1),  # 3*(3+1+9+7+5+3+1) + (2+0+8+6+4+2) = 87 + 22 = 109 -> 1
    ],
)
def test_gtin_check_digit(body, digit):
    assert gtin_check_digit(body) == digit


@pytest.mark.parametrize("body", ["095011015300A", "", None, "0950 10153000"])
def test_gtin_check_digit_refuses_non_digits(body):
    with pytest.raises(ValueError, match="digits only"):
        gtin_check_digit(body)


@pytest.mark.parametrize(
    ("gtin", "valid"),
    [
        ("09501101530003", True),
        ("09521234543213", True),
        ("12345678901231", True),
        ("09501101530004", False),  # wrong check digit
        ("0950110153000", False),  # 13 digits
        ("095011015300033", False),  # 15 digits
        ("0950110153000A", False),
        (9501101530003, False),  # a number loses the leading zero
        (None, False),
    ],
)
def test_is_valid_gtin(gtin, valid):
    assert is_valid_gtin(gtin) is valid


# --- GS1 lots and element strings ------------------------------------------------------------


@pytest.mark.parametrize("lot", ["LOT123", "CY261201-01", "a/b.c_d:1", "X" * 20, "!\"%&'()*+,"])
def test_check_gs1_lot_accepts_cset82(lot):
    assert check_gs1_lot(lot) == lot


@pytest.mark.parametrize(
    ("lot", "fragment"),
    [
        ("ABC 123", "space"),  # domain.md seed 9
        ("X" * 21, "at most 20"),
        ("", "empty"),
        ("LOT#1", "'#'"),
        ("LÖT1", "'Ö'"),
    ],
)
def test_check_gs1_lot_refuses(lot, fragment):
    with pytest.raises(DomainError) as info:
        check_gs1_lot(lot)
    assert info.value.field == "lot"
    assert fragment in info.value.message


def test_gs1_element_string_is_python_barcode_input():
    assert gs1_element_string(GTIN, date(2026, 3, 15), "LOT123") == (
        "01" + GTIN + "17" + "260315" + "10" + "LOT123"
    )


def test_gs1_human_readable():
    assert (
        gs1_human_readable(GTIN, date(2026, 3, 15), "LOT123")
        == "(01)09501101530003(17)260315(10)LOT123"
    )


@pytest.mark.parametrize(
    ("gtin", "expiry", "lot", "field"),
    [
        ("09501101530004", date(2026, 3, 15), "LOT123", "gtin"),
        ("9501101530003", date(2026, 3, 15), "LOT123", "gtin"),
        (GTIN, date(2126, 3, 15), "LOT123", "expiry"),
        (GTIN, date(1999, 12, 31), "LOT123", "expiry"),
        (GTIN, date(2026, 3, 15), "ABC 123", "lot"),
        (GTIN, date(2026, 3, 15), "X" * 21, "lot"),
    ],
)
def test_gs1_encoding_refuses(gtin, expiry, lot, field):
    for encode in (gs1_element_string, gs1_human_readable):
        with pytest.raises(DomainError) as info:
            encode(gtin, expiry, lot)
        assert info.value.field == field


@pytest.mark.parametrize(
    ("expiry", "lot"),
    [(date(2026, 3, 15), "LOT123"), (date(2030, 12, 31), "CY261201-01"), (date(2028, 2, 29), "A")],
)
def test_encoded_label_scans_back(expiry, lot):
    expected = Gs1Scan(GTIN, expiry, lot)

    assert parse_scan("]C1" + gs1_element_string(GTIN, expiry, lot)) == expected
    assert parse_scan(gs1_human_readable(GTIN, expiry, lot)) == expected


# --- prescription payloads -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rx", "fill", "payload"),
    [
        ("1000123", 0, "RX1000123-0"),
        (1000123, 2, "RX1000123-2"),
        ("2026-000045", 11, "RX2026-000045-11"),
    ],
)
def test_rx_payload_scans_back(rx, fill, payload):
    assert rx_payload(rx, fill) == payload
    assert parse_scan(payload) == RxScan(str(rx), fill)


@pytest.mark.parametrize(
    ("rx", "fill", "field"),
    [
        ("", 1, "rx_number"),
        ("rx12", 1, "rx_number"),
        ("-12", 1, "rx_number"),
        ("12 3", 1, "rx_number"),
        (True, 1, "rx_number"),
        ("123", -1, "fill_number"),
        ("123", True, "fill_number"),
        ("123", "1", "fill_number"),
    ],
)
def test_rx_payload_refuses(rx, fill, field):
    with pytest.raises(DomainError) as info:
        rx_payload(rx, fill)
    assert info.value.field == field


# --- the scanner input parser ----------------------------------------------------------------

ELEMENTS = "0109501101530003" + "17260315" + "10LOT123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # domain.md seed 10, with and without the AIM identifier
        ("]C1010950110153000317260315" + "10LOT123", SEED_10),
        (ELEMENTS, SEED_10),
        # GS separators: after the lot, after predefined-length fields, leading FNC1 as GS
        ("]C1" + ELEMENTS + GS, SEED_10),
        ("]C1" + "0109501101530003" + GS + "17260315" + GS + "10LOT123", SEED_10),
        (GS + ELEMENTS, SEED_10),
        # lot before the expiry, separated by GS; any order when separated
        ("]C1" + "0109501101530003" + "10LOT123" + GS + "17260315", SEED_10),
        ("10LOT123" + GS + "17260315" + "0109501101530003", SEED_10),
        ("]C1" + "17260315" + "10LOT123" + GS + "0109501101530003", SEED_10),
        # parenthesised human-readable form, with or without ]C1, tolerating spaces
        ("(01)09501101530003(17)260315(10)LOT123", SEED_10),
        ("]C1(01)09501101530003(17)260315(10)LOT123", SEED_10),
        ("(10)LOT123(01)09501101530003(17)260315", SEED_10),
        ("(01) 09501101530003 (17) 260315 (10) LOT123", SEED_10),
        # surrounding whitespace, CR and LF from the scanner's suffix
        ("  ]C1" + ELEMENTS + "\r\n", SEED_10),
        ("\t" + ELEMENTS + "\n", SEED_10),
        # day 00 = the month's last day (domain.md 5.1, seed 9)
        ("(01)09501101530003(17)260300(10)LOT123", Gs1Scan(GTIN, date(2026, 3, 31), "LOT123")),
        ("]C1" + "0109501101530003" + "17280200" + "10A", Gs1Scan(GTIN, date(2028, 2, 29), "A")),
        # lots keep their case and any CSET 82 character
        (
            "]C1" + "0109501101530003" + "17260315" + "10lot/1.a",
            Gs1Scan(GTIN, date(2026, 3, 15), "lot/1.a"),
        ),
        (
            "]C1" + "0109501101530003" + "17260315" + "10" + "X" * 20,
            Gs1Scan(GTIN, date(2026, 3, 15), "X" * 20),
        ),
        # plain Code 128: our prescription and batch lot barcodes
        ("RX1000123-2", RxScan("1000123", 2)),
        ("]C0RX1000123-2", RxScan("1000123", 2)),
        ("rx1000123-0\r\n", RxScan("1000123", 0)),  # caps lock on the keyboard wedge
        ("RX1000123-02", RxScan("1000123", 2)),
        ("RXRX-0001-3", RxScan("RX-0001", 3)),
        ("CY261201-01", LotScan("CY261201-01")),
        ("]C0CY261201-01", LotScan("CY261201-01")),
        (" cy261201-01 ", LotScan("CY261201-01")),
        ("10LOT123", LotScan("10LOT123")),  # plain Code 128 without GS1 markers is a lot
    ],
)
def test_parse_scan(text, expected):
    assert parse_scan(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # wrong GTIN check digit, with and without ]C1, raw and parenthesised
        ("]C1010950110153000417260315" + "10LOT123", "check digit"),
        ("010950110153000417260315" + "10LOT123", "check digit"),
        ("(01)09501101530004(17)260315(10)LOT123", "check digit"),
        # lot outside CSET 82 or over 20 characters (domain.md seed 9)
        ("]C1010950110153000317260315" + "10ABC 123", "space"),
        ("(01)09501101530003(17)260315(10)ABC 123", "space"),
        ("]C1010950110153000317260315" + "10" + "X" * 21, "at most 20"),
        ("(01)09501101530003(17)260315(10)" + "X" * 21, "at most 20"),
        ("]C1010950110153000317260315" + "10LOT#1", "'#'"),
        # (10) / (17) without (01): GS1 allows them only with a GTIN
        ("]C110LOT123", "without a GTIN"),
        ("(10)LOT123", "without a GTIN"),
        ("(17)260315(10)LOT123", "without a GTIN"),
        ("]C117260315" + "10LOT123", "without a GTIN"),
        # a serial that is not ours, an unsupported AI
        ("]C1" + ELEMENTS + GS + "21SERIAL1", "not a vial serial"),
        ("(01)09501101530003(21)SERIAL1(17)260315(10)LOT123", "not a vial serial"),
        ("]C1" + "0209501101530003", "application identifier"),
        # malformed fields
        ("]C101123", "14 digits"),
        ("]C1" + "0109501101530003" + "1726031", "6 digits"),
        ("]C1" + "0109501101530003" + "17261315" + "10LOT123", "not a real date"),
        ("]C1" + "0109501101530003" + "17260230" + "10LOT123", "not a real date"),
        ("]C1" + "0109501101530003" + "10LOT123" + GS + "10LOT124", "twice"),
        # missing lot or expiry; lot before expiry without GS swallows the expiry
        ("]C1" + "0109501101530003" + "17260315", "no batch/lot"),
        ("]C1" + "0109501101530003" + "10LOT123", "no expiry"),
        ("]C1" + "0109501101530003" + "10LOT123" + "17260315", "no expiry"),
        # prescription look-alikes
        ("RX1000123", "RX<rx>-<fill>"),
        ("RX-1", "RX<rx>-<fill>"),
        ("RX1000123-", "RX<rx>-<fill>"),
        # garbage
        ("", "empty"),
        ("   \r\n", "empty"),
        (GS, "empty"),
        ("hello world", "not a barcode"),
        ("%%%", "not a barcode"),
        ("CY261201_01", "not a barcode"),
        ("A" * 21, "not a barcode"),
        ("]C1garbage", "application identifier"),
        ("(garbage", "Unreadable"),
        ("]Q3abc", "Symbology"),
        ("]d2" + ELEMENTS, "no serial (21)"),
    ],
)
def test_parse_scan_refuses(text, fragment):
    with pytest.raises(DomainError) as info:
        parse_scan(text)
    assert info.value.field == "scan"
    assert fragment in info.value.message


@pytest.mark.parametrize("value", [None, 123, b"RX1-1"])
def test_parse_scan_refuses_non_text(value):
    with pytest.raises(DomainError) as info:
        parse_scan(value)
    assert info.value.field == "scan"
