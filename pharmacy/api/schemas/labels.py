"""Label files (SPEC 6): the query of the label endpoints."""

from __future__ import annotations

from pharmacy.api.schemas.base import Int, Query, Text


class LabelQuery(Query):
    """Query of the label files: a reprint's reason and the printer's resolution."""

    reason: Text(2000) | None = None
    dpi: Int(ge=203, le=300) | None = None


class BatchLabelQuery(LabelQuery):
    """Query of a batch's labels: how many vial labels."""

    count: Int(ge=0, le=100_000) | None = None
