"""``POST /plan`` (SPEC 2.3): the plan inputs and the plan.

The schema checks shape, types and sizes; :mod:`pharmacy.domain.plan_input` keeps the rules
that need the domain (an open-ended phase only last, the dose volume against the vial).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pharmacy.api.schemas.base import Day, Int, Num, Out, Strict, Text

WEEKDAY = Text(10)


class PhaseIn(Strict):
    """One phase of a regimen (SPEC 2.1)."""

    dose_mcg: Int(ge=1, le=100_000) | None = None
    every: Int(ge=1, le=365) | None = None
    unit: Text(10) | None = None
    count: Int(ge=1, le=10_000) | None = None
    weekdays: list[WEEKDAY] | None = Field(default=None, max_length=7)


class VialIn(Strict):
    """One vial to compare: its volume and container."""

    vial_volume_ml: Num(gt=0, le=100) | None = None
    container: Text(20) | None = None


class DosingIn(Strict):
    """The dosing fields shared by the plan and the order bodies."""

    phases: list[PhaseIn] | None = Field(default=None, max_length=20)
    start_date: Day | None = None
    concentration_mcg_per_ml: Num(ge=1, le=100_000) | None = None
    vial_volume_ml: Num(gt=0, le=100) | None = None
    container: Text(20) | None = None
    route: Text(10) | None = None
    days_supply: Int(ge=1, le=365) | None = None


class PlanIn(DosingIn):
    """``POST /plan``: one vial, or ``vial_options`` to compare."""

    vial_options: list[VialIn] | None = Field(default=None, max_length=10)
    in_use_days: Int(ge=1, le=28) | None = None
    fills: Int(ge=1, le=13) | None = None
    bud_days: Int(ge=1, le=3650) | None = None


class DoseOut(Out):
    """One planned dose."""

    date: str
    dose_mcg: int
    volume_ml: float
    phase: int
    fill_number: int | None = None
    vial: int | None = None


class PlanOut(Out):
    """The plan (SPEC 3, plan response); with ``vial_options``: ``options`` and ``recommended``."""

    doses: list[DoseOut] | None = None
    vials: list[dict[str, Any]] | None = None
    fills: list[dict[str, Any]] | None = None
    totals: dict[str, Any] | None = None
    uncovered_doses: list[Any] | None = None
    warnings: list[Any] | None = None
    sig: str | None = None
    options: list[dict[str, Any]] | None = None
    recommended: int | None = None


def dump(model: Strict) -> dict[str, Any]:
    """Return a validated body as the plain dict the domain parsers read (no None values)."""
    return {k: _plain(v) for k, v in model.model_dump(exclude_none=True).items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
