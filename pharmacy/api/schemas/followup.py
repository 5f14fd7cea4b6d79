"""Request and response bodies of therapy follow-up (SPEC 7.2-7.4).

The schemas check shape, types and sizes; the domain (:mod:`pharmacy.domain.followup`)
checks tests, units, plausible values, symptom names and dates, naming the same fields.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pharmacy.api.schemas.base import Day, Num, Out, Strict, Text
from pharmacy.api.schemas.common import DatedPageQuery, PageOut
from pharmacy.domain.followup import SYMPTOMS
from pharmacy.services.followup import ObservationInput

# The same lists as pharmacy.domain.followup.CHANGES and DECISIONS (a unit test checks).
Change = Literal["better", "same", "worse", "new", "resolved"]
Decision = Literal["continue", "adjust", "stop", "reassess_cause"]


class ObservationIn(Strict):
    """``POST /patients/<id>/observations``: a lab result in any accepted unit."""

    test: Text(40, min_length=1)
    value: Num(le=10**12)
    unit: Text(20, min_length=1)
    effective_date: Day
    reference_low: Num(le=10**12) | None = None
    reference_high: Num(le=10**12) | None = None
    lab: Text(120) | None = None

    def to_input(self) -> ObservationInput:
        """Return the service's input: the one conversion the API and the patient page share."""
        return ObservationInput(
            test=self.test,
            value=self.value,
            unit=self.unit,
            effective_date=self.effective_date,
            reference_low=self.reference_low,
            reference_high=self.reference_high,
            lab=self.lab or "",
        )


class ObservationOut(Out):
    """A stored lab result: the value in the canonical unit, the range used, the flag."""

    id: int
    patient_id: int
    test: str
    loinc: str
    value: float | str
    unit: str
    given_value: float | str
    given_unit: str
    reference_low: float | str
    reference_high: float | str
    reference_range_source: Literal["given", "default"]
    flag: Literal["low", "normal", "high"]
    effective_date: str
    lab: str | None = None


class ObservationListQuery(DatedPageQuery):
    """``GET /patients/<id>/observations``: one test only, and the page."""

    test: Text(40) | None = None


class ObservationList(PageOut):
    """``GET /patients/<id>/observations``: a page of results, oldest first within it;
    ``next`` opens the older results."""

    observations: list[ObservationOut]


class SymptomReportIn(Strict):
    """``POST /patients/<id>/symptom-reports``: one change per symptom."""

    date: Day
    symptoms: dict[Text(40, min_length=1), Text(20)] = Field(min_length=1, max_length=len(SYMPTOMS))
    note: Text(2000) | None = None


class SymptomReportOut(Out):
    """A stored symptom report."""

    id: int
    patient_id: int
    date: str
    symptoms: dict[str, Change]
    worse: bool
    note: str | None = None


class SymptomReportList(PageOut):
    """``GET /patients/<id>/symptom-reports``: a page of reports, oldest first within it;
    ``next`` opens the older reports."""

    symptom_reports: list[SymptomReportOut]


class ReviewIn(Strict):
    """``POST /orders/<rx>/reviews``: the prescriber's decision and why."""

    decision: Text(20, min_length=1)
    note: Text(2000) | None = None


class ReviewOut(Out):
    """A stored review."""

    id: int
    decision: Decision
    note: str | None = None
    reviewed_on: str


class CheckpointOut(Out):
    """One lab checkpoint with its status and the results that meet it (ids)."""

    date: str
    reason: str
    tests: list[str]
    status: Literal["done", "due", "overdue", "upcoming"]
    results: list[int]


class PdcOut(Out):
    """Proportion of days covered: ``value`` with 2 decimals, flagged below 0.80."""

    value: str
    flagged: bool
    start: str
    end: str
    days: int
    days_covered: int


class FollowUpOut(Out):
    """``GET /orders/<rx>/follow-up``."""

    checkpoints: list[CheckpointOut]
    next_fill: dict | None = None
    covered_through: str | None = None
    uncovered_doses: list
    reviews: list[ReviewOut]
    pdc: PdcOut | None = None
