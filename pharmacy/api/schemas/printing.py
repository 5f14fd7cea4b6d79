"""Request and response bodies of label printers and print jobs (SPEC 6.4).

The schemas check shape, types and sizes; :mod:`pharmacy.services.printing` checks the host,
the printer's existence and label types, and the reprint rule, naming the same fields.
"""

from __future__ import annotations

from typing import Literal

from pharmacy.api.schemas.base import Int, Out, Strict, Text

LabelType = Literal["prescription", "vial", "batch"]


class PrinterIn(Strict):
    """``POST /printers``: a ZPL printer reached over raw TCP."""

    name: Text(60, min_length=1)
    host: Text(255, min_length=1)
    port: Int(ge=1, le=65535) | None = None
    dpi: Literal[203, 300]
    label_types: list[LabelType]


class PrinterOut(Out):
    """A configured printer."""

    id: int
    name: str
    host: str
    port: int
    dpi: Literal[203, 300]
    label_types: list[LabelType]


class PrinterList(Out):
    """``GET /printers``."""

    printers: list[PrinterOut]


class PrintIn(Strict):
    """``POST /fills/<id>/print`` and ``POST /batches/<lot>/print``."""

    printer: Text(60, min_length=1)
    reason: Text(200) | None = None


class PrintJobOut(Out):
    """A print job: ``queued`` while sending, then ``sent`` or ``failed`` (``error`` says why)."""

    id: int
    status: Literal["queued", "sent", "failed"]
    printer: str
    entity: Literal["fill", "batch"]
    entity_id: str
    labels: int
    attempts: int
    error: str | None = None
    reason: str | None = None
    created_at: str | None = None
    sent_at: str | None = None
