"""Render pharmacy labels and the patient dosing calendar from plain data.

Plain values in (``labels.data``), PDF bytes or ZPL text out. This package imports nothing from
``pharmacy``, Flask or the database, so it can be tested and benchmarked on its own.
"""

from labels.barcode import encode, human_readable, module_pattern, parse_gs1
from labels.calendar import render_calendar
from labels.data import (
    BATCH_STOCK,
    CODE128,
    DATAMATRIX,
    GS1_128,
    GS1_DATAMATRIX,
    PRESCRIPTION_STOCK,
    VIAL_STOCK,
    Barcode,
    BarcodeDataError,
    BatchLabel,
    CalendarData,
    CalendarDose,
    LabelError,
    LabelOverflow,
    PrescriptionLabel,
    Stock,
    VialLabel,
)
from labels.datamatrix import Matrix, encode_matrix
from labels.fit import check_fit, fit_problems
from labels.fonts import missing_glyphs
from labels.gs1 import gtin_check_digit
from labels.layout import layout_for
from labels.render import render_pdf
from labels.zpl import ZplError, render_zpl

__all__ = [
    "BATCH_STOCK",
    "CODE128",
    "DATAMATRIX",
    "GS1_128",
    "GS1_DATAMATRIX",
    "PRESCRIPTION_STOCK",
    "VIAL_STOCK",
    "Barcode",
    "BarcodeDataError",
    "BatchLabel",
    "CalendarData",
    "CalendarDose",
    "LabelError",
    "LabelOverflow",
    "Matrix",
    "PrescriptionLabel",
    "Stock",
    "VialLabel",
    "ZplError",
    "check_fit",
    "encode",
    "encode_matrix",
    "fit_problems",
    "gtin_check_digit",
    "human_readable",
    "layout_for",
    "missing_glyphs",
    "module_pattern",
    "parse_gs1",
    "render_calendar",
    "render_pdf",
    "render_zpl",
]
