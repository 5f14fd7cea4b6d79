"""Encode vial DataMatrix symbols (ECC 200) with libzint, through the zint-bindings wheel.

Why this encoder (SPEC 6.2; the README says the same):

* zint is the reference-grade open-source encoder (ISO/IEC 16022 ECC 200, GS1 mode with FNC1
  first and FNC1 separators, GS1 AI syntax and check-digit validation). ``zint-bindings`` ships
  it as a compiled wheel, so a production ``pip install .`` has it with no system library.
* The symbol shape is ours to choose: we ask for square symbols only (``DataMatrixOptions.SQUARE``),
  which also rules out DMRE rectangles. zxing-cpp 3.1's writer gives no such switch and picks an
  8x64 DMRE rectangle for some payloads; reportlab's ECC200 widget has no GS1 mode; pystrich is
  pure Python and far slower per symbol, with no AI validation.
* zint gives the module matrix itself, so the PDF draws every module as a vector square on the
  printer's dot grid and ZPL ``^BX`` is sent the same rows and columns.

``Barcode.data`` for ``gs1-datamatrix`` is the parenthesised element string
``(01)<GTIN>(17)<YYMMDD>(10)<lot>(21)<serial>``; for ``datamatrix`` it is ``<lot>/<serial>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import zint

from labels.barcode import parse_gs1
from labels.data import DATAMATRIX, GS1_DATAMATRIX, Barcode, BarcodeDataError
from labels.gs1 import GS

_PAREN_AI = re.compile(r"\((\d{2})\)([^()]*)")
# Plain symbols carry printable ASCII only (a counter scanner types them as keystrokes).
_PRINTABLE = re.compile(r"[ -~]+")
MAX_PLAIN = 80


@dataclass(frozen=True)
class Matrix:
    """Hold one encoded DataMatrix: its size and its dark modules.

    ``runs``: (row, first column, length) of every horizontal run of dark modules, top row 0,
    without the quiet zone. ``gs1``: the symbol starts with FNC1. ``elements``: the GS1 element
    string with ASCII GS where a separator is encoded (plain data for a plain symbol).
    """

    rows: int
    cols: int
    runs: tuple[tuple[int, int, int], ...]
    gs1: bool
    elements: str

    def dark(self, row: int, col: int) -> bool:
        """Return whether the module at (row, col) is dark."""
        return any(r == row and c <= col < c + n for r, c, n in self.runs)


def is_matrix(barcode: Barcode) -> bool:
    """Return whether ``barcode`` is a DataMatrix (plain or GS1)."""
    return barcode.symbology in (DATAMATRIX, GS1_DATAMATRIX)


def gs1_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """Split a parenthesised GS1 element string into checked (AI, value) pairs.

    :raise BarcodeDataError: not of the form ``(AI)value...``, or an AI, value or check digit
        that GS1 forbids (see ``labels.barcode.parse_gs1``).
    """
    pairs = _PAREN_AI.findall(text)
    if not pairs or "".join(f"({ai}){value}" for ai, value in pairs) != text:
        raise BarcodeDataError("barcode", f"GS1 element string {text!r} is not (AI)value...")
    parsed = parse_gs1(_ordered(pairs))
    if list(parsed) != pairs:
        raise BarcodeDataError(
            "barcode", f"GS1 element string {text!r} has a value of wrong length"
        )
    return tuple(pairs)


def _ordered(pairs: list[tuple[str, str]]) -> str:
    """Return the raw element string with GS only after variable-length values not last."""
    out = []
    for i, (ai, value) in enumerate(pairs):
        out.append(f"{ai}{value}")
        if ai in ("10", "21") and i < len(pairs) - 1:
            out.append(GS)
    return "".join(out)


def encode_matrix(barcode: Barcode) -> Matrix:
    """Return the square ECC 200 symbol of ``barcode`` (cached per payload).

    :raise BarcodeDataError: not a DataMatrix symbology, or data the symbol may not carry.
    """
    if not is_matrix(barcode):
        raise BarcodeDataError("barcode", f"{barcode.symbology} is not a DataMatrix symbology")
    return _encode(barcode.symbology, barcode.data)


@lru_cache(maxsize=4096)
def _encode(symbology: str, data: str) -> Matrix:
    """Encode once with zint: square symbols only (never DMRE), GS1 mode for GS1 data."""
    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.DATAMATRIX
    symbol.option_3 = int(zint.DataMatrixOptions.SQUARE)
    symbol.warn_level = zint.WarningLevel.FAIL_ALL
    if symbology == GS1_DATAMATRIX:
        pairs = gs1_pairs(data)
        symbol.input_mode = zint.InputMode.GS1
        payload = "".join(f"[{ai}]{value}" for ai, value in pairs)
        elements = _ordered(list(pairs))
    else:
        if not data or len(data) > MAX_PLAIN or not _PRINTABLE.fullmatch(data):
            raise BarcodeDataError(
                "barcode", f"DataMatrix data {data!r} must be 1-{MAX_PLAIN} printable ASCII"
            )
        symbol.input_mode = zint.InputMode.DATA  # type: ignore[attr-defined]  # missing from stubs
        payload = elements = data
    try:
        symbol.encode(payload)
    except RuntimeError as exc:
        raise BarcodeDataError("barcode", f"DataMatrix refused {data!r}: {exc}") from None
    rows, cols = symbol.rows, symbol.width
    if rows != cols:
        # Square was asked for; anything else is an encoder change we must not print.
        raise BarcodeDataError("barcode", f"encoder produced a {rows}x{cols} symbol")
    packed = symbol.encoded_data
    # A 2-D bitmap of the symbol: one row per module row.
    stride = packed.shape[1]  # type: ignore[index]  # memoryview.shape is Optional in typeshed
    bits = packed.tobytes()
    runs: list[tuple[int, int, int]] = []
    for row in range(rows):
        base = row * stride
        col = 0
        while col < cols:
            if (bits[base + (col >> 3)] >> (col & 7)) & 1:
                start = col
                while col < cols and (bits[base + (col >> 3)] >> (col & 7)) & 1:
                    col += 1
                runs.append((row, start, col - start))
            else:
                col += 1
    return Matrix(rows, cols, tuple(runs), symbology == GS1_DATAMATRIX, elements)
