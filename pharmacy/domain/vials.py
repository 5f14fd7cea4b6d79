"""Vial plans: which vial serves each dose, per fill, and what is wasted (SPEC 2.3).

:func:`plan_vials` walks the regimen's doses in date order, keeping one open vial, and
:func:`plan_options` compares several vial sizes and recommends the least wasteful.
Fill numbers are 0-based (0 is the original fill); vial numbers are 1-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.regimen import Dose, Regimen, expand_regimen
from pharmacy.domain.sig import ROUTES, sig
from pharmacy.domain.units import DoseExceedsVial, dose_volume_ml, format_ml

CONTAINERS = ("single-dose", "multiple-dose")
MAX_IN_USE_DAYS = 28  # SPEC 2.3 default and ceiling for a punctured multiple-dose vial


@dataclass(frozen=True)
class VialSpec:
    """Describe one vial: its labelled volume and whether it may be punctured again.

    :raise DomainError: unknown container or a volume that is not a positive Decimal.
    """

    volume_ml: Decimal
    container: str

    def __post_init__(self) -> None:
        """Check the volume and container."""
        if not isinstance(self.volume_ml, Decimal) or not self.volume_ml > 0:
            raise DomainError("vial_volume_ml", "The vial volume must be more than 0 mL.")
        if self.container not in CONTAINERS:
            raise DomainError("container", "The container must be single-dose or multiple-dose.")

    @property
    def single_dose(self) -> bool:
        """Return True for a single-dose vial, which serves exactly one dose."""
        return self.container == "single-dose"

    def describe(self) -> str:
        """Return a short name such as ``10 mL multiple-dose``."""
        return f"{format_ml(self.volume_ml)} {self.container}"


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    """Hold the SPEC 2.3 plan inputs.

    :param in_use_days: days a punctured multiple-dose vial may be used (1..28).
    :param days_supply: days each fill covers.
    :param fills: 1 + refills.
    :param bud_days: days the dispensed vials stay in date from each fill's dispense date;
        ``None`` when no BUD limits the plan.
    :raise DomainError: a value outside the SPEC 2.3 ranges.
    """

    regimen: Regimen
    start_date: date
    concentration_mcg_per_ml: Decimal
    vial: VialSpec
    in_use_days: int = MAX_IN_USE_DAYS
    days_supply: int
    fills: int
    bud_days: int | None = None
    route: str = "IM"

    def __post_init__(self) -> None:
        """Check the SPEC 2.3 ranges."""
        if not 1 <= self.in_use_days <= MAX_IN_USE_DAYS:
            raise DomainError("in_use_days", "The in-use time must be 1 to 28 days.")
        if self.days_supply < 1:
            raise DomainError("days_supply", "The days supply must be at least 1 day.")
        if self.fills < 1:
            raise DomainError("fills", "There must be at least one fill.")
        if self.bud_days is not None and self.bud_days < 1:
            raise DomainError("bud_days", "The BUD must be at least 1 day.")
        if self.route not in ROUTES:
            raise DomainError("route", "The route must be IM or SC.")
        if not self.concentration_mcg_per_ml > 0:
            raise DomainError("concentration_mcg_per_ml", "The concentration must be more than 0.")

    def dispense_date(self, fill_number: int) -> date:
        """Return the first day of fill ``fill_number``'s window, when it is dispensed."""
        return self.start_date + timedelta(days=fill_number * self.days_supply)

    def end_date(self) -> date:
        """Return the day after the last fill's window: doses from then on are not planned.

        :raise DomainError: the plan would run past the end of the calendar.
        """
        try:
            return self.dispense_date(self.fills)
        except OverflowError:
            raise DomainError("start_date", "The plan runs past the year 9999.") from None

    def bud_last_day(self, fill_number: int) -> date:
        """Return the last day fill ``fill_number``'s vials are in date (``date.max`` if no BUD).

        SPEC 2.3: ``bud_days`` counted from the dispense date, first day included.
        """
        if self.bud_days is None:
            return date.max
        try:
            return self.dispense_date(fill_number) + timedelta(days=self.bud_days - 1)
        except OverflowError:
            return date.max  # a BUD beyond the calendar limits nothing


@dataclass(frozen=True)
class PlannedDose:
    """Hold one dose in a plan: when, how much, which fill's window, and which vial.

    ``vial`` is ``None`` for an uncovered dose. ``phase`` is 1-based, ``index`` 0-based.
    """

    date: date
    dose_mcg: int
    volume_ml: Decimal
    phase: int
    index: int
    fill_number: int
    vial: int | None


@dataclass(frozen=True)
class Vial:
    """Hold one vial of a plan and the doses it serves.

    ``discard_by`` is the last day the vial may be used (inclusive). ``fill_number`` is
    the fill it is dispensed with (the fill whose window holds its first dose).
    """

    number: int
    fill_number: int
    spec: VialSpec
    opened: date
    discard_by: date
    doses: tuple[date, ...]
    used_ml: Decimal

    @property
    def waste_ml(self) -> Decimal:
        """Return what is left in the vial at discard or plan end (SPEC 2.3)."""
        return self.spec.volume_ml - self.used_ml


@dataclass(frozen=True)
class FillSummary:
    """Summarise fill ``fill_number``: its window, covered doses and the vials opened in it.

    ``carried_over_vial`` is the vial from an earlier fill that the patient still uses
    at the start of this fill's window, if any.
    """

    fill_number: int
    dispense_date: date
    last_day: date
    doses: int
    vials: int
    uncovered: int
    carried_over_vial: int | None


@dataclass(frozen=True)
class Totals:
    """Hold plan totals over covered doses and every vial."""

    doses: int
    vials: int
    dose_volume_ml: Decimal
    waste_ml: Decimal
    mcg: int


@dataclass(frozen=True)
class VialPlan:
    """Hold a vial plan (SPEC 2.3) for one :class:`VialSpec`."""

    request: PlanRequest
    doses: tuple[PlannedDose, ...]
    vials: tuple[Vial, ...]
    fills: tuple[FillSummary, ...]
    uncovered_doses: tuple[PlannedDose, ...]
    warnings: tuple[str, ...]
    sig: str
    totals: Totals = field(init=False)

    def __post_init__(self) -> None:
        """Add up the totals over covered doses and every vial."""
        totals = Totals(
            doses=len(self.doses),
            vials=len(self.vials),
            dose_volume_ml=sum((d.volume_ml for d in self.doses), Decimal("0.00")),
            waste_ml=sum((v.waste_ml for v in self.vials), Decimal("0.00")),
            mcg=sum(d.dose_mcg for d in self.doses),
        )
        object.__setattr__(self, "totals", totals)

    @property
    def vial_spec(self) -> VialSpec:
        """Return the vial this plan uses."""
        return self.request.vial

    @property
    def first_dose(self) -> PlannedDose | None:
        """Return the first covered dose, or None when the plan covers none."""
        return self.doses[0] if self.doses else None

    def fill(self, fill_number: int) -> FillSummary:
        """Return the summary of fill ``fill_number`` (0 = original).

        :raise DomainError: no such fill in this plan.
        """
        if not 0 <= fill_number < len(self.fills):
            raise DomainError("fill_number", f"The plan has no fill {fill_number}.")
        return self.fills[fill_number]

    def vials_for_fill(self, fill_number: int) -> int:
        """Return how many vials to dispense with fill ``fill_number``: those opened in it."""
        return self.fill(fill_number).vials

    def doses_for_fill(self, fill_number: int) -> tuple[PlannedDose, ...]:
        """Return the covered doses whose date lies in fill ``fill_number``'s window."""
        self.fill(fill_number)
        return tuple(d for d in self.doses if d.fill_number == fill_number)


@dataclass(frozen=True)
class OptionsPlan:
    """Hold one plan per vial option and the recommended one (SPEC 2.3 vial options)."""

    options: tuple[VialPlan, ...]
    recommended: int
    recommendation: str

    @property
    def best(self) -> VialPlan:
        """Return the recommended option's plan."""
        return self.options[self.recommended]


@dataclass
class _OpenVial:
    """Track a vial while the walk uses it; frozen into :class:`Vial` at the end."""

    number: int
    fill_number: int
    spec: VialSpec
    opened: date
    discard_by: date
    doses: list[date]
    used_ml: Decimal

    def can_serve(self, day: date, volume_ml: Decimal) -> bool:
        """Return True when SPEC 2.3 lets this open vial serve a dose on ``day``."""
        return (
            not self.spec.single_dose
            and day <= self.discard_by
            and self.spec.volume_ml - self.used_ml >= volume_ml
        )

    def serve(self, day: date, volume_ml: Decimal) -> None:
        """Draw one dose."""
        self.doses.append(day)
        self.used_ml += volume_ml

    def freeze(self) -> Vial:
        """Return the finished vial."""
        return Vial(
            self.number,
            self.fill_number,
            self.spec,
            self.opened,
            self.discard_by,
            tuple(self.doses),
            self.used_ml,
        )


def _phase_volumes(request: PlanRequest) -> dict[int, Decimal]:
    """Return each phase's dose volume by 1-based phase number (SPEC 2.2).

    Every phase is checked, even one beyond the planned fills, so an order is never
    accepted with a dose that a later refill could not draw.
    """
    return {
        number: dose_volume_ml(
            phase.dose_mcg,
            request.concentration_mcg_per_ml,
            request.vial.volume_ml,
            phase=number,
        )
        for number, phase in enumerate(request.regimen.phases, start=1)
    }


def _fill_name(fill_number: int) -> str:
    """Return how a pharmacist names a fill: the original fill, refill 1, ..."""
    return "The original fill" if fill_number == 0 else f"Refill {fill_number}"


def _uncovered_warning(request: PlanRequest, fill_number: int, doses: list[PlannedDose]) -> str:
    """Return the SPEC 2.3 warning for the doses of one fill that no in-date vial covers."""
    count = len(doses)
    noun = "dose" if count == 1 else "doses"
    return (
        f"{_fill_name(fill_number)} (dispensed {request.dispense_date(fill_number).isoformat()})"
        f" does not cover {count} {noun} from {doses[0].date.isoformat()}: its vials are past"
        f" their {request.bud_days}-day BUD after {request.bud_last_day(fill_number).isoformat()}."
        f" Shorten the days supply to {request.bud_days} days or less, or use a batch with a"
        " longer BUD."
    )


def _plan(request: PlanRequest, scheduled: Sequence[Dose], volumes: dict[int, Decimal]) -> VialPlan:
    """Walk ``scheduled`` in date order and assign vials (SPEC 2.3)."""
    start, days_supply = request.start_date, request.days_supply
    open_vial: _OpenVial | None = None
    opened: list[_OpenVial] = []
    covered: list[PlannedDose] = []
    uncovered: list[PlannedDose] = []
    for dose in scheduled:
        fill_number = (dose.date - start).days // days_supply
        volume = volumes[dose.phase]
        if open_vial is None or not open_vial.can_serve(dose.date, volume):
            if dose.date > request.bud_last_day(fill_number):
                # A new vial from this fill would already be out of date. The open vial
                # (if any) stays with the patient: a later, smaller dose may still fit.
                uncovered.append(
                    PlannedDose(
                        dose.date, dose.dose_mcg, volume, dose.phase, dose.index, fill_number, None
                    )
                )
                continue
            if request.vial.single_dose:
                discard_by = dose.date
            else:
                in_use_last = dose.date + timedelta(days=request.in_use_days - 1)
                discard_by = min(in_use_last, request.bud_last_day(fill_number))
            open_vial = _OpenVial(
                len(opened) + 1, fill_number, request.vial, dose.date, discard_by, [], Decimal(0)
            )
            opened.append(open_vial)
        open_vial.serve(dose.date, volume)
        covered.append(
            PlannedDose(
                dose.date,
                dose.dose_mcg,
                volume,
                dose.phase,
                dose.index,
                fill_number,
                open_vial.number,
            )
        )
    vials = tuple(v.freeze() for v in opened)
    # Group once by fill: plans over 13 fills of daily doses hold thousands of doses.
    in_window: dict[int, list[PlannedDose]] = {k: [] for k in range(request.fills)}
    missed: dict[int, list[PlannedDose]] = {k: [] for k in range(request.fills)}
    opened_in: dict[int, int] = dict.fromkeys(range(request.fills), 0)
    for planned in covered:
        in_window[planned.fill_number].append(planned)
    for planned in uncovered:
        missed[planned.fill_number].append(planned)
    for vial in vials:
        opened_in[vial.fill_number] += 1
    fills = []
    warnings = []
    for k in range(request.fills):
        dispense = request.dispense_date(k)
        # Only the vial open when the window starts can come from an earlier fill.
        first = in_window[k][0] if in_window[k] else None
        carried = (
            first.vial
            if first is not None
            and first.vial is not None
            and vials[first.vial - 1].fill_number < k
            else None
        )
        fills.append(
            FillSummary(
                fill_number=k,
                dispense_date=dispense,
                last_day=dispense + timedelta(days=days_supply - 1),
                doses=len(in_window[k]),
                vials=opened_in[k],
                uncovered=len(missed[k]),
                carried_over_vial=carried,
            )
        )
        if missed[k]:
            warnings.append(_uncovered_warning(request, k, missed[k]))
    return VialPlan(
        request=request,
        doses=tuple(covered),
        vials=vials,
        fills=tuple(fills),
        uncovered_doses=tuple(uncovered),
        warnings=tuple(warnings),
        sig=sig(request.regimen, request.concentration_mcg_per_ml, request.route),
    )


def plan_vials(request: PlanRequest) -> VialPlan:
    """Return the vial plan for ``request`` (SPEC 2.3).

    Fill k covers doses dated ``[start + k*days_supply, start + (k+1)*days_supply)``.
    The open vial serves a dose when it is multiple-dose, the dose falls on or before its
    ``discard_by`` (in-use window and its fill's BUD window), and enough volume is left;
    otherwise a new vial is opened, belonging to the fill whose window holds the dose. A
    dose that a new vial could not serve because that fill's BUD has passed is uncovered.

    :raise DoseTooSmall: a phase's dose is below 0.05 mL.
    :raise DoseExceedsVial: a phase's dose is more than the vial holds.
    """
    volumes = _phase_volumes(request)
    scheduled = expand_regimen(request.regimen, request.start_date, request.end_date())
    return _plan(request, scheduled, volumes)


def _recommendation(plans: Sequence[VialPlan], best: int) -> str:
    """Return a sentence saying why option ``best`` wins, with every option side by side."""
    winner = plans[best]
    waste, count = winner.totals.waste_ml, winner.totals.vials
    others = [p for i, p in enumerate(plans) if i != best]
    same_waste = [p for p in others if p.totals.waste_ml == waste]
    same_both = [p for p in same_waste if p.totals.vials == count]
    if not others:
        why = "the only option given"
    elif not same_waste:
        why = "the least waste"
    elif not same_both:
        tied = ", ".join(p.vial_spec.describe() for p in same_waste)
        why = f"the least waste (tied with {tied}) and then the fewest vials"
    else:
        tied = ", ".join(p.vial_spec.describe() for p in same_both)
        why = f"the same waste and vial count as {tied}, and it was given first"
    side_by_side = "; ".join(
        f"{p.vial_spec.describe()}: {format_ml(p.totals.waste_ml)} waste,"
        f" {p.totals.vials} vial{'' if p.totals.vials == 1 else 's'}"
        for p in plans
    )
    return f"Recommended: {winner.vial_spec.describe()} vials, with {why}. {side_by_side}."


def plan_options(request: PlanRequest, options: Sequence[VialSpec]) -> OptionsPlan:
    """Plan each vial option and recommend one (SPEC 2.3 vial options).

    ``request.vial`` is ignored: each option replaces it in turn. The recommendation is
    the least waste, then the fewest vials, then the first given.

    :raise DomainError: no options given.
    :raise DoseTooSmall: a phase's dose is below 0.05 mL.
    :raise ValidationFailed: some option is smaller than a dose (keyed
        ``vial_options[i].vial_volume_ml``).
    """
    if not options:
        raise DomainError("vial_options", "Give at least one vial option.")
    scheduled = expand_regimen(request.regimen, request.start_date, request.end_date())
    plans: list[VialPlan] = []
    errors: dict[str, str] = {}
    for i, spec in enumerate(options):
        option_request = replace(request, vial=spec)
        try:
            volumes = _phase_volumes(option_request)
        except DoseExceedsVial as exc:
            errors[f"vial_options[{i}].vial_volume_ml"] = exc.message
            continue
        plans.append(_plan(option_request, scheduled, volumes))
    if errors:
        raise ValidationFailed(errors)
    # Uncovered doses depend only on the fill windows and the BUD, never on the vial, so
    # ranking by waste compares plans that cover the same doses.
    best = min(
        range(len(plans)), key=lambda i: (plans[i].totals.waste_ml, plans[i].totals.vials, i)
    )
    return OptionsPlan(tuple(plans), best, _recommendation(plans, best))
