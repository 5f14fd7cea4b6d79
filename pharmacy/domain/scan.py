"""GS1 identifiers, barcode payloads and the scanner input parser (SPEC 2.8).

Barcodes this pharmacy prints:

* prescription label: Code 128 of ``RX<rx_number>-<fill_number>``;
* vial and batch labels: GS1-128 ``(01)<GTIN>(17)<YYMMDD>(10)<lot>`` when the formulation
  has a GTIN, else Code 128 of the batch lot number.

GS1 facts (domain.md 5.1-5.2, from the GS1 Syntax Dictionary and the GS1 General
Specifications): (01) GTIN is 14 digits with a mod-10 check digit; (17) expiry is YYMMDD
and day ``00`` means the month's last day; (10) batch/lot is 1-20 characters of CSET 82;
(10) and (17) are valid only together with (01). (01) and (17) have predefined lengths and
need no FNC1 separator; (10) is variable, so it goes last or is followed by FNC1, which a
scanner sends as GS (0x1D). Scanners announce GS1-128 with the AIM identifier ``]C1`` and
plain Code 128 with ``]C0``, when that option is on.

Version 2 (SPEC 6.2): every vial label carries a DataMatrix of its serial. With a GTIN it is a
GS1 DataMatrix of ``(01)<GTIN>(17)<BUD YYMMDD>(10)<lot>(21)<serial>``, which a 2D scanner
announces as ``]d2``; without one, a plain DataMatrix (``]d1``) of ``<lot>/<serial>``. (21)
serial is variable-length like (10), so a GS separates the lot from it; some keyboard wedges
drop the GS, and the lot and the serial then run together (``10CY261201-01217``). The parser
splits them at a ``21`` followed by digits only; when several splits are possible it takes the
one whose lot the caller knows (``known_lots``), and otherwise says the scan is ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from labels import gs1
from labels.gs1 import CSET82, GS, gtin_check_digit, is_valid_gtin
from pharmacy.domain.errors import DomainError
from pharmacy.domain.lots import month_end, validate_batch_lot

AI_GTIN = "01"
AI_EXPIRY = "17"
AI_LOT = "10"
AI_SERIAL = "21"
MAX_GS1_LOT_LENGTH = gs1.VARIABLE_MAX_LENGTH["10"]
MAX_SERIAL = 999_999
"""The largest vial serial a scan may carry (no batch is that large; bounds the int)."""

# The predefined-length AIs a scan may carry: no separator needed after them.
_FIXED_LENGTH = {ai: gs1.FIXED_LENGTH[ai] for ai in (AI_GTIN, AI_EXPIRY)}
_AI_NAMES = {
    AI_GTIN: "GTIN",
    AI_EXPIRY: "expiry date",
    AI_LOT: "batch/lot",
    AI_SERIAL: "serial",
}
_VARIABLE = (AI_LOT, AI_SERIAL)
_DIGITS = re.compile(r"[0-9]+")
_PAREN_AI = re.compile(r"\(([0-9]{2,4})\)")
_RX = re.compile(r"RX([A-Z0-9][A-Z0-9-]*)-([0-9]+)")
_RX_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9-]*")
# A plain scan that opens like "(01) + 14 digits" is read as GS1 sent without its AIM
# identifier; no lot this pharmacy makes starts that way (lots start with a letter prefix).
_LOOKS_GS1 = re.compile(r"01[0-9]{14}")
_LOT_SERIAL = re.compile(r"([A-Z0-9][A-Z0-9-]{0,19})/([0-9]+)")


@dataclass(frozen=True)
class RxScan:
    """A prescription-label barcode: ``RX<rx_number>-<fill_number>``."""

    rx_number: str
    fill_number: int


@dataclass(frozen=True)
class Gs1Scan:
    """A GS1-128 vial or batch label: GTIN, expiry (the BUD date) and lot."""

    gtin: str
    expiry: date
    lot: str


@dataclass(frozen=True)
class LotScan:
    """A plain Code 128 batch lot number."""

    lot: str


@dataclass(frozen=True)
class VialScan:
    """A vial label's DataMatrix: lot and serial, with GTIN and BUD when it is GS1 (SPEC 6.2)."""

    lot: str
    serial: int
    gtin: str | None = None
    expiry: date | None = None

    @property
    def name(self) -> str:
        """Return the vial as the pharmacist reads it: ``<lot>/<serial>``."""
        return f"{self.lot}/{self.serial}"


Scan = RxScan | Gs1Scan | LotScan | VialScan


def check_gs1_lot(lot: str) -> str:
    """Check a GS1 (10) batch/lot: 1-20 characters of GS1 CSET 82; return it.

    :raise DomainError: field ``lot``, with what is wrong.
    """
    problem = _lot_problem(lot)
    if problem:
        raise DomainError("lot", problem)
    return lot


def gs1_element_string(gtin: str, expiry: date, lot: str) -> str:
    """Return the GS1-128 data for python-barcode: ``01<gtin>17<YYMMDD>10<lot>``.

    No parentheses and no separators: the predefined-length AIs come first and the
    variable-length lot last, so no FNC1 is needed between fields (python-barcode adds the
    leading FNC1 itself).

    :param expiry: the date to encode in (17); for a vial label, the BUD's local date.
    :raise DomainError: an invalid GTIN (field ``gtin``), an expiry outside 2000-2099
        (field ``expiry``) or an invalid lot (field ``lot``).
    """
    return "".join(f"{ai}{value}" for ai, value in _gs1_fields(gtin, expiry, lot))


def gs1_human_readable(gtin: str, expiry: date, lot: str) -> str:
    """Return the human-readable GS1 text: ``(01)<gtin>(17)<YYMMDD>(10)<lot>``.

    :raise DomainError: as :func:`gs1_element_string`.
    """
    return "".join(f"({ai}){value}" for ai, value in _gs1_fields(gtin, expiry, lot))


def rx_payload(rx_number: str | int, fill_number: int) -> str:
    """Return the prescription-label Code 128 payload ``RX<rx_number>-<fill_number>``.

    :raise DomainError: the Rx number is not capitals, digits and '-' starting with a
        letter or digit (field ``rx_number``), or the fill number is negative or not whole
        (field ``fill_number``).
    """
    rx = str(rx_number)
    if isinstance(rx_number, bool) or not _RX_NUMBER.fullmatch(rx):
        raise DomainError("rx_number", f"{rx!r} cannot go in a prescription barcode.")
    if isinstance(fill_number, bool) or not isinstance(fill_number, int) or fill_number < 0:
        raise DomainError("fill_number", "The fill number is a whole number from 0.")
    return f"RX{rx}-{fill_number}"


def parse_scan(text: str, known_lots: Collection[str] = ()) -> Scan:
    """Read what a barcode scanner typed into a field into a prescription, GS1, lot or vial scan.

    Accepted: an optional AIM identifier (``]C1`` for GS1-128, ``]C0`` for plain Code 128,
    ``]d2`` for GS1 DataMatrix, ``]d1`` for plain DataMatrix), GS separators or none, the
    parenthesised human-readable GS1 form, GS1 fields in any order when a GS ends each
    variable-length field, the plain vial form ``<lot>/<serial>``, and surrounding spaces,
    tabs, CR and LF. Plain text is upper-cased before reading (a keyboard wedge with caps
    lock on inverts case, and our Rx and lot payloads use capitals only). GS1 data with a
    serial (21) is a :class:`VialScan`.

    :param known_lots: lot numbers that may appear, to split a lot and a serial that a
        scanner sent without the GS between them.
    :raise DomainError: field ``scan``, saying why the input is not one of our barcodes.
    """
    if not isinstance(text, str):
        raise DomainError("scan", "The scan is empty.")
    data = text.strip(" \t\r\n")
    if not data.strip(GS):
        raise DomainError("scan", "The scan is empty.")
    known = frozenset(lot.upper() for lot in known_lots)
    if data.startswith("]"):
        identifier, rest = data[:3], data[3:]
        if identifier == "]C1":
            return _parse_gs1(rest, known)
        if identifier == "]C0":
            return _parse_plain(rest)
        if identifier == "]d2":
            scan = _parse_gs1(rest, known)
            if not isinstance(scan, VialScan):
                raise DomainError(
                    "scan",
                    "The GS1 DataMatrix has no serial (21): the scan is cut short, or it is not"
                    " one of this pharmacy's vial labels.",
                )
            return scan
        if identifier == "]d1":
            return _parse_plain(rest)
        raise DomainError(
            "scan",
            f"Symbology {identifier!r} is not one this pharmacy prints (Code 128, DataMatrix).",
        )
    if data.startswith((GS, "(")) or GS in data or _LOOKS_GS1.match(data):
        # A leading GS is an FNC1 in first position sent without the AIM identifier.
        return _parse_gs1(data, known)
    return _parse_plain(data)


def vial_payload(gtin: str | None, bud: date, lot: str, serial: int) -> tuple[str, str]:
    """Return a vial label's DataMatrix as ``(symbology, data)`` (SPEC 6.2).

    With a GTIN: ``("gs1-datamatrix", "(01)<gtin>(17)<YYMMDD>(10)<lot>(21)<serial>")``, in
    the parenthesised form the encoder takes; without: ``("datamatrix", "<lot>/<serial>")``.

    :param bud: the batch BUD's local date, encoded in (17).
    :raise DomainError: an invalid GTIN, BUD or lot (as :func:`gs1_element_string`), or a
        serial below 1 (field ``serial``).
    """
    if isinstance(serial, bool) or not isinstance(serial, int) or not 1 <= serial <= MAX_SERIAL:
        raise DomainError("serial", f"A vial serial is a whole number from 1, not {serial!r}.")
    if gtin:
        return "gs1-datamatrix", f"{gs1_human_readable(gtin, bud, lot)}({AI_SERIAL}){serial}"
    return "datamatrix", f"{validate_batch_lot(lot, field='lot')}/{serial}"


def _gs1_fields(gtin: str, expiry: date, lot: str) -> tuple[tuple[str, str], ...]:
    """Check the three label values and return them as (AI, data) in encoding order."""
    if not is_valid_gtin(gtin):
        raise DomainError("gtin", f"{gtin!r} is not a GTIN-14 with a valid check digit.")
    if not isinstance(expiry, date) or not 2000 <= expiry.year <= 2099:
        raise DomainError("expiry", "The expiry must be a date in 2000-2099 (GS1 YYMMDD).")
    check_gs1_lot(lot)
    return ((AI_GTIN, gtin), (AI_EXPIRY, f"{expiry:%y%m%d}"), (AI_LOT, lot))


def _lot_problem(lot: object) -> str | None:
    """Say what makes ``lot`` an invalid GS1 (10) value, or None when it is valid."""
    if not isinstance(lot, str) or not lot:
        return "The batch/lot (10) is empty."
    if len(lot) > MAX_GS1_LOT_LENGTH:
        return f"The batch/lot (10) has {len(lot)} characters; GS1 allows at most 20."
    bad = sorted({char for char in lot if char not in CSET82})
    if bad:
        shown = ", ".join("space" if char == " " else repr(char) for char in bad)
        return f"The batch/lot (10) {lot!r} has characters GS1 does not allow: {shown}."
    return None


def _parse_gs1(data: str, known: frozenset[str] = frozenset()) -> Gs1Scan | VialScan:
    """Read GS1 data (element string or parenthesised) into a Gs1Scan, or a VialScan with (21)."""
    data = data.strip(GS)
    fields = (
        _split_parenthesised(data) if data.startswith("(") else _split_element_string(data, known)
    )
    if AI_GTIN not in fields:
        present = ", ".join(f"({ai})" for ai in fields)
        raise DomainError(
            "scan",
            f"GS1 data without a GTIN (01): {present or 'nothing'} is only valid with a GTIN.",
        )
    gtin = fields[AI_GTIN]
    if not is_valid_gtin(gtin):
        raise DomainError(
            "scan", f"The GTIN {gtin} has a wrong check digit (expected {_expected(gtin)})."
        )
    if AI_LOT not in fields:
        raise DomainError("scan", "The GS1 barcode has no batch/lot (10).")
    if AI_EXPIRY not in fields:
        raise DomainError(
            "scan",
            "The GS1 barcode has no expiry date (17). If the lot came before the expiry, the "
            "scanner must send a GS separator after the lot.",
        )
    problem = _lot_problem(fields[AI_LOT])
    if problem:
        raise DomainError("scan", problem)
    expiry = _parse_yymmdd(fields[AI_EXPIRY])
    if AI_SERIAL in fields:
        serial = _serial(fields[AI_SERIAL])
        return VialScan(lot=fields[AI_LOT], serial=serial, gtin=gtin, expiry=expiry)
    return Gs1Scan(gtin=gtin, expiry=expiry, lot=fields[AI_LOT])


def _serial(value: str) -> int:
    """Read a vial serial: digits, 1..MAX_SERIAL."""
    if not value:
        raise DomainError("scan", "The serial (21) is empty: the scan is cut short.")
    if not _DIGITS.fullmatch(value):
        raise DomainError(
            "scan", f"The serial (21) {value!r} is not a vial serial of this pharmacy (digits)."
        )
    serial = int(value) if len(value) <= 7 else MAX_SERIAL + 1
    if not 1 <= serial <= MAX_SERIAL:
        raise DomainError("scan", f"The serial {value} is not a vial serial (1 to {MAX_SERIAL}).")
    return serial


def _split_element_string(data: str, known: frozenset[str] = frozenset()) -> dict[str, str]:
    """Split ``01...17...10...21...`` (GS after a variable-length field, or none) into fields."""
    fields: dict[str, str] = {}
    position = 0
    while position < len(data):
        if data[position] == GS:
            position += 1  # also tolerated after a predefined-length field
            continue
        ai = data[position : position + 2]
        if len(ai) < 2:
            raise DomainError(
                "scan", "The GS1 data ends inside an application identifier: it is cut short."
            )
        start = position + 2
        if ai in _FIXED_LENGTH:
            end = start + _FIXED_LENGTH[ai]
            value = data[start:end]
            if len(value) != _FIXED_LENGTH[ai] or not _DIGITS.fullmatch(value):
                cut = " (the scan is cut short)" if end > len(data) else ""
                raise DomainError(
                    "scan",
                    f"GS1 ({ai}) {_AI_NAMES[ai]} needs {_FIXED_LENGTH[ai]} digits, got"
                    f" {value!r}{cut}.",
                )
        elif ai in _VARIABLE:
            end = data.find(GS, start)
            end = len(data) if end == -1 else end
            value = data[start:end]
            if ai == AI_LOT and end == len(data) and AI_SERIAL not in fields:
                lot, serial = _split_lot_serial(value, known)
                if serial is not None:
                    _store(fields, AI_LOT, lot)
                    _store(fields, AI_SERIAL, serial)
                    position = end
                    continue
        else:
            raise DomainError("scan", _unknown_ai_message(data[position : position + 4]))
        _store(fields, ai, value)
        position = end
    return fields


def _split_lot_serial(value: str, known: frozenset[str]) -> tuple[str, str | None]:
    """Split a lot that ran into a serial without GS (``CY261201-01217``), if it did.

    A split point is a ``21`` followed by digits only, with a lot of 1-20 characters before
    it. No split point: the whole value is the lot. One: take it, unless the whole value is a
    known lot. Several: take the one whose lot is known; otherwise refuse the scan.
    """
    splits = [
        (value[:i], value[i + 2 :])
        for i in range(1, min(len(value) - 2, MAX_GS1_LOT_LENGTH) + 1)
        if value[i : i + 2] == AI_SERIAL and _DIGITS.fullmatch(value[i + 2 :])
    ]
    if not splits or value.upper() in known:
        return value, None
    if len(splits) == 1:
        return splits[0]
    matching = [split for split in splits if split[0].upper() in known]
    if len(matching) == 1:
        return matching[0]
    shown = " or ".join(f"{lot}/{serial}" for lot, serial in splits)
    raise DomainError(
        "scan",
        f"The scanner sent the lot and the serial without the GS between them, and the scan"
        f" reads as {shown}. Turn on GS (FNC1) transmission on the scanner, or scan again.",
    )


def _split_parenthesised(data: str) -> dict[str, str]:
    """Split the human-readable ``(01)...(17)...(10)...`` form into fields."""
    parts = _PAREN_AI.split(data)
    if parts[0].strip():
        raise DomainError("scan", "Unreadable GS1 text before the first (AI).")
    fields: dict[str, str] = {}
    for ai, raw in zip(parts[1::2], parts[2::2], strict=True):
        value = raw.strip(" " + GS)
        if ai not in _AI_NAMES:
            raise DomainError("scan", _unknown_ai_message(ai))
        if ai in _FIXED_LENGTH and not (
            len(value) == _FIXED_LENGTH[ai] and _DIGITS.fullmatch(value)
        ):
            raise DomainError(
                "scan",
                f"GS1 ({ai}) {_AI_NAMES[ai]} needs {_FIXED_LENGTH[ai]} digits, got {value!r}.",
            )
        _store(fields, ai, value)
    return fields


def _store(fields: dict[str, str], ai: str, value: str) -> None:
    """Add one field, refusing a repeated AI (its two values could disagree)."""
    if ai in fields:
        raise DomainError("scan", f"GS1 ({ai}) appears twice in the scan.")
    fields[ai] = value


def _unknown_ai_message(ai: str) -> str:
    """Describe an application identifier (or garbage) the parser does not read."""
    return (
        f"Unknown or unsupported GS1 application identifier at {ai!r}: only (01) GTIN, "
        "(17) expiry, (10) batch/lot and (21) serial are read."
    )


def _parse_yymmdd(value: str) -> date:
    """Read GS1 YYMMDD as a date in 2000-2099; day 00 means the month's last day.

    GS1 resolves the century with a window around the current year; the core takes no
    clock, and every date this system prints or reads is in 2000-2099.
    """
    year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:6])
    try:
        return month_end(year, month) if day == 0 else date(year, month, day)
    except ValueError:
        raise DomainError("scan", f"GS1 (17) {value} is not a real date (YYMMDD).") from None


def _expected(gtin: str) -> int:
    """Return the check digit a 14-digit GTIN should end with."""
    return gtin_check_digit(gtin[:13])


def _parse_plain(data: str) -> RxScan | LotScan | VialScan:
    """Read plain text: a prescription payload, a vial's ``<lot>/<serial>`` or a batch lot."""
    text = data.strip(GS).upper()
    if "/" in text:
        match = _LOT_SERIAL.fullmatch(text)
        if not match:
            raise DomainError(
                "scan", f"{data!r} is not a vial's <lot>/<serial> (e.g. CY261201-01/7)."
            )
        lot = validate_batch_lot(match.group(1), field="scan")
        return VialScan(lot=lot, serial=_serial(match.group(2)))
    if text.startswith("RX"):
        match = _RX.fullmatch(text)
        if not match:
            raise DomainError(
                "scan", f"{data!r} looks like a prescription barcode but is not RX<rx>-<fill>."
            )
        return RxScan(rx_number=match.group(1), fill_number=int(match.group(2)))
    try:
        return LotScan(validate_batch_lot(text, field="scan"))
    except DomainError:
        raise DomainError(
            "scan",
            f"{data!r} is not a barcode this pharmacy prints (prescription RX<rx>-<fill>, "
            "GS1 vial label or batch lot number).",
        ) from None
