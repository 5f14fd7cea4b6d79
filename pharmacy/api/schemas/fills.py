"""Fills, the final check and dispensing (SPEC 2.7, 2.9, 6.3)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from pharmacy.api.schemas.base import Out, Strict, Text, clean_text
from pharmacy.api.schemas.common import ErrorOut


def _scans(value: Any) -> Any:
    """Refuse a scan list as a whole (``scans``), as the final check reports it."""
    if not isinstance(value, list):
        raise PydanticCustomError("list_type", "Send the scans as a list of strings.")
    if len(value) > MAX_SCANS:
        raise PydanticCustomError("too_long", f"At most {MAX_SCANS} scans.")
    for item in value:
        if not isinstance(item, str) or len(item) > 500:
            raise PydanticCustomError("string_type", "Each scan is a string (at most 500).")
        # A 2D scanner sends each GS1 FNC1 separator as GS (0x1d): the one control character
        # a scan may carry (SPEC 2.8, 6.2).
        clean_text(item.replace("\x1d", ""))
    return value


MAX_SCANS = 1000
ScanList = Annotated[
    list[str],
    BeforeValidator(_scans),
    WithJsonSchema(
        {"type": "array", "maxItems": MAX_SCANS, "items": {"type": "string", "maxLength": 500}}
    ),
]


class VoidIn(Strict):
    """``POST /fills/<id>/void``."""

    reason: Text(2000) | None = None


class CheckIn(Strict):
    """``POST /fills/<id>/check``: what the pharmacist scanned."""

    scans: ScanList | None = None


class DispenseIn(Strict):
    """``POST /fills/<id>/dispense`` (the body is optional)."""

    pharmacist_initials: Text(10) | None = None


class DispenseRefusedOut(ErrorOut):
    """``409`` from dispensing: the error, and every reason the re-check found (SPEC 5.5)."""

    reasons: list[str] = Field(default_factory=list)


class FillOut(Out):
    """A fill with its allocations."""

    id: int
    fill_number: int
    status: str
    vials: int
    allocations: list[dict[str, Any]]


class CheckOut(Out):
    """The final check passed."""

    ok: bool
