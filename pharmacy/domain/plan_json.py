"""Turn vial plans into the SPEC 3 "Plan response" JSON shape.

Dates are ``YYYY-MM-DD``; quantities are JSON numbers via
:func:`~pharmacy.domain.units.to_json_number`. Keys beyond the SPEC shape are extras:
``vial_volume_ml``, ``container`` and ``concentration_mcg_per_ml`` on every plan, ``index``
on doses, ``container`` on vials, ``last_day``, ``uncovered`` and ``carried_over_vial``
on fills.
"""

from __future__ import annotations

from typing import Any

from pharmacy.domain.units import to_json_number
from pharmacy.domain.vials import FillSummary, OptionsPlan, PlannedDose, Vial, VialPlan


def dose_to_dict(dose: PlannedDose) -> dict[str, Any]:
    """Return one dose: ``vial`` is null for an uncovered dose."""
    return {
        "date": dose.date.isoformat(),
        "dose_mcg": dose.dose_mcg,
        "volume_ml": to_json_number(dose.volume_ml),
        "phase": dose.phase,
        "index": dose.index,
        "fill_number": dose.fill_number,
        "vial": dose.vial,
    }


def vial_to_dict(vial: Vial) -> dict[str, Any]:
    """Return one vial; ``doses`` is how many doses it serves, ``discard_by`` its last day."""
    return {
        "vial": vial.number,
        "fill_number": vial.fill_number,
        "container": vial.spec.container,
        "opened": vial.opened.isoformat(),
        "discard_by": vial.discard_by.isoformat(),
        "doses": len(vial.doses),
        "used_ml": to_json_number(vial.used_ml),
        "waste_ml": to_json_number(vial.waste_ml),
    }


def fill_to_dict(fill: FillSummary) -> dict[str, Any]:
    """Return one fill: covered doses in its window and the vials opened in it."""
    return {
        "fill_number": fill.fill_number,
        "dispense_date": fill.dispense_date.isoformat(),
        "last_day": fill.last_day.isoformat(),
        "doses": fill.doses,
        "vials": fill.vials,
        "uncovered": fill.uncovered,
        "carried_over_vial": fill.carried_over_vial,
    }


def plan_to_dict(plan: VialPlan) -> dict[str, Any]:
    """Return ``plan`` as the SPEC 3 plan response."""
    totals = plan.totals
    return {
        "vial_volume_ml": to_json_number(plan.vial_spec.volume_ml),
        "container": plan.vial_spec.container,
        "concentration_mcg_per_ml": to_json_number(plan.request.concentration_mcg_per_ml),
        "doses": [dose_to_dict(d) for d in plan.doses],
        "vials": [vial_to_dict(v) for v in plan.vials],
        "fills": [fill_to_dict(f) for f in plan.fills],
        "totals": {
            "doses": totals.doses,
            "vials": totals.vials,
            "dose_volume_ml": to_json_number(totals.dose_volume_ml),
            "waste_ml": to_json_number(totals.waste_ml),
            "mcg": totals.mcg,
        },
        "uncovered_doses": [dose_to_dict(d) for d in plan.uncovered_doses],
        "warnings": list(plan.warnings),
        "sig": plan.sig,
    }


def options_to_dict(options_plan: OptionsPlan) -> dict[str, Any]:
    """Return the vial-options response: one plan per option, the pick and why."""
    return {
        "options": [plan_to_dict(p) for p in options_plan.options],
        "recommended": options_plan.recommended,
        "recommendation": options_plan.recommendation,
    }


def to_dict(result: VialPlan | OptionsPlan) -> dict[str, Any]:
    """Return the response for either planner's result (see ``PlanInput.plan``)."""
    if isinstance(result, OptionsPlan):
        return options_to_dict(result)
    return plan_to_dict(result)
