"""Encode label barcodes into Code 128 module patterns with python-barcode, guarded.

python-barcode 0.16.1 has two traps this module works around:

* ``build()`` keeps the code set it ended in and starts the next ``build()`` there, so calling it
  twice on one object gives a different pattern. We build exactly once, on a fresh object.
* A payload starting with the digits ``99`` (``99A-1``, ``99123456``) loses them: it starts in
  code set C and encodes the pair as value 99, which ``_try_to_optimize`` then mistakes for the
  CODE C switch symbol and folds into the start character (upstream issue 251, fix unreleased).
  Our subclass only folds a switch that really is a switch.

Every pattern is then decoded again here, symbol by symbol, and compared with the input, so any
other encoder slip raises instead of printing a barcode that scans as something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from barcode.charsets import code128 as _charset
from barcode.codex import Code128, Gs1_128

from labels.data import CODE128, GS1_128, Barcode, BarcodeDataError
from labels.gs1 import CSET82, FIXED_LENGTH, GS, NEEDS_GTIN, VARIABLE_MAX_LENGTH, is_valid_gtin

START_A, START_B, START_C = 103, 104, 105
CODE_C, CODE_B, CODE_A, FNC1 = 99, 100, 101, 102

# GS1 AIs this system prints: fixed-length ones need no separator (GS1 syntax dictionary "*").
# (current code set, symbol value) -> code set switched to; A's 101 and B's 100 are FNC4.
_SWITCH = {
    ("A", CODE_B): "B",
    ("A", CODE_C): "C",
    ("B", CODE_A): "A",
    ("B", CODE_C): "C",
    ("C", CODE_A): "A",
    ("C", CODE_B): "B",
}
_BAR_RUN = re.compile("1+")
_PATTERN_VALUE = {pattern: value for value, pattern in enumerate(_charset.CODES)}


class _FoldRealSwitchesOnly:
    """Fold ``START C, CODE x`` into ``START x`` only when the second symbol is a switch."""

    code: str

    def _try_to_optimize(self, encoded: list[int]) -> list[int]:
        """Return ``encoded``, folding a leading switch into the start symbol if it is one."""
        # In code set C a leading digit pair is data, even when its value (99, 100, 101) equals a
        # switch symbol's value; python-barcode 0.16.1 folds it away (upstream issue 251).
        if encoded[0] == START_C and len(self.code) >= 2 and self.code[:2].isdigit():
            return encoded
        return super()._try_to_optimize(encoded)  # type: ignore[misc, no-any-return]


class _Code128(_FoldRealSwitchesOnly, Code128):  # type: ignore[misc]  # untyped library
    """Code 128 with the leading-99 fix."""


class _Gs1_128(_FoldRealSwitchesOnly, Gs1_128):  # type: ignore[misc]  # untyped library
    """GS1-128 (FNC1 after the start character) with the leading-99 fix."""


@dataclass(frozen=True)
class Encoded:
    """Hold one encoded barcode.

    ``pattern``: modules, ``1`` = bar, without quiet zones; ``symbols``: code values from the
    start character to the last data symbol (no check symbol, no stop), with the code set each
    was read in; ``bars``: (first module, width in modules) of every bar, runs already merged.
    """

    pattern: str
    symbols: tuple[tuple[str, int], ...]
    bars: tuple[tuple[int, int], ...]

    @property
    def modules(self) -> int:
        """Return the symbol width in modules, quiet zones excluded."""
        return len(self.pattern)


def module_pattern(barcode: Barcode) -> str:
    """Return the module pattern of ``barcode`` as a string of ``0`` and ``1`` (no quiet zones).

    :raise BarcodeDataError: the data cannot be encoded, or the encoder produced a pattern that
        does not decode back to it.
    """
    return encode(barcode).pattern


def encode(barcode: Barcode) -> Encoded:
    """Return the verified encoding of ``barcode`` (cached per symbology and data)."""
    return _encode(barcode.symbology, barcode.data)


def human_readable(barcode: Barcode) -> str:
    """Return the line printed under the bars: ``barcode.text`` or one derived from the data."""
    if barcode.text:
        return barcode.text
    if barcode.symbology == GS1_128:
        return "".join(f"({ai}){value}" for ai, value in parse_gs1(barcode.data))
    return barcode.data


def parse_gs1(data: str) -> tuple[tuple[str, str], ...]:
    """Split a GS1 element string (no parentheses) into (AI, value) pairs, checking each.

    :raise BarcodeDataError: unknown AI, wrong length or characters, bad GTIN check digit,
        a variable-length AI followed by another AI without a GS separator, or (10)/(17)
        without a GTIN (GS1 requires (01) with them).
    """
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(data):
        ai = data[pos : pos + 2]
        pos += 2
        if ai in FIXED_LENGTH:
            value = data[pos : pos + FIXED_LENGTH[ai]]
            pos += len(value)
            if len(value) != FIXED_LENGTH[ai] or not value.isdigit():
                raise _gs1_error(data, f"AI ({ai}) needs {FIXED_LENGTH[ai]} digits, got {value!r}")
            if ai == "01" and not is_valid_gtin(value):
                raise _gs1_error(data, f"GTIN {value} fails the GS1 mod-10 check digit")
        elif ai in VARIABLE_MAX_LENGTH:
            end = data.find(GS, pos)
            value = data[pos:] if end < 0 else data[pos:end]
            pos = len(data) if end < 0 else end + 1
            if not 1 <= len(value) <= VARIABLE_MAX_LENGTH[ai] or not set(value) <= CSET82:
                raise _gs1_error(
                    data,
                    f"AI ({ai}) needs 1-{VARIABLE_MAX_LENGTH[ai]} GS1 characters, got {value!r}",
                )
        else:
            raise _gs1_error(data, f"unsupported or malformed AI {ai!r} at position {pos - 2}")
        pairs.append((ai, value))
    if not pairs:
        raise _gs1_error(data, "empty element string")
    ais = {ai for ai, _ in pairs}
    if ais & NEEDS_GTIN and "01" not in ais:
        raise _gs1_error(data, "(10), (11), (17) and (21) are only valid with a GTIN (01)")
    return tuple(pairs)


def _gs1_error(data: str, reason: str) -> BarcodeDataError:
    """Return the error for a bad GS1 element string."""
    return BarcodeDataError("barcode", f"GS1-128 data {data!r}: {reason}")


@lru_cache(maxsize=8192)
def _encode(symbology: str, data: str) -> Encoded:
    """Encode once on a fresh python-barcode object, then decode the result to verify it."""
    if symbology == CODE128:
        _check_printable(data)
        pattern = _Code128(data).build()[0]
    elif symbology == GS1_128:
        parse_gs1(data)
        # python-barcode's GS1-128 marks FNC1 with U+00F1; our data marks it with GS.
        pattern = _Gs1_128(data.replace(GS, Gs1_128.FNC1_CHAR)).build()[0]
    else:
        raise BarcodeDataError("barcode", f"unknown symbology {symbology!r}")
    symbols, fnc1_first, text = _decode(pattern)
    if fnc1_first != (symbology == GS1_128) or text != data:
        # Never print a barcode that would scan as something other than what the label says.
        raise BarcodeDataError(
            "barcode", f"encoder produced {text!r} (FNC1 first: {fnc1_first}) for {data!r}"
        )
    return Encoded(pattern, symbols, _bar_runs(pattern))


def _check_printable(data: str) -> None:
    """Refuse empty data or characters outside printable ASCII (scanners type them badly)."""
    if not data:
        raise BarcodeDataError("barcode", "empty barcode data")
    bad = sorted({c for c in data if not " " <= c <= "~"})
    if bad:
        raise BarcodeDataError("barcode", f"Code 128 data {data!r} has unprintable {bad!r}")


def _bar_runs(pattern: str) -> tuple[tuple[int, int], ...]:
    """Return (first module, width) of every run of ``1`` in ``pattern``."""
    return tuple((run.start(), run.end() - run.start()) for run in _BAR_RUN.finditer(pattern))


def _decode(pattern: str) -> tuple[tuple[tuple[str, int], ...], bool, str]:
    """Decode a Code 128 module pattern back to (symbols, FNC1 first, text; later FNC1 as GS).

    :raise BarcodeDataError: malformed pattern or wrong check symbol.
    """
    stop = _charset.STOP + "11"
    body = pattern[: -len(stop)]
    if not pattern.endswith(stop) or len(body) % 11 or len(body) < 33:
        raise BarcodeDataError("barcode", "encoder produced a malformed Code 128 pattern")
    try:
        values = [_PATTERN_VALUE[body[i : i + 11]] for i in range(0, len(body), 11)]
    except KeyError:
        raise BarcodeDataError("barcode", "encoder produced an unknown Code 128 symbol") from None
    *data_values, check = values
    weighted = data_values[0] + sum(i * v for i, v in enumerate(data_values[1:], start=1))
    if weighted % 103 != check:
        raise BarcodeDataError("barcode", "encoder produced a wrong Code 128 check symbol")
    code_set = {START_A: "A", START_B: "B", START_C: "C"}.get(data_values[0])
    if code_set is None:
        raise BarcodeDataError("barcode", "encoder produced no Code 128 start symbol")
    symbols = [(code_set, data_values[0])]
    text: list[str] = []
    fnc1_first = False
    for position, value in enumerate(data_values[1:], start=1):
        symbols.append((code_set, value))
        if value == FNC1:
            if position == 1:
                fnc1_first = True
            else:
                text.append(GS)
        elif code_set == "C" and value < 100:
            text.append(f"{value:02d}")
        elif (code_set, value) in _SWITCH:
            code_set = _SWITCH[code_set, value]
        elif code_set == "B" and value < 96:
            text.append(chr(value + 32))
        elif code_set == "A" and value < 96:
            text.append(chr(value + 32) if value < 64 else chr(value - 64))
        else:
            # FNC2-4 and SHIFT: python-barcode never emits them for our data.
            raise BarcodeDataError(
                "barcode", f"unexpected Code 128 symbol {value} in set {code_set}"
            )
    return tuple(symbols), fnc1_first, "".join(text)
