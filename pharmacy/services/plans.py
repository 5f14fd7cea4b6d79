"""Dosing plans for the plan page, its live preview and ``POST /api/v1/plan`` (SPEC 2.3).

Plans are computed, never stored: nothing here writes to the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.plan_input import parse_plan_request
from pharmacy.domain.plan_json import to_dict
from pharmacy.domain.regimen import phase_to_dict
from pharmacy.services.settings import get_settings


@dataclass(frozen=True)
class PlanResult:
    """Hold a plan response (SPEC 3 shape) and the validated phases it was planned from."""

    data: dict[str, Any]
    phases: list[dict[str, object]]

    @property
    def plan(self) -> dict[str, Any]:
        """Return the plan to draw: the recommended option's, or the only one."""
        if "options" in self.data:
            return self.data["options"][self.data["recommended"]]
        return self.data


def with_defaults(body: object) -> object:
    """Return ``body`` with the pharmacy's default in-use days when it gives none."""
    if isinstance(body, Mapping) and body.get("in_use_days") in (None, ""):
        return {**body, "in_use_days": get_settings().default_in_use_days}
    return body


def compute_plan(body: object) -> PlanResult:
    """Validate plan inputs (SPEC 2.3, JSON-like) and return the plan.

    :raise ValidationFailed: every field error at once, keyed by JSON path.
    """
    parsed = parse_plan_request(with_defaults(body))
    try:
        result = parsed.plan()
    except ValidationFailed:
        raise
    except DomainError as exc:
        # The planner's own checks (e.g. a plan running past year 9999) name a field too.
        raise ValidationFailed({exc.field or "": exc.message}) from None
    phases = [phase_to_dict(p) for p in parsed.request.regimen.phases]
    return PlanResult(to_dict(result), phases)
