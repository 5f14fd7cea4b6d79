"""Trace and recall (SPEC 2.9)."""

from __future__ import annotations

from pydantic import Field

from pharmacy.api.schemas.base import Id, Out, Strict, Text
from pharmacy.api.schemas.common import PageOut, PageQuery


class RecallIn(Strict):
    """``POST /recalls``: an ingredient lot (id) or a batch lot (number), and why."""

    ingredient_lot: Id | None = None
    batch_lot: Text(40) | None = None
    reason: Text(2000) | None = None


class TraceQuery(PageQuery):
    """``GET /trace``: one of the two lots; JSON (a page of fills: ``before``/``after``
    a fill id, ``limit`` fills, 200 at most and by default) or CSV (every fill)."""

    ingredient_lot: Id | None = None
    batch_lot: Text(40) | None = None
    format: Text(4) | None = None


class TraceOut(Out):
    """What a lot reached: batches, fills, patients, prescribers."""

    query: dict
    fills_to_pull: list[dict] = Field(default_factory=list)


class TraceTotals(Out):
    """The whole trace counted, across all its pages."""

    fills: int
    fills_to_pull: int


class TracePageOut(TraceOut, PageOut):
    """One page of a trace, newest fill first: ``fills`` and the ``patients`` and
    ``prescribers`` they reached are this page's; ``fills_to_pull`` holds the latest 200 open
    fills of the whole trace and ``totals`` counts it all; ``next``/``prev`` open the older
    and newer pages of fills. ``format=csv`` lists every fill."""

    totals: TraceTotals
