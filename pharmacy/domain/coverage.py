"""Fill windows from what was really covered (SPEC 5.4) and an order's continuity.

A fill covers the doses its vials serve, with each fill's real batch BUD and with vials
carried over from earlier fills. Fill k+1 covers the doses from the *first planned dose
that fills 0..k do not cover*, for ``days_supply`` days: a fill cut short by a batch BUD
brings the next fill forward, a carried-over vial that covers a whole window pushes it
back. :func:`walk` replays the fills made so far (and, for a fill about to be made, a
batch's vials) over the regimen's doses; :func:`coverage` turns that into the order's
``next_fill``, ``covered_through``, the projected windows of the remaining fills and the
doses that no fill can cover.

The walk follows SPEC 2.3: the open vial serves a dose while it is multiple-dose, in its
in-use window, in date, and holds enough; otherwise a new vial is opened from the vials
the patient has been given, earliest BUD first (a vial whose BUD is before the dose is
never opened). Unlike the plan preview, each fill's vials are counted: a fill can only
cover what its vials really serve.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from pharmacy.domain.errors import DomainError
from pharmacy.domain.regimen import Dose, Regimen, iter_regimen
from pharmacy.domain.units import dose_volume_ml
from pharmacy.domain.vials import MAX_IN_USE_DAYS, PlanRequest, VialSpec

NEXT_FILL_STATUSES = ("not_yet", "due", "overdue", "none_left", "expired")


@dataclass(frozen=True, kw_only=True)
class OrderTerms:
    """Hold what an order says about its product, regimen and supply, as domain objects.

    This is the one conversion of an order into planning terms (orders, fills, labels and
    the calendar all start here). ``fills`` is 1 + refills.
    """

    regimen: Regimen
    start_date: date
    concentration_mcg_per_ml: Decimal
    vial: VialSpec
    days_supply: int
    fills: int
    route: str = "IM"

    def plan_request(
        self, *, in_use_days: int = MAX_IN_USE_DAYS, bud_days: int | None = None
    ) -> PlanRequest:
        """Return the SPEC 2.3 plan request (the projected plan of the whole order).

        ``in_use_days`` is clamped to 1..28 (a formulation may allow fewer days).
        """
        return PlanRequest(
            regimen=self.regimen,
            start_date=self.start_date,
            concentration_mcg_per_ml=self.concentration_mcg_per_ml,
            vial=self.vial,
            in_use_days=max(1, min(in_use_days, MAX_IN_USE_DAYS)),
            days_supply=self.days_supply,
            fills=self.fills,
            bud_days=bud_days,
            route=self.route if self.route in ("IM", "SC") else "IM",
        )

    @property
    def plan_end(self) -> date:
        """Return the day after the planned horizon: start + fills x days supply (SPEC 2.3)."""
        try:
            return self.start_date + timedelta(days=self.fills * self.days_supply)
        except OverflowError:
            return date.max

    def volume_ml(self, phase: int) -> Decimal:
        """Return the dose volume of 1-based ``phase`` (SPEC 2.2)."""
        dose = self.regimen.phases[phase - 1].dose_mcg
        return dose_volume_ml(dose, self.concentration_mcg_per_ml, self.vial.volume_ml, phase=phase)


@dataclass(frozen=True)
class MadeFill:
    """Describe a fill that was made (allocated, checked or dispensed; never a voided one).

    :param first_dose: the first day of its window (the dose it was made for).
    :param vials: how many vials it holds.
    :param bud_last_day: the last day its vials are in date (the day before the earliest
        allocated batch BUD's local date, SPEC 2.4); ``date.max`` when nothing limits it.
    :param in_use_days: days a punctured vial of its batch may be used.
    :param dispensed_on: the local date it was handed over, or None while it waits.
    """

    fill_number: int
    first_dose: date
    vials: int
    bud_last_day: date = date.max
    in_use_days: int = MAX_IN_USE_DAYS
    dispensed_on: date | None = None


@dataclass(frozen=True)
class NewStock:
    """Describe the vials of a fill about to be made: as many as its window needs.

    Its vials are handed over at ``first_dose`` and opened only for doses before
    ``first_dose + days_supply`` (the fill's window).
    """

    fill_number: int
    first_dose: date
    days_supply: int
    bud_last_day: date = date.max
    in_use_days: int = MAX_IN_USE_DAYS

    @property
    def window_end(self) -> date:
        """Return the day after the window."""
        try:
            return self.first_dose + timedelta(days=self.days_supply)
        except OverflowError:
            return date.max


@dataclass(frozen=True)
class ServedDose:
    """Hold a dose served by a vial: which fill's vial (``vial`` is 1-based over the order)."""

    dose: Dose
    volume_ml: Decimal
    fill_number: int
    vial: int

    @property
    def date(self) -> date:
        """Return the dose date."""
        return self.dose.date


@dataclass(frozen=True)
class OpenedVial:
    """Hold a vial the walk opened: its fill, when, its last day and the doses it served."""

    number: int
    fill_number: int
    opened: date
    discard_by: date
    doses: tuple[date, ...]
    used_ml: Decimal


@dataclass(frozen=True)
class Walk:
    """Hold the result of :func:`walk`: what the vials served and the first dose they miss."""

    served: tuple[ServedDose, ...]
    vials: tuple[OpenedVial, ...]
    first_uncovered: Dose | None
    new_vials: int = 0

    def served_by(self, fill_number: int) -> tuple[ServedDose, ...]:
        """Return the doses served by vials of fill ``fill_number``."""
        return tuple(s for s in self.served if s.fill_number == fill_number)

    def vials_of(self, fill_number: int) -> tuple[OpenedVial, ...]:
        """Return the vials of fill ``fill_number`` that were opened."""
        return tuple(v for v in self.vials if v.fill_number == fill_number)


@dataclass
class _Stock:
    fill_number: int
    first_dose: date
    remaining: int | None  # None: as many as needed (a fill about to be made)
    bud_last_day: date
    in_use_days: int
    window_end: date = date.max


@dataclass
class _Open:
    number: int
    fill_number: int
    single: bool
    volume_ml: Decimal
    opened: date
    discard_by: date
    doses: list[date] = field(default_factory=list)
    used_ml: Decimal = Decimal(0)

    def can_serve(self, day: date, volume: Decimal) -> bool:
        return (
            not self.single and day <= self.discard_by and self.volume_ml - self.used_ml >= volume
        )

    def freeze(self) -> OpenedVial:
        return OpenedVial(
            self.number,
            self.fill_number,
            self.opened,
            self.discard_by,
            tuple(self.doses),
            self.used_ml,
        )


def walk(terms: OrderTerms, fills: Sequence[MadeFill], new: NewStock | None = None) -> Walk:
    """Replay ``fills`` (and ``new``, a fill about to be made) over the regimen's doses.

    Each fill's vials are handed over on its ``first_dose``. The walk stops at the first
    dose that no vial can serve: that dose is ``first_uncovered`` (None when the regimen
    ended with every dose served). ``new_vials`` counts the vials opened from ``new``.

    :raise DoseTooSmall, DoseExceedsVial: a phase's dose cannot be drawn from the vial.
    """
    volumes = {n: terms.volume_ml(n) for n in range(1, len(terms.regimen.phases) + 1)}
    pending = [
        _Stock(f.fill_number, f.first_dose, f.vials, f.bud_last_day, f.in_use_days)
        for f in sorted(fills, key=lambda f: (f.first_dose, f.fill_number))
        if f.vials > 0
    ]
    if new is not None:
        pending.append(
            _Stock(
                new.fill_number,
                new.first_dose,
                None,
                new.bud_last_day,
                new.in_use_days,
                new.window_end,
            )
        )
        pending.sort(key=lambda s: (s.first_dose, s.fill_number))
    single = terms.vial.single_dose
    held: list[_Stock] = []
    opened: list[_Open] = []
    served: list[ServedDose] = []
    current: _Open | None = None
    new_vials = 0
    first_uncovered: Dose | None = None
    for dose in iter_regimen(terms.regimen, terms.start_date):
        while pending and pending[0].first_dose <= dose.date:
            held.append(pending.pop(0))
        volume = volumes[dose.phase]
        if current is None or not current.can_serve(dose.date, volume):
            usable = [
                s
                for s in held
                if (s.remaining is None or s.remaining > 0)
                and dose.date <= s.bud_last_day
                and dose.date < s.window_end
            ]
            if not usable:
                first_uncovered = dose
                break
            stock = min(usable, key=lambda s: (s.bud_last_day, s.fill_number))
            if stock.remaining is None:
                new_vials += 1
            else:
                stock.remaining -= 1
            if single:
                discard_by = dose.date
            else:
                try:
                    in_use_last = dose.date + timedelta(days=stock.in_use_days - 1)
                except OverflowError:
                    in_use_last = date.max
                discard_by = min(in_use_last, stock.bud_last_day)
            current = _Open(
                len(opened) + 1,
                stock.fill_number,
                single,
                terms.vial.volume_ml,
                dose.date,
                discard_by,
            )
            opened.append(current)
        current.doses.append(dose.date)
        current.used_ml += volume
        served.append(ServedDose(dose, volume, current.fill_number, current.number))
    return Walk(tuple(served), tuple(v.freeze() for v in opened), first_uncovered, new_vials)


def allowed_from(base: date, due_by: date, refill_percent: int) -> date:
    """Return the first day a refill may be made (SPEC 5.4).

    ``base`` is the previous fill's dispense date; the refill opens once ``refill_percent``
    of the days from then to ``due_by`` have passed, rounded down.
    """
    days = max(0, (due_by - base).days) * refill_percent // 100
    return base + timedelta(days=days)


@dataclass(frozen=True)
class NextFill:
    """The next fill of an order (SPEC 5.4 ``next_fill``) without its status.

    ``fill_number`` and ``allowed_from`` are None when no fills are left; ``due_by`` is the
    first dose the fills made so far do not cover.
    """

    fill_number: int | None
    due_by: date
    allowed_from: date | None

    def status(self, today: date, expires_on: date | None = None) -> str:
        """Return ``not_yet``, ``due``, ``overdue``, ``none_left`` or ``expired`` on ``today``."""
        if expires_on is not None and today > expires_on:
            return "expired"
        if self.fill_number is None or self.allowed_from is None:
            return "none_left"
        if today < self.allowed_from:
            return "not_yet"
        if today <= self.due_by:
            return "due"
        return "overdue"


@dataclass(frozen=True)
class FillWindow:
    """A projected fill: its number, first dose (``due_by``) and the last day of its window."""

    fill_number: int
    due_by: date
    last_day: date


@dataclass(frozen=True)
class Coverage:
    """What an order's fills cover and what comes next (SPEC 5.4, 7.4-7.7).

    * ``walk``: the doses the made fills serve, and the first they miss;
    * ``next_fill``: None when every dose of the regimen is covered;
    * ``covered_through``: the last day before the first uncovered dose (None before any fill);
    * ``projected``: the windows the remaining fills would cover (no BUD limit assumed);
    * ``uncovered_doses``: planned doses (before the plan horizon) that no fill can cover,
      because the fills run out or the order expires first;
    * ``renewal_from``: the first dose no fill of this order can cover, planned or not
      (None when the regimen ends within them): the regimen needs a renewal from then;
    * ``undispensed_from``: the first dose the *dispensed* fills do not cover (None when they
      cover the whole regimen): a patient without a dose in hand from then on;
    * ``complete``: the regimen ended and dispensed fills cover every dose of it.
    """

    walk: Walk
    next_fill: NextFill | None
    covered_through: date | None
    projected: tuple[FillWindow, ...]
    uncovered_doses: tuple[Dose, ...]
    renewal_from: date | None
    undispensed_from: date | None
    complete: bool

    def to_dict(self) -> dict[str, object]:
        """Return ``covered_through`` and ``uncovered_doses`` as JSON.

        ``next_fill`` needs a date for its status: the service adds it.
        """
        return {
            "next_fill": None,
            "covered_through": (self.covered_through.isoformat() if self.covered_through else None),
            "uncovered_doses": [d.date.isoformat() for d in self.uncovered_doses],
        }


def _doses_from(terms: OrderTerms, first: Dose) -> Iterator[Dose]:
    """Yield the regimen's doses from ``first`` on."""
    for dose in iter_regimen(terms.regimen, terms.start_date):
        if dose.date >= first.date:
            yield dose


def coverage(
    terms: OrderTerms,
    fills: Sequence[MadeFill],
    *,
    verified_on: date | None,
    refill_percent: int,
    expires_on: date | None = None,
) -> Coverage:
    """Return what the made ``fills`` cover and the order's next fill (SPEC 5.4).

    :param fills: the live fills (never voided ones), any order.
    :param verified_on: the local date the order was verified (the original fill opens
        then); None for an order not verified yet.
    :param refill_percent: the refill setting (75).
    :param expires_on: the last day the prescription may be filled (``rx_valid_days``).
    :raise DomainError: a fill number outside the order's fills.
    """
    for made in fills:
        if not 0 <= made.fill_number < terms.fills:
            raise DomainError("fill_number", f"The order has no fill {made.fill_number}.")
    done = walk(terms, fills)
    first = done.first_uncovered
    taken = {f.fill_number for f in fills}
    free = [k for k in range(terms.fills) if k not in taken]
    next_fill: NextFill | None = None
    projected: list[FillWindow] = []
    uncovered: list[Dose] = []
    renewal_from: date | None = None
    if first is not None:
        previous = max(
            (f for f in fills if f.first_dose < first.date),
            key=lambda f: (f.first_dose, f.fill_number),
            default=None,
        )
        if not free:
            next_fill = NextFill(None, first.date, None)
        elif previous is None:
            next_fill = NextFill(free[0], first.date, verified_on)
        else:
            base = previous.dispensed_on or previous.first_dose
            next_fill = NextFill(
                free[0], first.date, allowed_from(base, first.date, refill_percent)
            )
        # Project the remaining fills: each covers days_supply days from the first dose
        # the ones before it leave; a fill that could only open after the expiry is none.
        numbers = iter(free)
        window_end: date | None = None
        last_base = next_fill.allowed_from
        plan_end = terms.plan_end
        for dose in _doses_from(terms, first):
            if window_end is not None and dose.date < window_end:
                continue
            number = next(numbers, None)
            opens = (
                allowed_from(last_base, dose.date, refill_percent)
                if projected and last_base is not None
                else next_fill.allowed_from
            )
            if number is None or (expires_on is not None and (opens is None or opens > expires_on)):
                renewal_from = dose.date
                break
            try:
                window_end = dose.date + timedelta(days=terms.days_supply)
            except OverflowError:
                window_end = date.max
            projected.append(FillWindow(number, dose.date, window_end - timedelta(days=1)))
            last_base = dose.date
        if renewal_from is not None:
            for dose in _doses_from(terms, first):
                if dose.date >= plan_end:
                    break
                if dose.date >= renewal_from:
                    uncovered.append(dose)
    if not fills:
        covered_through = None
    elif first is not None:
        covered_through = first.date - timedelta(days=1)
    else:
        covered_through = done.served[-1].date if done.served else None
    dispensed = [f for f in fills if f.dispensed_on is not None]
    if len(dispensed) == len(fills):
        dispensed_walk = done
    else:
        dispensed_walk = walk(terms, dispensed)
    dispensed_first = dispensed_walk.first_uncovered
    return Coverage(
        walk=done,
        next_fill=next_fill,
        covered_through=covered_through,
        projected=tuple(projected),
        uncovered_doses=tuple(uncovered),
        renewal_from=renewal_from,
        undispensed_from=dispensed_first.date if dispensed_first is not None else None,
        complete=dispensed_first is None,
    )
