"""``/batches`` bodies and answers (SPEC 3, 5.6)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pharmacy.api.schemas.base import Id, Int, Out, Strict, Text
from pharmacy.api.schemas.common import PageOut


class BatchIn(Strict):
    """``POST /batches``: compound a batch from one released lot per ingredient."""

    formulation: Text(30) | None = None
    vials: Int(ge=1, le=100_000) | None = None
    compounded_at: Text(40) | None = None
    ingredient_lots: list[Id] | None = Field(default=None, max_length=30)


class SterilityIn(Strict):
    """``POST /batches/<lot>/sterility-test`` (SPEC 5.6).

    ``completed_at``: when the laboratory completed the test (ISO 8601 date-time; without an
    offset, pharmacy local time; default now). A ``passed`` result needs the incubation days
    of the settings (USP <71>: 14) after compounding; ``reference``: the laboratory report.
    """

    result: Literal["passed", "failed"]
    completed_at: Text(40) | None = None
    reference: Text(200) | None = None


class BatchOut(Out):
    """A batch with its BUD, worksheet and status."""

    lot_number: str
    formulation: str
    vials: int
    vials_available: int
    bud: str
    bud_limited_by: str
    status: str
    sterility_test: str | None
    sterility_completed_at: str | None = None
    sterility_reference: str | None = None
    worksheet: list[dict[str, Any]]


class BatchListOut(PageOut):
    """The batches, newest first."""

    batches: list[BatchOut]
