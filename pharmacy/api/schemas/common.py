"""Shapes several operations share: errors, reasons, lists."""

from __future__ import annotations

from pharmacy.api.schemas.base import MAX_ID, Day, Int, Out, Query, Strict, Text


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


class PageQuery(Query):
    """Keyset paging of a list: ``before``/``after`` a key, ``limit`` rows."""

    before: Int(ge=1, le=MAX_ID) | None = None
    after: Int(ge=0, le=MAX_ID) | None = None
    limit: Int(ge=1, le=200) | None = None


# A position in a list ordered by a date, then an id (``2024-05-01.123``), from a link.
POSITION = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9]{1,10}$"


class DatedPageQuery(Query):
    """Keyset paging of a list ordered by date, newest first: ``before``/``after`` a position
    taken from a ``next`` or ``prev`` link, ``limit`` rows."""

    before: Text(21, pattern=POSITION) | None = None
    after: Text(21, pattern=POSITION) | None = None
    limit: Int(ge=1, le=200) | None = None


class PageOut(Out):
    """The paging part of a list answer: the page size and the links to its neighbours."""

    limit: int
    next: str | None
    prev: str | None


class BatchListQuery(PageQuery):
    """Filters of ``GET /batches``."""

    status: Text(20) | None = None
    formulation: Text(40) | None = None
    compounded_from: Day | None = None
    compounded_to: Day | None = None


class LotListQuery(PageQuery):
    """Filters of ``GET /ingredient-lots``."""

    component: Text(100) | None = None
    status: Text(20) | None = None
