"""Directions for use (the "sig") written out from a regimen, for labels and plan previews."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from pharmacy.domain.errors import DomainError
from pharmacy.domain.regimen import Phase, Regimen
from pharmacy.domain.units import dose_volume_ml, format_ml, format_qty

ROUTES: Mapping[str, str] = MappingProxyType({"IM": "intramuscularly", "SC": "subcutaneously"})

_DAY_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "mon": "Monday",
        "tue": "Tuesday",
        "wed": "Wednesday",
        "thu": "Thursday",
        "fri": "Friday",
        "sat": "Saturday",
        "sun": "Sunday",
    }
)

# (unit, every == 1) wording; larger intervals read "every N <unit>s".
_ONCE = {"day": "once daily", "week": "once weekly", "month": "once monthly"}


def frequency(phase: Phase) -> str:
    """Return how often ``phase`` doses, e.g. ``every 2 weeks`` or ``on Monday and Friday``."""
    if phase.weekdays:
        names = [_DAY_NAMES[day] for day in phase.weekdays]
        if len(names) == 1:
            return f"every {names[0]}"
        return "on " + ", ".join(names[:-1]) + " and " + names[-1]
    if phase.every == 1:
        return _ONCE[phase.unit]
    return f"every {phase.every} {phase.unit}s"


def _duration(phase: Phase) -> str:
    """Return `` for N doses``, or nothing for an open-ended phase."""
    if phase.count is None:
        return ""
    return f" for {format_qty(phase.count)} dose{'' if phase.count == 1 else 's'}"


def sig(regimen: Regimen, concentration_mcg_per_ml: Decimal, route: str) -> str:
    """Return the directions for ``regimen``, one clause per phase joined by "then".

    The dose (volume and mcg) is stated in the first clause and restated only when it
    changes, e.g. ``Inject 1 mL (1,000 mcg) intramuscularly once daily for 7 doses, then
    once weekly for 4 doses, then once monthly.``

    :raise DomainError: unknown route.
    :raise DoseTooSmall: a dose below 0.05 mL (SPEC 2.2).
    """
    try:
        route_words = ROUTES[route]
    except KeyError:
        raise DomainError("route", "The route must be IM or SC.") from None
    clauses = []
    previous_mcg: int | None = None
    for number, phase in enumerate(regimen.phases, start=1):
        volume = dose_volume_ml(phase.dose_mcg, concentration_mcg_per_ml, phase=number)
        dose = f"{format_ml(volume)} ({format_qty(phase.dose_mcg)} mcg)"
        timing = f"{frequency(phase)}{_duration(phase)}"
        if previous_mcg is None:
            clauses.append(f"Inject {dose} {route_words} {timing}")
        elif phase.dose_mcg != previous_mcg:
            clauses.append(f"then inject {dose} {timing}")
        else:
            clauses.append(f"then {timing}")
        previous_mcg = phase.dose_mcg
    return ", ".join(clauses) + "."
