"""Barcode encoding: the python-barcode guards, GS1 element strings, scanning the patterns back.

The patterns are drawn straight onto a PIL image here (2 px modules, 10-module quiet zones) and
read with zxing-cpp, independently of the PDF renderer; test_labels_render.py decodes the
rendered labels.
"""

from __future__ import annotations

import pytest
import zxingcpp
from barcode.codex import Code128
from PIL import Image, ImageDraw

from labels import (
    CODE128,
    GS1_128,
    Barcode,
    BarcodeDataError,
    encode,
    gtin_check_digit,
    human_readable,
    module_pattern,
    parse_gs1,
)
from labels.barcode import _decode, _encode

GTIN = "09501101530003"

CODE128_PAYLOADS = [
    "RX100023-0",
    "CY261201-01",
    "RX99-1",
    "99A-1",  # leading 99: python-barcode 0.16.1 drops it (upstream issue 251)
    "99123456",  # all digits, leading 99
    "9912345",  # odd digit count, leading 99
    "99",
    "12345678",  # all digits
    "1234567",
    "9",
    "A",
    "RX1000234-12",
    "lot-lower 1",
]


def draw(pattern: str, module_px: int = 2, height: int = 60) -> Image.Image:
    """Return a grayscale image of a module pattern with 10-module quiet zones."""
    quiet = 10 * module_px
    image = Image.new("L", (len(pattern) * module_px + 2 * quiet, height + 20), 255)
    canvas = ImageDraw.Draw(image)
    for i, bit in enumerate(pattern):
        if bit == "1":
            x = quiet + i * module_px
            canvas.rectangle((x, 10, x + module_px - 1, 10 + height), fill=0)
    return image


def scan(pattern: str) -> zxingcpp.Result:
    """Return the only barcode zxing-cpp finds in the drawn pattern."""
    results = zxingcpp.read_barcodes(draw(pattern))
    assert len(results) == 1, f"expected one barcode, found {len(results)}"
    return results[0]


@pytest.mark.parametrize("payload", CODE128_PAYLOADS)
def test_code128_scans_back_to_exact_payload(payload: str) -> None:
    result = scan(module_pattern(Barcode.code128(payload)))
    assert result.text == payload
    assert result.symbology_identifier == "]C0"


@pytest.mark.parametrize("payload", CODE128_PAYLOADS)
def test_code128_pattern_decodes_to_payload_with_our_checker(payload: str) -> None:
    _, fnc1_first, text = _decode(module_pattern(Barcode.code128(payload)))
    assert (fnc1_first, text) == (False, payload)


def test_upstream_still_drops_a_leading_99() -> None:
    # If this starts failing, python-barcode fixed issue 251 and our guard can be reconsidered.
    _, _, upstream = _decode(Code128("99A-1").build()[0])
    assert upstream == "A-1"
    assert scan(module_pattern(Barcode.code128("99A-1"))).text == "99A-1"


def test_upstream_build_twice_differs_but_encode_is_stable() -> None:
    # "12A" starts in code set C and ends in B; the second build starts in B and differs.
    upstream = Code128("12A")
    first_build = upstream.build()
    assert upstream.build() != first_build
    encoded = encode(Barcode.code128("12A"))
    assert encoded.pattern == first_build[0]
    _encode.cache_clear()  # a fresh encoding, not the cached one, must match too
    assert module_pattern(Barcode.code128("12A")) == encoded.pattern
    assert scan(encoded.pattern).text == "12A"


def test_leading_99_starts_in_code_set_c_and_keeps_the_pair() -> None:
    symbols = encode(Barcode.code128("99A-1")).symbols
    assert symbols[:2] == (("C", 105), ("C", 99))


def test_single_digit_starts_in_code_set_b() -> None:
    # A lone digit gains nothing from set C; the START C + CODE B fold must still happen.
    assert encode(Barcode.code128("9")).symbols == (("B", 104), ("B", 25))


def test_bars_merge_runs_and_cover_the_pattern() -> None:
    encoded = encode(Barcode.code128("RX100023-0"))
    rebuilt = ["0"] * encoded.modules
    for first, width in encoded.bars:
        rebuilt[first : first + width] = "1" * width
    assert "".join(rebuilt) == encoded.pattern
    assert all(
        encoded.pattern[first + width : first + width + 1] in ("0", "")
        for first, width in encoded.bars
    )


@pytest.mark.parametrize(
    "lot",
    ["CY261201-01", "99A-1", "261201", "20261201", "A", "ABCDEFGHIJ0123456789"],
)
def test_gs1_128_scans_back_to_gtin_expiry_and_lot(lot: str) -> None:
    barcode = Barcode.gs1(GTIN, "270315", lot)
    result = scan(module_pattern(barcode))
    assert result.symbology_identifier == "]C1"
    assert result.text == f"(01){GTIN}(17)270315(10){lot}"
    scanned = result.symbology_identifier + result.bytes.decode("ascii")
    assert scanned == f"]C101{GTIN}17270315" + f"10{lot}"
    assert dict(parse_gs1(scanned.removeprefix("]C1"))) == {"01": GTIN, "17": "270315", "10": lot}


def test_gs1_variable_field_before_another_needs_a_gs_separator() -> None:
    data = f"01{GTIN}10AB12\x1d17270315"
    result = scan(module_pattern(Barcode(GS1_128, data)))
    assert result.bytes == f"01{GTIN}10AB12\x1d17270315".encode()
    assert human_readable(Barcode(GS1_128, data)) == f"(01){GTIN}(10)AB12(17)270315"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (f"01{GTIN[:-1]}417270315", "check digit"),
        ("17270315" + "10CY1", "only valid with a GTIN"),
        (f"01{GTIN}172703", "needs 6 digits"),
        (f"01{GTIN}10AB 12", "GS1 characters"),
        (f"01{GTIN}10" + "A" * 21, "GS1 characters"),
        (f"01{GTIN}99XYZ", "unsupported"),
        ("", "empty"),
    ],
)
def test_bad_gs1_element_strings_are_refused(data: str, reason: str) -> None:
    with pytest.raises(BarcodeDataError, match=reason):
        encode(Barcode(GS1_128, data))


@pytest.mark.parametrize("data", ["", "RX\u00e91", "RX\n1"])
def test_bad_code128_data_is_refused(data: str) -> None:
    with pytest.raises(BarcodeDataError):
        encode(Barcode(CODE128, data))


def test_gs1_constructor_checks_the_gtin_and_formats_dates() -> None:
    from datetime import date

    barcode = Barcode.gs1(GTIN, date(2027, 3, 15), "CY261201-01")
    assert barcode.data == f"01{GTIN}1727031510CY261201-01"
    assert barcode.text == f"(01){GTIN}(17)270315(10)CY261201-01"
    with pytest.raises(BarcodeDataError, match="check digit"):
        Barcode.gs1("09501101530004", "270315", "X")
    with pytest.raises(BarcodeDataError, match="14 digits"):
        Barcode.gs1("9501101530003", "270315", "X")


@pytest.mark.parametrize(
    ("body", "digit"), [("0950110153000", 3), ("0952123454321", 3), ("0000000000000", 0)]
)
def test_gtin_check_digit(body: str, digit: int) -> None:
    assert gtin_check_digit(body) == digit


def test_human_readable_defaults() -> None:
    assert human_readable(Barcode(CODE128, "RX1-0")) == "RX1-0"
    assert human_readable(Barcode(GS1_128, f"01{GTIN}17270300")) == f"(01){GTIN}(17)270300"
    assert human_readable(Barcode(CODE128, "RX1-0", "Rx 1 fill 0")) == "Rx 1 fill 0"
