"""Regimens (ordered dosing phases) and their expansion into dated doses (SPEC 2.1).

A regimen is data: a tuple of :class:`Phase`. :func:`expand_regimen` turns it into the
dates on which the patient injects, which the vial planner (SPEC 2.3), the sig and the
monitoring schedule all build on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from dateutil.relativedelta import relativedelta

from pharmacy.domain.errors import DomainError

UNITS = ("day", "week", "month")

# Keys are the JSON spelling (SPEC 2.1: ["mon","wed","fri"]); values are date.weekday().
WEEKDAYS: Mapping[str, int] = MappingProxyType(
    {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
)


@dataclass(frozen=True)
class Phase:
    """Hold one phase of a regimen: ``count`` doses of ``dose_mcg``, one every ``every`` ``unit``.

    ``count`` is ``None`` for an open-ended phase (until stopped). ``weekdays`` (SPEC 2.1,
    only with ``unit="week"`` and ``every=1``) gives one dose on each listed weekday; it is
    stored in week order (Monday first) so equal schedules compare equal.

    :raise DomainError: the phase breaks a SPEC 2.1 rule (the field names the attribute).
    """

    dose_mcg: int
    every: int
    unit: str
    count: int | None
    weekdays: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Check the SPEC 2.1 phase rules and store weekdays in week order."""
        # Input parsing (plan_input) reports these per field first; this guards the core
        # against phases built in code, e.g. by services from stored orders.
        object.__setattr__(self, "weekdays", tuple(self.weekdays))
        if isinstance(self.dose_mcg, bool) or not isinstance(self.dose_mcg, int):
            raise DomainError("dose_mcg", "The dose must be a whole number of mcg.")
        if self.dose_mcg <= 0:
            raise DomainError("dose_mcg", "The dose must be more than 0 mcg.")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise DomainError("every", "The interval must be a whole number of at least 1.")
        if self.unit not in UNITS:
            raise DomainError("unit", "The unit must be day, week or month.")
        if self.count is not None and (
            isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1
        ):
            raise DomainError("count", "The number of doses must be at least 1 (or open-ended).")
        if self.weekdays:
            if self.unit != "week" or self.every != 1:
                raise DomainError("weekdays", "Weekdays need a phase of once every 1 week.")
            unknown = [day for day in self.weekdays if day not in WEEKDAYS]
            if unknown:
                raise DomainError("weekdays", f"Unknown weekday {unknown[0]!r}.")
            if len(set(self.weekdays)) != len(self.weekdays):
                raise DomainError("weekdays", "A weekday is listed twice.")
            ordered = tuple(sorted(self.weekdays, key=WEEKDAYS.__getitem__))
            object.__setattr__(self, "weekdays", ordered)

    @property
    def open_ended(self) -> bool:
        """Return True when the phase runs until stopped (``count`` is None)."""
        return self.count is None


@dataclass(frozen=True)
class Regimen:
    """Hold the ordered phases of a regimen; only the last may be open-ended (SPEC 2.1).

    :raise DomainError: no phases, or an open-ended phase that is not the last.
    """

    phases: tuple[Phase, ...]

    def __post_init__(self) -> None:
        """Check that there is a phase and only the last is open-ended."""
        object.__setattr__(self, "phases", tuple(self.phases))
        if not self.phases:
            raise DomainError("phases", "A regimen needs at least one phase.")
        for number, phase in enumerate(self.phases[:-1]):
            if phase.open_ended:
                raise DomainError(
                    f"phases[{number}].count", "Only the last phase may be open-ended."
                )


@dataclass(frozen=True)
class Dose:
    """Hold one scheduled injection: ``phase`` is 1-based, ``index`` 0-based within it."""

    date: date
    dose_mcg: int
    phase: int
    index: int


def _next_weekday(after: date, weekdays: tuple[str, ...], *, inclusive: bool) -> date:
    """Return the first listed weekday on (``inclusive``) or strictly after ``after``."""
    wanted = {WEEKDAYS[day] for day in weekdays}
    day = after if inclusive else after + timedelta(days=1)
    while day.weekday() not in wanted:
        day += timedelta(days=1)
    return day


def _step(phase: Phase, k: int) -> relativedelta | timedelta:
    """Return the offset of dose ``k`` from the phase's first dose (SPEC 2.1)."""
    if phase.unit == "month":
        # Counted from the first dose, never chained: Jan 31 + 1 = Feb 28, + 2 = Mar 31.
        return relativedelta(months=k * phase.every)
    days = 7 if phase.unit == "week" else 1
    return timedelta(days=k * phase.every * days)


def _phase_dates(phase: Phase, first: date) -> Iterator[date]:
    """Yield the phase's dose dates from ``first`` on, ``count`` of them or forever."""
    k = 0
    day = first
    # A date past the end of the calendar (year 9999) is past any ``until``: stop there.
    # relativedelta reports it as ValueError, timedelta as OverflowError.
    while phase.count is None or k < phase.count:
        yield day
        k += 1
        try:
            if phase.weekdays:
                day = _next_weekday(day, phase.weekdays, inclusive=False)
            else:
                day = first + _step(phase, k)
        except (OverflowError, ValueError):
            return


def iter_regimen(regimen: Regimen, start: date) -> Iterator[Dose]:
    """Yield the regimen's doses from ``start`` in date order, forever if it is open-ended.

    SPEC 2.1: the first phase starts on ``start`` (a weekday phase: the first listed
    weekday on or after it); each later phase starts one interval of the *new* phase after
    the previous phase's last dose (a weekday phase: the first listed weekday strictly
    after it). The doses stop at the end of the calendar (year 9999).
    """
    last: date | None = None
    for number, phase in enumerate(regimen.phases, start=1):
        try:
            if last is None:
                first = start
                if phase.weekdays:
                    first = _next_weekday(start, phase.weekdays, inclusive=True)
            elif phase.weekdays:
                first = _next_weekday(last, phase.weekdays, inclusive=False)
            else:
                first = last + _step(phase, 1)
        except (OverflowError, ValueError):
            return  # the phase would start after the end of the calendar
        for index, day in enumerate(_phase_dates(phase, first)):
            yield Dose(day, phase.dose_mcg, number, index)
            last = day


def expand_regimen(regimen: Regimen, start: date, until: date) -> tuple[Dose, ...]:
    """Return the regimen's doses from ``start``, in date order, strictly before ``until``.

    See :func:`iter_regimen` for the SPEC 2.1 rules; an open-ended phase stops at ``until``.
    """
    doses: list[Dose] = []
    for dose in iter_regimen(regimen, start):
        if dose.date >= until:
            # Dates only grow, within a phase and across phases: nothing later fits.
            break
        doses.append(dose)
    return tuple(doses)


def continue_regimen(regimen: Regimen, dose: Dose) -> Regimen:
    """Return the regimen that continues ``regimen`` from its ``dose`` on.

    The phase in progress keeps its remaining doses (from ``dose``'s index on), then the
    later phases follow unchanged (SPEC 7.6): started on ``dose.date`` the result gives
    exactly the doses the original gives from ``dose`` on. (One exception: a monthly phase
    whose first dose fell on the 29th-31st and whose ``dose`` was moved back to a shorter
    month's last day continues from that day of the month.)

    :raise DomainError: ``dose`` is not a dose of the regimen's phases.
    """
    if not 1 <= dose.phase <= len(regimen.phases):
        raise DomainError("phase", f"The regimen has no phase {dose.phase}.")
    current = regimen.phases[dose.phase - 1]
    remaining = None if current.count is None else current.count - dose.index
    if remaining is not None and remaining < 1:
        raise DomainError("index", f"Phase {dose.phase} has no dose {dose.index + 1}.")
    head = Phase(current.dose_mcg, current.every, current.unit, remaining, current.weekdays)
    return Regimen((head, *regimen.phases[dose.phase :]))


# SPEC 2.1 presets. Conveniences, not advice: the prescriber edits them before ordering.
PRESETS: Mapping[str, tuple[str, Regimen]] = MappingProxyType(
    {
        "high-dose": (
            "High-dose: 1,000 mcg daily x7, weekly x4, then monthly",
            Regimen(
                (
                    Phase(1000, 1, "day", 7),
                    Phase(1000, 1, "week", 4),
                    Phase(1000, 1, "month", None),
                )
            ),
        ),
        "label-dosing": (
            "Label dosing: 100 mcg daily x7, every 2 days x7, every 3 days x7, then monthly",
            Regimen(
                (
                    Phase(100, 1, "day", 7),
                    Phase(100, 2, "day", 7),
                    Phase(100, 3, "day", 7),
                    Phase(100, 1, "month", None),
                )
            ),
        ),
        "three-times-weekly": (
            "Three times weekly: 1,000 mcg Mon/Wed/Fri x6, then every 3 months",
            Regimen(
                (
                    Phase(1000, 1, "week", 6, ("mon", "wed", "fri")),
                    Phase(1000, 3, "month", None),
                )
            ),
        ),
        # SPEC leaves the alternate-day count to the prescriber ("until no further
        # improvement"); 14 doses (four weeks) is only a starting value to edit.
        "neurological": (
            (
                "Neurological: 1,000 mcg every 2 days (14 doses by default: set the count),"
                " then every 2 months"
            ),
            Regimen(
                (
                    Phase(1000, 2, "day", 14),
                    Phase(1000, 2, "month", None),
                )
            ),
        ),
    }
)


def phase_to_dict(phase: Phase) -> dict[str, object]:
    """Return ``phase`` in the SPEC 2.1 JSON shape."""
    return {
        "dose_mcg": phase.dose_mcg,
        "every": phase.every,
        "unit": phase.unit,
        "count": phase.count,
        "weekdays": list(phase.weekdays),
    }


def presets_as_json() -> list[dict[str, object]]:
    """Return the presets, in order, as JSON-ready dicts ``{key, title, phases}`` for the UI."""
    return [
        {"key": key, "title": title, "phases": [phase_to_dict(p) for p in regimen.phases]}
        for key, (title, regimen) in PRESETS.items()
    ]
