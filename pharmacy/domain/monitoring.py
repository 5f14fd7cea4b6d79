"""Lab monitoring checkpoints laid over a dosing plan.

Reading of the team brief (SPEC is silent beyond "review after treatment starts"):

* Every checkpoint orders serum B12 and a CBC, plus any ``extra_tests`` the prescriber
  asked for (such as MMA or homocysteine), in the order given, without repeats.
* When the regimen has more than one phase, every phase before the last is loading. The
  first checkpoint is the day after the last loading dose, that is the last dose of the
  last non-final phase, provided that dose is among the planned ``doses`` (a plan that
  stops before loading ends has no checkpoint yet). It is kept even when it falls after
  the last planned dose: it is the check that loading worked.
* Then one checkpoint every ``interval_months`` calendar months, counted from that first
  checkpoint (not chained month to month, as in SPEC 2.1), for as long as the date is on
  or before the last planned dose: the maintenance phase is what is being followed up.
* A single-phase regimen has no loading: the periodic checkpoints count from its first
  planned dose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from dateutil.relativedelta import relativedelta

from pharmacy.domain.errors import DomainError
from pharmacy.domain.regimen import Regimen

BASE_TESTS = ("serum B12", "CBC")


class DoseLike(Protocol):
    """Anything with a dose's date and 1-based phase / 0-based index (Dose, PlannedDose)."""

    @property
    def date(self) -> date:
        """Return the dose date."""

    @property
    def phase(self) -> int:
        """Return the 1-based phase number."""

    @property
    def index(self) -> int:
        """Return the 0-based index within the phase."""


@dataclass(frozen=True)
class Checkpoint:
    """Hold one lab checkpoint: when, why, and which tests."""

    date: date
    reason: str
    tests: tuple[str, ...]


def _tests(extra_tests: Sequence[str]) -> tuple[str, ...]:
    """Return the base tests followed by the extra ones, each once."""
    tests = list(BASE_TESTS)
    for test in extra_tests:
        if test not in tests:
            tests.append(test)
    return tuple(tests)


def monitoring_checkpoints(
    doses: Sequence[DoseLike],
    regimen: Regimen,
    interval_months: int = 3,
    extra_tests: Sequence[str] = (),
    *,
    tests: Sequence[str] | None = None,
) -> tuple[Checkpoint, ...]:
    """Return the lab checkpoints for the planned ``doses`` of ``regimen``, in date order.

    See the module docstring for how the schedule is read.

    :param doses: the planned doses (``Dose`` or ``PlannedDose``), any order.
    :param tests: the order's monitoring tests (SPEC 7.1 codes such as ``b12``, ``cbc``);
        when given they are the checkpoint's tests exactly, and ``extra_tests`` is ignored.
    :raise DomainError: ``interval_months`` below 1.
    """
    if interval_months < 1:
        raise DomainError("interval_months", "The monitoring interval must be at least 1 month.")
    if not doses:
        return ()
    chosen = tuple(tests) if tests is not None else _tests(extra_tests)
    ordered = sorted(doses, key=lambda d: d.date)
    last_planned = ordered[-1].date
    checkpoints: list[Checkpoint] = []
    phases = regimen.phases
    if len(phases) > 1:
        loading_phase = len(phases) - 1  # 1-based number of the last non-final phase
        loading_count = phases[-2].count
        assert loading_count is not None  # only the last phase is open-ended
        end_of_loading = next(
            (d for d in ordered if d.phase == loading_phase and d.index == loading_count - 1),
            None,
        )
        if end_of_loading is None:
            return ()
        base = end_of_loading.date + timedelta(days=1)
        checkpoints.append(Checkpoint(base, "after loading doses", chosen))
    else:
        base = ordered[0].date
    every = "every month" if interval_months == 1 else f"every {interval_months} months"
    k = 1
    while (day := base + relativedelta(months=k * interval_months)) <= last_planned:
        checkpoints.append(Checkpoint(day, f"maintenance check, {every}", chosen))
        k += 1
    return tuple(checkpoints)
