"""Plain-value inputs of the label renderers, and their errors.

Everything here is a frozen dataclass of strings (mostly): the caller (``services/labels.py``)
formats dates, quantities and numbers the way the pharmacy wants them printed, so the renderers
never guess a format. Nothing here knows about Flask, the database or ``pharmacy``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from labels.gs1 import is_valid_gtin

MM_PER_INCH = 25.4

CODE128: Final = "code128"
GS1_128: Final = "gs1-128"
DATAMATRIX: Final = "datamatrix"
GS1_DATAMATRIX: Final = "gs1-datamatrix"
Symbology = Literal["code128", "gs1-128", "datamatrix", "gs1-datamatrix"]


class LabelError(ValueError):
    """Refuse to render a label: a required element is missing or unprintable.

    ``field`` names the offending element (a dataclass field name) so the caller can point at it.
    """

    def __init__(self, field: str, message: str) -> None:
        """Name the field at fault and say what is wrong with it."""
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class LabelOverflow(LabelError):
    """Refuse to render text or a barcode that does not fit its box even at the minimum size.

    Raised instead of truncating: a label that silently drops part of the directions or the
    patient name is a dispensing error.
    """

    def __init__(self, element: str, text: str, detail: str = "") -> None:
        """Name the element and quote the text that did not fit (``detail``: box and sizes)."""
        message = f"does not fit on the label: {text!r}"
        if detail:
            message = f"{message} ({detail})"
        super().__init__(element, message)
        self.element = element
        self.text = text


class BarcodeDataError(LabelError):
    """Refuse barcode data the symbology cannot carry (bad GS1 element string, bad characters)."""


@dataclass(frozen=True)
class Barcode:
    r"""Hold one barcode: the encoder input and the human-readable line printed under it.

    ``data`` for ``gs1-128`` is the element string without parentheses, fixed-length AIs first and
    a variable-length AI (the lot) last, e.g. ``0109501101530003`` ``17270315`` ``10CY261201-01``;
    an ASCII GS (``\x1d``) may end a variable-length AI that is not last. ``text`` defaults to
    ``data`` for Code 128 and to the parenthesised form for GS1-128.

    ``gs1-datamatrix`` (vial labels, SPEC 6.2) takes the parenthesised element string
    ``(01)<GTIN>(17)<YYMMDD>(10)<lot>(21)<serial>``; ``datamatrix`` takes ``<lot>/<serial>``.
    """

    symbology: Symbology
    data: str
    text: str = ""

    @classmethod
    def code128(cls, value: str) -> Barcode:
        """Return a plain Code 128 barcode of ``value`` (e.g. ``RX100023-0`` or a lot number)."""
        return cls(CODE128, value, value)

    @classmethod
    def gs1(cls, gtin: str, expiry: date | str, lot: str) -> Barcode:
        """Return a GS1-128 barcode of ``(01)gtin (17)expiry (10)lot``.

        :param expiry: a date, or ``YYMMDD`` already formatted (day ``00`` = end of month).
        :raise BarcodeDataError: the GTIN is not 14 digits or its check digit is wrong.
        """
        _check_gtin(gtin)
        yymmdd = expiry.strftime("%y%m%d") if isinstance(expiry, date) else expiry
        data = f"01{gtin}17{yymmdd}10{lot}"
        return cls(GS1_128, data, f"(01){gtin}(17){yymmdd}(10){lot}")

    @classmethod
    def gs1_datamatrix(cls, gtin: str, expiry: date | str, lot: str, serial: int | str) -> Barcode:
        """Return a vial's GS1 DataMatrix of ``(01)gtin (17)expiry (10)lot (21)serial``.

        :raise BarcodeDataError: the GTIN is not 14 digits or its check digit is wrong.
        """
        _check_gtin(gtin)
        yymmdd = expiry.strftime("%y%m%d") if isinstance(expiry, date) else expiry
        text = f"(01){gtin}(17){yymmdd}(10){lot}(21){serial}"
        return cls(GS1_DATAMATRIX, text, text)

    @classmethod
    def datamatrix(cls, lot: str, serial: int | str) -> Barcode:
        """Return a vial's plain DataMatrix of ``<lot>/<serial>`` (no GTIN on the formulation)."""
        text = f"{lot}/{serial}"
        return cls(DATAMATRIX, text, text)


def _check_gtin(gtin: str) -> None:
    """Refuse a GTIN-14 with a wrong length or check digit."""
    if not (len(gtin) == 14 and gtin.isdigit()):
        raise BarcodeDataError("barcode", f"GTIN must be 14 digits, got {gtin!r}")
    if not is_valid_gtin(gtin):
        raise BarcodeDataError("barcode", f"GTIN {gtin} fails the GS1 mod-10 check digit")


@dataclass(frozen=True)
class Stock:
    """Hold a label stock size in inches (what the label printer is loaded with)."""

    width_in: Decimal | float
    height_in: Decimal | float

    def __post_init__(self) -> None:
        """Refuse sizes no label printer takes (zero, negative, wider than 12 in)."""
        if not (0 < float(self.width_in) <= 12 and 0 < float(self.height_in) <= 24):
            size = f"{self.width_in} x {self.height_in} in"
            raise LabelError("stock", f"implausible stock size {size}")

    @property
    def width_mm(self) -> float:
        """Return the width in millimetres."""
        return float(self.width_in) * MM_PER_INCH

    @property
    def height_mm(self) -> float:
        """Return the height in millimetres."""
        return float(self.height_in) * MM_PER_INCH


PRESCRIPTION_STOCK = Stock(Decimal(4), Decimal(2))
VIAL_STOCK = Stock(Decimal("2.25"), Decimal("1.25"))
BATCH_STOCK = Stock(Decimal(4), Decimal(2))


def _as_tuple(value: object) -> tuple[object, ...]:
    """Return ``value`` as a tuple; one string stays one item (``tuple("ab")`` would split it)."""
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(value)  # type: ignore[arg-type]


class _TupleFields:
    """Coerce the named list-like fields to tuples so frozen labels stay immutable."""

    _tuple_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Replace lists (or one string) in the tuple fields by tuples."""
        for name in self._tuple_fields:
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))


@dataclass(frozen=True)
class PrescriptionLabel(_TupleFields):
    """Hold the printed values of one prescription (dispensing) label, one per fill."""

    _tuple_fields = ("batch_lots", "storage")

    pharmacy_name: str
    pharmacy_address: str
    pharmacy_phone: str
    rx_number: str
    fill_number: str | int
    date_dispensed: str
    patient_name: str
    prescriber: str
    drug_strength: str
    dosage_form_route: str
    quantity: str
    directions: str
    refills_left: str | int
    bud: str
    batch_lots: tuple[str, ...]
    storage: tuple[str, ...]
    pharmacist_initials: str
    barcode: Barcode
    compounded_statement: str = "Compounded drug"


@dataclass(frozen=True)
class VialLabel(_TupleFields):
    """Hold the printed values of one vial (immediate container) label.

    ``serial``: the vial's serial in its lot (also inside the DataMatrix); ``patient_name`` and
    ``rx_reference`` (``Rx 100123-1``) are set on a fill's vial labels and left out on the vial
    labels printed for a batch at compounding.
    """

    _tuple_fields = ("storage",)
    _optional_fields = ("serial", "patient_name", "rx_reference")

    drug_strength: str
    volume: str
    container_statement: str
    route: str
    lot: str
    bud: str
    storage: tuple[str, ...]
    pharmacy_name: str
    pharmacy_phone: str
    barcode: Barcode
    compounded_statement: str = "Compounded drug"
    serial: str | int | None = None
    patient_name: str | None = None
    rx_reference: str | None = None


@dataclass(frozen=True)
class BatchLabel(_TupleFields):
    """Hold the printed values of one batch (stock) label (``storage``: as on the vials)."""

    _tuple_fields = ("storage",)

    formulation: str
    lot: str
    vials: str | int
    compounded_at: str
    bud: str
    status: str
    barcode: Barcode
    storage: tuple[str, ...] = ()


Label = PrescriptionLabel | VialLabel | BatchLabel


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(label_type: type) -> tuple[str, ...]:
    """Return a label type's field names, in order (looked up once per type)."""
    names = _FIELD_NAMES.get(label_type)
    if names is None:
        names = _FIELD_NAMES[label_type] = tuple(f.name for f in fields(label_type))
    return names


def missing_fields(label: Label) -> list[str]:
    """Return the names of the label's empty required fields (all but ``_optional_fields``)."""
    missing = []
    optional = getattr(label, "_optional_fields", ())
    for name in _field_names(type(label)):
        if name in optional:
            continue
        value = getattr(label, name)
        if (
            value is None
            or (isinstance(value, (str, tuple)) and not any(_non_blank(value)))
            or isinstance(value, Barcode)
            and not value.data
        ):
            missing.append(name)
    return missing


def check_label(label: Label) -> None:
    """Refuse a label with an empty required element.

    :raise LabelError: naming the first empty field.
    """
    missing = missing_fields(label)
    if missing:
        raise LabelError(missing[0], f"required on the {type(label).__name__} but empty")


def _non_blank(value: str | tuple[object, ...]) -> list[bool]:
    """Return one flag per item (a string is one item): whether it has visible text."""
    items = (value,) if isinstance(value, str) else value
    return [bool(str(item).strip()) for item in items]


@dataclass(frozen=True)
class CalendarDose:
    """Hold one planned dose on the patient calendar."""

    date: date
    phase: int
    dose_text: str
    vial: int | None = None
    # ``datetime.date``: inside this class ``date`` names the field above.
    vial_discard_by: datetime.date | None = None


@dataclass(frozen=True)
class CalendarData(_TupleFields):
    """Hold everything the patient dosing calendar prints.

    ``phases``: (phase number, description); ``checkpoints``: (date, description);
    ``vials``: (vial number, opened date, discard-by date); ``next_fill_due``: when the next
    fill must be picked up; ``uncovered_doses``: dose dates no dispensed vial covers yet.
    """

    _tuple_fields = ("doses", "phases", "checkpoints", "vials", "uncovered_doses")

    pharmacy_name: str
    pharmacy_phone: str
    patient_name: str
    rx_number: str
    drug_strength: str
    sig: str
    doses: tuple[CalendarDose, ...]
    phases: tuple[tuple[int, str], ...] = field(default=())
    checkpoints: tuple[tuple[date, str], ...] = field(default=())
    vials: tuple[tuple[int, date, date], ...] = field(default=())
    next_fill_due: date | None = None
    uncovered_doses: tuple[date, ...] = field(default=())
