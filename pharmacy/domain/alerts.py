"""Safety alerts a pharmacist sees when verifying an order (SPEC 2.7).

:func:`order_alerts` is pure: the service gathers the facts that need the database
(another active order, a matching formulation, benzyl alcohol in it) and the
thresholds from the pharmacy settings, and passes them in with today's date.

Levels: ``info`` (for the record), ``warning`` (the pharmacist decides), ``stop``
(verification is blocked). Two alerts stop:

* ``route_iv``: cyanocobalamin injections compounded here are depot (IM/SC) products.
* ``benzyl_alcohol_infant``: benzyl alcohol is linked to "gasping syndrome" in neonates
  and infants (FDA 1982; USP <797> preservative guidance); a preservative-free
  single-dose product must be ordered instead, so approval is blocked rather than
  left to a judgement at the counter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from pharmacy.domain.regimen import Phase
from pharmacy.domain.units import format_ml, format_number, round_ml

LEVELS = ("info", "warning", "stop")

# Route -> the settings field holding its maximum injection volume.
ROUTE_MAX_FIELD = {"IM": "im_max_ml", "SC": "sc_max_ml"}
ROUTE_NAMES = {"IM": "intramuscular", "SC": "subcutaneous", "IV": "intravenous"}


@dataclass(frozen=True)
class Alert:
    """Hold one alert: a stable ``code``, a ``level`` and a sentence for the pharmacist."""

    code: str
    level: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Return the JSON form ``{"code", "level", "message"}``."""
        return {"code": self.code, "level": self.level, "message": self.message}


@dataclass(frozen=True)
class Thresholds:
    """Hold the SPEC 2.7 thresholds (pharmacy settings, with the SPEC defaults)."""

    max_dose_mcg: int = 1000
    im_max_ml: Decimal = Decimal("2.0")
    sc_max_ml: Decimal = Decimal("1.0")
    min_dose_volume_ml: Decimal = Decimal("0.1")

    def route_max_ml(self, route: str) -> Decimal | None:
        """Return the largest injection volume for ``route``, or None when it has none."""
        field = ROUTE_MAX_FIELD.get(route)
        return getattr(self, field) if field else None


@dataclass(frozen=True, kw_only=True)
class AlertFacts:
    """Hold everything :func:`order_alerts` looks at.

    :param phases: the regimen's phases (dose per phase).
    :param today: the pharmacy's local date (patient age is counted to it).
    :param other_active_orders: Rx numbers of the patient's other submitted or verified
        orders for the same drug.
    :param formulation_matches: an active formulation has this concentration, vial
        volume and container.
    :param benzyl_alcohol: that formulation contains benzyl alcohol.
    """

    phases: Sequence[Phase]
    concentration_mcg_per_ml: Decimal
    vial_volume_ml: Decimal
    container: str
    route: str
    patient_dob: date
    today: date
    thresholds: Thresholds = Thresholds()
    other_active_orders: Sequence[str] = ()
    formulation_matches: bool = True
    benzyl_alcohol: bool = False


def _phase_list(numbers: Sequence[int]) -> str:
    """Return ``phase 2`` or ``phases 1 and 3``."""
    if len(numbers) == 1:
        return f"phase {numbers[0]}"
    return "phases " + ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"


def _volume(phase: Phase, concentration: Decimal) -> Decimal:
    """Return the dose volume rounded to the syringe graduation (SPEC 2.2), never raising."""
    return round_ml(Decimal(phase.dose_mcg) / concentration)


def is_under_one_year(dob: date, today: date) -> bool:
    """Return True when a patient born on ``dob`` has not had a first birthday by ``today``."""
    return bool(today < dob + relativedelta(years=1))


def order_alerts(facts: AlertFacts) -> list[Alert]:
    """Return the SPEC 2.7 alerts for an order, most severe first.

    One alert per kind; a kind that several phases trigger names every phase.
    """
    alerts: list[Alert] = []
    t = facts.thresholds
    numbered = list(enumerate(facts.phases, start=1))
    if facts.route == "IV":
        alerts.append(
            Alert(
                "route_iv",
                "stop",
                "Route IV is not a depot route for this product: compounded cyanocobalamin"
                " here is for IM or SC injection. Ask the prescriber for IM or SC.",
            )
        )
    if facts.benzyl_alcohol and is_under_one_year(facts.patient_dob, facts.today):
        alerts.append(
            Alert(
                "benzyl_alcohol_infant",
                "stop",
                "The patient is under 1 year old and the matching formulation contains benzyl"
                " alcohol (gasping syndrome risk). Order a preservative-free single-dose vial.",
            )
        )
    high = [(n, p) for n, p in numbered if p.dose_mcg > t.max_dose_mcg]
    if high:
        doses = sorted({p.dose_mcg for _, p in high})
        alerts.append(
            Alert(
                "dose_above_max",
                "warning",
                f"{_phase_list([n for n, _ in high]).capitalize()}:"
                f" {', '.join(format_number(d) for d in doses)} mcg per injection is above the"
                f" usual maximum of {format_number(t.max_dose_mcg)} mcg.",
            )
        )
    if facts.concentration_mcg_per_ml > 0:
        volumes = [(n, _volume(p, facts.concentration_mcg_per_ml)) for n, p in numbered]
        route_max = t.route_max_ml(facts.route)
        if route_max is not None:
            big = [(n, v) for n, v in volumes if v > route_max]
            if big:
                largest = max(v for _, v in big)
                alerts.append(
                    Alert(
                        "volume_above_route_max",
                        "warning",
                        f"{_phase_list([n for n, _ in big]).capitalize()}: an injection of"
                        f" {format_ml(largest)} is above the {ROUTE_NAMES[facts.route]} maximum of"
                        f" {format_ml(route_max)}. Consider a higher concentration.",
                    )
                )
        small = [(n, v) for n, v in volumes if v < t.min_dose_volume_ml]
        if small:
            smallest = min(v for _, v in small)
            alerts.append(
                Alert(
                    "dose_volume_below_min",
                    "warning",
                    f"{_phase_list([n for n, _ in small]).capitalize()}: a dose volume of"
                    f" {format_ml(smallest)} is below {format_ml(t.min_dose_volume_ml)} and hard to"
                    " measure accurately. Consider a lower concentration.",
                )
            )
    if facts.other_active_orders:
        rx = ", ".join(facts.other_active_orders)
        alerts.append(
            Alert(
                "duplicate_active_order",
                "warning",
                f"The patient already has an active cyanocobalamin order (Rx {rx})."
                " Check for duplicate therapy; cancel the older order if this one replaces it.",
            )
        )
    if not facts.formulation_matches:
        alerts.append(
            Alert(
                "no_matching_formulation",
                "warning",
                f"No active formulation matches {format_number(facts.concentration_mcg_per_ml)}"
                f" mcg/mL in a {format_ml(facts.vial_volume_ml)} {facts.container} vial:"
                " it cannot be compounded until a master formulation record exists.",
            )
        )
    return sorted(alerts, key=lambda a: -LEVELS.index(a.level))


def has_stop(alerts: Sequence[Alert | dict[str, object]]) -> bool:
    """Return True when any alert (object or JSON dict) has level ``stop``."""
    return any((a["level"] if isinstance(a, dict) else a.level) == "stop" for a in alerts)
