"""Shapes several operations share: errors, reasons, lists."""

from __future__ import annotations

from pharmacy.api.schemas.base import Out, Strict, Text


class ErrorDetail(Out):
    """The SPEC's error object: a code, a sentence, and field paths to messages."""

    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Out):
    """Every error answer of the API: ``{"error": {"code", "message", "fields"}}``."""

    error: ErrorDetail


class ReasonIn(Strict):
    """A body carrying only the reason for an action (cancel, reject, void)."""

    reason: Text(2000) | None = None
