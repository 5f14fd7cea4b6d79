"""Trace and recall (SPEC 2.9)."""

from __future__ import annotations

from pydantic import Field

from pharmacy.api.schemas.base import Id, Out, Query, Strict, Text


class RecallIn(Strict):
    """``POST /recalls``: an ingredient lot (id) or a batch lot (number), and why."""

    ingredient_lot: Id | None = None
    batch_lot: Text(40) | None = None
    reason: Text(2000) | None = None


class TraceQuery(Query):
    """``GET /trace``: one of the two lots; JSON or CSV."""

    ingredient_lot: Id | None = None
    batch_lot: Text(40) | None = None
    format: Text(4) | None = None


class TraceOut(Out):
    """What a lot reached: batches, fills, patients, prescribers."""

    query: dict
    fills_to_pull: list[dict] = Field(default_factory=list)
