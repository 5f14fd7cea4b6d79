"""Vial serials within a batch lot (SPEC 6.1): how they are written for people."""

from __future__ import annotations

from collections.abc import Iterable


def serial_ranges(serials: Iterable[int]) -> str:
    """Return serials as compact ranges: ``[1, 2, 3, 7, 9, 10]`` -> ``1-3, 7, 9-10``."""
    ordered = sorted(set(serials))
    parts: list[str] = []
    start = prev = None
    for serial in ordered:
        if start is None or prev is None:
            start = prev = serial
        elif serial == prev + 1:
            prev = serial
        else:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = serial
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(parts)
