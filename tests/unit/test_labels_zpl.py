"""ZPL II output: one format per label, sizes and positions in dots at 203 and 300 dpi,
``^BC`` field data that encodes exactly the symbol the PDF draws, escaping."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from barcode.charsets import code128 as charset

from labels import (
    Barcode,
    BatchLabel,
    LabelError,
    LabelOverflow,
    PrescriptionLabel,
    Stock,
    VialLabel,
    ZplError,
    module_pattern,
    render_zpl,
)

GTIN = "09501101530003"


def rx_label(**changes: object) -> PrescriptionLabel:
    """Return a complete prescription label."""
    label = PrescriptionLabel(
        pharmacy_name="Riverside Compounding Pharmacy",
        pharmacy_address="120 Main Street, Springfield, IL 62701",
        pharmacy_phone="(217) 555-0142",
        rx_number="100023",
        fill_number=0,
        date_dispensed="2026-12-01",
        patient_name="Margaret A. Thompson",
        prescriber="Alan Reyes, MD",
        drug_strength="Cyanocobalamin 1,000 mcg/mL",
        dosage_form_route="Injection, for intramuscular use",
        quantity="3 x 10 mL multiple-dose vials",
        directions=(
            "Inject 1 mL (1,000 mcg) intramuscularly once daily for 7 doses, then once weekly "
            "for 4 doses, then once monthly."
        ),
        refills_left=2,
        bud="2027-03-15",
        batch_lots=("CY261201-01",),
        storage=("Refrigerate 2-8 °C", "Protect from light"),
        pharmacist_initials="JK",
        barcode=Barcode.code128("RX100023-0"),
    )
    return replace(label, **changes)


def vial_label(**changes: object) -> VialLabel:
    """Return a complete fill vial label (GS1 DataMatrix)."""
    label = VialLabel(
        drug_strength="Cyanocobalamin 1,000 mcg/mL",
        volume="10 mL",
        container_statement="Multiple-dose vial - discard 28 days after first puncture",
        route="For intramuscular use",
        lot="CY261201-01",
        bud="2027-03-15",
        storage=("Refrigerate 2-8 °C", "Protect from light"),
        pharmacy_name="Riverside Compounding Pharmacy",
        pharmacy_phone="(217) 555-0142",
        barcode=Barcode.gs1_datamatrix(GTIN, "270315", "CY261201-01", 3),
        serial=3,
        patient_name="Margaret A. Thompson",
        rx_reference="Rx 100023-0",
    )
    return replace(label, **changes)


def batch_label(**changes: object) -> BatchLabel:
    """Return a complete batch label."""
    label = BatchLabel(
        formulation="Cyanocobalamin 1,000 mcg/mL, 10 mL multiple-dose vial",
        lot="CY261201-01",
        vials=40,
        compounded_at="2026-12-01 09:30",
        bud="2027-03-15 09:30",
        status="RELEASED",
        barcode=Barcode.code128("CY261201-01"),
        storage=("Refrigerate 2-8 °C",),
    )
    return replace(label, **changes)


FORMAT = re.compile(r"\^XA\n(.*?)\^XZ\n", re.DOTALL)


def formats(zpl: str) -> list[str]:
    """Split ZPL into label formats, checking nothing lies outside them."""
    found = FORMAT.findall(zpl)
    assert FORMAT.sub("", zpl) == ""
    return found


def command(fmt: str, name: str) -> str:
    """Return the argument of the only ``^<name>`` command in a format."""
    values = re.findall(rf"\^{name}([^\^\n]*)", fmt)
    assert len(values) == 1, (name, values)
    return values[0]


def field(fmt: str, data: str) -> str:
    """Return the whole field (from ^FO to ^FS) whose data contains ``data``."""
    for line in fmt.splitlines():
        if line.startswith("^FO") and data in line:
            return line
    raise AssertionError(f"no field with {data!r}")


def origin(line: str) -> tuple[int, int]:
    """Return the ``^FO`` x, y of a field line."""
    x, y = re.match(r"\^FO(\d+),(\d+)", line).groups()
    return int(x), int(y)


def barcode_field(fmt: str) -> str:
    """Return the barcode field line."""
    (line,) = [line for line in fmt.splitlines() if "^BC" in line]
    return line


def zpl_symbols_to_pattern(data: str) -> str:
    """Interpret ^BC "no mode" field data as a printer would and return the module pattern.

    Supports what the renderer emits: start codes >9 >: >;, switches >5 >6 >7, FNC1 >8, digit
    pairs in set C and plain characters in sets A and B.
    """
    starts = {">9": ("A", 103), ">:": ("B", 104), ">;": ("C", 105)}
    values: list[int] = []
    code_set, first = starts[data[:2]]
    values.append(first)
    i = 2
    while i < len(data):
        token = data[i : i + 2]
        if token[0] == ">":
            value = {">5": 99, ">6": 100, ">7": 101, ">8": 102}[token]
            values.append(value)
            if value != 102:
                code_set = {99: "C", 100: "B", 101: "A"}[value]
            i += 2
        elif code_set == "C":
            values.append(int(token))
            i += 2
        else:
            values.append(ord(data[i]) - 32)
            i += 1
    check = (values[0] + sum(n * v for n, v in enumerate(values[1:], start=1))) % 103
    return "".join(charset.CODES[v] for v in [*values, check]) + charset.STOP + "11"


def test_one_format_per_label_in_order() -> None:
    labels = [rx_label(), vial_label(), batch_label(), vial_label(lot="CY2")]
    found = formats(render_zpl(labels, 203))
    assert len(found) == 4
    assert "Margaret A. Thompson" in found[0]
    assert "^FDLot CY2^FS" in found[3]


@pytest.mark.parametrize(
    ("label", "dpi", "pw", "ll"),
    [
        (rx_label(), 203, 812, 406),
        (rx_label(), 300, 1200, 600),
        (vial_label(), 203, 457, 254),  # 2.25 x 1.25 in
        (vial_label(), 300, 675, 375),
        (batch_label(), 203, 812, 406),
    ],
)
def test_print_width_and_length_in_dots(label, dpi: int, pw: int, ll: int) -> None:
    (fmt,) = formats(render_zpl([label], dpi))
    assert command(fmt, "PW") == str(pw)
    assert command(fmt, "LL") == str(ll)


def test_requested_stock_sets_print_width() -> None:
    (fmt,) = formats(render_zpl([rx_label()], 203, Stock(4, 3)))
    assert (command(fmt, "PW"), command(fmt, "LL")) == ("812", "609")


def test_positions_and_font_sizes_scale_with_dpi() -> None:
    lo, hi = formats(render_zpl([rx_label()], 203))[0], formats(render_zpl([rx_label()], 300))[0]
    for data in ("Margaret A. Thompson", "Use by (BUD) 2027-03-15", "Refills left: 2"):
        (x1, y1), (x2, y2) = origin(field(lo, data)), origin(field(hi, data))
        assert abs(x2 - x1 * 300 / 203) <= 1.5 and abs(y2 - y1 * 300 / 203) <= 1.5, data
        h1 = int(re.search(r"\^A0N,(\d+)", field(lo, data)).group(1))
        h2 = int(re.search(r"\^A0N,(\d+)", field(hi, data)).group(1))
        assert abs(h2 - h1 * 300 / 203) <= 1.5
        w1 = int(re.search(r"\^FB(\d+)", field(lo, data)).group(1))
        w2 = int(re.search(r"\^FB(\d+)", field(hi, data)).group(1))
        assert abs(w2 - w1 * 300 / 203) <= 1.5


@pytest.mark.parametrize(
    ("label", "dpi", "module"),
    [
        (rx_label(), 203, 2),
        (rx_label(), 300, 3),
        (batch_label(barcode=Barcode.gs1(GTIN, "270315", "CY261201-01")), 203, 2),
        (batch_label(barcode=Barcode.gs1(GTIN, "270315", "CY261201-01")), 300, 3),
        (batch_label(), 203, 4),  # Code 128 of the lot alone: wider modules fit
    ],
)
def test_module_width_in_whole_dots(label, dpi: int, module: int) -> None:
    line = barcode_field(formats(render_zpl([label], dpi))[0])
    assert re.search(rf"\^BY{module},", line)
    assert "^BCN," in line and ",N,N,N,N^FD" in line  # no printer interpretation line


def test_gs1_128_uses_bc_with_fnc1() -> None:
    label = batch_label(barcode=Barcode.gs1(GTIN, "270315", "CY261201-01"))
    line = barcode_field(formats(render_zpl([label], 203))[0])
    data = re.search(r"\^FD(.*)\^FS", line).group(1)
    assert data.startswith(">;>8")  # start in set C, FNC1 first: GS1-128
    assert data == ">;>801095011015300031727031510>6CY>5261201>6-01"
    assert ">8" not in data[4:]  # lot last: no separator needed


def test_gs1_variable_field_then_fixed_gets_an_fnc1_separator() -> None:
    barcode = Barcode("gs1-128", f"01{GTIN}10AB12\x1d17270315")
    line = barcode_field(formats(render_zpl([batch_label(barcode=barcode)], 203))[0])
    data = re.search(r"\^FD(.*)\^FS", line).group(1)
    assert data.count(">8") == 2


@pytest.mark.parametrize(
    "barcode",
    [
        Barcode.code128("RX100023-0"),
        Barcode.code128("99A-1"),
        Barcode.code128("99123456"),
        Barcode.code128("RX99-1"),
        Barcode.gs1(GTIN, "270315", "CY261201-01"),
        Barcode.gs1(GTIN, "270315", "99A-1"),
        Barcode.gs1(GTIN, "270315", "261201"),
    ],
    ids=lambda b: b.data,
)
def test_zpl_barcode_is_the_same_symbol_as_the_pdf(barcode: Barcode) -> None:
    line = barcode_field(formats(render_zpl([batch_label(barcode=barcode)], 300))[0])
    data = re.search(r"\^FD(.*)\^FS", line).group(1)
    assert zpl_symbols_to_pattern(data) == module_pattern(barcode)


def test_leading_99_is_kept_in_zpl() -> None:
    label = rx_label(barcode=Barcode.code128("99A-1"))
    line = barcode_field(formats(render_zpl([label], 203))[0])
    assert "^FD>;99>6A-1^FS" in line


def test_human_readable_line_is_printed_under_the_bars() -> None:
    label = batch_label(barcode=Barcode.gs1(GTIN, "270315", "CY261201-01"))
    (fmt,) = formats(render_zpl([label], 203))
    bars = barcode_field(fmt)
    text = field(fmt, f"(01){GTIN}(17)270315(10)CY261201-01")
    assert origin(text)[1] > origin(bars)[1]


def test_wrapped_directions_use_field_block_with_line_breaks() -> None:
    (fmt,) = formats(render_zpl([rx_label()], 203))
    line = field(fmt, "Inject 1 mL")
    lines = int(re.search(r"\^FB\d+,(\d+),", line).group(1))
    assert lines == 2
    assert line.count("\\&") == 1
    assert "then once monthly.^FS" in line


def test_command_prefixes_in_text_are_hex_escaped() -> None:
    (fmt,) = formats(render_zpl([rx_label(patient_name="Ann^Lee~Smith_Jones\\Jr")], 203))
    line = field(fmt, "Ann")
    data = re.search(r"\^FH_\^FD(.*)\^FS$", line).group(1)
    assert data == "Ann_5ELee_7ESmith_5FJones\\\\Jr"
    assert "^" not in data and "~" not in data


@pytest.mark.parametrize("payload", ["RX^1", "RX~1", "RX>1"])
def test_command_prefixes_in_barcode_data_are_refused(payload: str) -> None:
    with pytest.raises(ZplError) as caught:
        render_zpl([rx_label(barcode=Barcode.code128(payload))], 203)
    assert caught.value.field == "barcode"


def test_utf8_and_formats_are_declared() -> None:
    (fmt,) = formats(render_zpl([rx_label(patient_name="Zoë Müller")], 203))
    assert "^CI28" in fmt and "Zoë Müller" in fmt


def test_refusals_match_the_pdf_renderer() -> None:
    with pytest.raises(LabelError, match="dpi"):
        render_zpl([rx_label()], 600)
    with pytest.raises(LabelError) as caught:
        render_zpl([rx_label(patient_name="")], 203)
    assert caught.value.field == "patient_name"
    with pytest.raises(LabelOverflow) as overflow:
        render_zpl([rx_label(directions="Inject 1 mL once daily. " * 40)], 300)
    assert overflow.value.element == "directions"


def test_output_is_stable() -> None:
    labels = [rx_label(), vial_label(), batch_label()]
    assert render_zpl(labels, 300) == render_zpl(labels, 300)
