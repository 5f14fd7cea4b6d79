"""Safety alerts a pharmacist sees when verifying an order (SPEC 2.7).

:func:`order_alerts` is pure: the service gathers the facts that need the database
(another active order, a matching formulation, benzyl alcohol in it) and the
thresholds from the pharmacy settings, and passes them in with today's date.

Levels: ``info`` (for the record), ``warning`` (the pharmacist decides), ``stop``
(verification is blocked). Three alerts stop:

* ``route_iv``: cyanocobalamin injections compounded here are depot (IM/SC) products.
* ``benzyl_alcohol_infant``: benzyl alcohol is linked to "gasping syndrome" in neonates
  and infants (FDA 1982; USP <797> preservative guidance); a preservative-free
  single-dose product must be ordered instead, so approval is blocked rather than
  left to a judgement at the counter.
* ``allergy``: an allergy entry names the drug or an ingredient of the formulation
  (SPEC 5.1; the matching is :mod:`pharmacy.domain.allergies`).

A ``warning`` is approved only with a reason (SPEC 5.2, :func:`check_acknowledgements`);
an ``info`` needs none; a ``stop`` cannot be acknowledged.

SPEC 5.7: alert messages may name what another prescriber entered (their allergy entries,
their orders' Rx numbers); such an alert carries a ``prescriber_message`` without it, which
is what prescribers are shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from pharmacy.domain.allergies import AllergyMatch, allergy_status, entry_key, screen
from pharmacy.domain.errors import ConflictError, ValidationFailed
from pharmacy.domain.regimen import Phase
from pharmacy.domain.units import format_ml, format_qty, round_ml

LEVELS = ("info", "warning", "stop")

# Route -> the settings field holding its maximum injection volume.
ROUTE_MAX_FIELD = {"IM": "im_max_ml", "SC": "sc_max_ml"}
ROUTE_NAMES = {"IM": "intramuscular", "SC": "subcutaneous", "IV": "intravenous"}


@dataclass(frozen=True)
class Alert:
    """Hold one alert: a stable ``code``, a ``level`` and a sentence for the pharmacist.

    ``prescriber_message`` replaces ``message`` for prescribers when the message names
    what another prescriber entered (SPEC 5.7); None when the message hides nothing.
    """

    code: str
    level: str
    message: str
    prescriber_message: str | None = None

    def to_dict(self) -> dict[str, str]:
        """Return the stored JSON form ``{"code", "level", "message"[, "prescriber_message"]}``."""
        data = {"code": self.code, "level": self.level, "message": self.message}
        if self.prescriber_message is not None:
            data["prescriber_message"] = self.prescriber_message
        return data


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
    :param hidden_orders: those of ``other_active_orders`` another prescriber wrote.
    :param allergies: the patient's recorded allergy entries; None: not screened.
    :param ingredients: component names of the formulation(s) the order would use.
    :param formulation_name: their name, for the allergy message.
    :param hidden_allergies: entries the order's prescriber did not write.
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
    hidden_orders: Sequence[str] = ()
    allergies: Sequence[str] | None = None
    ingredients: Sequence[str] = ()
    formulation_name: str = ""
    hidden_allergies: Sequence[str] = ()


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
    if facts.allergies is not None:
        alerts.extend(
            allergy_alerts(
                facts.allergies,
                facts.ingredients,
                formulation=facts.formulation_name,
                hidden=facts.hidden_allergies,
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
                f" {', '.join(format_qty(d) for d in doses)} mcg per injection is above the"
                f" usual maximum of {format_qty(t.max_dose_mcg)} mcg.",
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
        alerts.append(_duplicate_alert(facts.other_active_orders, facts.hidden_orders))
    if not facts.formulation_matches:
        alerts.append(
            Alert(
                "no_matching_formulation",
                "warning",
                f"No active formulation matches {format_qty(facts.concentration_mcg_per_ml)}"
                f" mcg/mL in a {format_ml(facts.vial_volume_ml)} {facts.container} vial:"
                " it cannot be compounded until a master formulation record exists.",
            )
        )
    return sorted(alerts, key=lambda a: -LEVELS.index(a.level))


def _duplicate_alert(others: Sequence[str], hidden: Sequence[str]) -> Alert:
    """Return ``duplicate_active_order``; prescribers see only their own Rx numbers."""
    advice = " Check for duplicate therapy; cancel the older order if this one replaces it."
    message = (
        f"The patient already has an active cyanocobalamin order (Rx {', '.join(others)})." + advice
    )
    if not set(hidden) & set(others):
        return Alert("duplicate_active_order", "warning", message)
    own = [rx for rx in others if rx not in hidden]
    said = f"your order Rx {', '.join(own)} and " if own else ""
    prescriber_message = (
        f"The patient already has {said}an active cyanocobalamin order from another"
        " prescriber at this pharmacy. The pharmacist will check for duplicate therapy."
    )
    return Alert("duplicate_active_order", "warning", message, prescriber_message)


def _describe(match: AllergyMatch, formulation: str) -> str:
    if not match.ingredient:
        return f'"{match.allergy}" names {match.substance}, the drug ordered'
    where = f" of {formulation}" if formulation else " of the formulation"
    return f'"{match.allergy}" names {match.substance.lower()}, an ingredient{where}'


def allergy_alerts(
    entries: Sequence[str],
    ingredients: Sequence[str] = (),
    *,
    formulation: str = "",
    hidden: Sequence[str] = (),
) -> list[Alert]:
    """Return the SPEC 5.1 alerts for a patient's allergy entries.

    * ``allergy`` (stop): an entry names the drug or an ingredient; the message names both.
    * ``allergies_unknown`` (warning): nothing is recorded (``NKDA`` and its synonyms count
      as recorded: none known).

    :param formulation: the name of the formulation the ingredients come from.
    :param hidden: entries the order's prescriber did not write (SPEC 5.7): the message a
        prescriber sees names the substance but not those entries.
    """
    if allergy_status(entries) == "unknown":
        return [
            Alert(
                "allergies_unknown",
                "warning",
                "No allergies are recorded for the patient (not even NKDA). Ask the patient or"
                " the prescriber, and record what you learn on the patient page.",
            )
        ]
    matches = screen(entries, ingredients)
    if not matches:
        return []
    message = (
        "Allergy: "
        + "; ".join(_describe(m, formulation) for m in matches)
        + ". Do not approve: reject the order and contact the prescriber."
    )
    hidden_keys = {entry_key(h) for h in hidden}
    private = [m for m in matches if entry_key(m.allergy) in hidden_keys]
    if not private:
        return [Alert("allergy", "stop", message)]
    shown = [_describe(m, formulation) for m in matches if m not in private]
    substances = ", ".join(sorted({m.substance.lower() for m in private}))
    prescriber_message = (
        "Allergy: "
        + "; ".join([*shown, f"an allergy on the pharmacy's record names {substances}"])
        + ". The pharmacy will contact you."
    )
    return [Alert("allergy", "stop", message, prescriber_message)]


def check_acknowledgements(
    alerts: Sequence[Alert | Mapping[str, str]],
    acknowledgements: Mapping[str, object] | None,
    *,
    shown: Sequence[str] = (),
) -> dict[str, str]:
    """Return the reason given for each ``warning``, trimmed (SPEC 5.2).

    :param alerts: the order's alerts (objects or their JSON dicts), as computed now.
    :param acknowledgements: alert code -> reason, as sent.
    :param shown: codes of the alerts the pharmacist was shown (stored on the order). A
        reason for one of them that no longer applies (the allergies were recorded
        meanwhile) is dropped, not refused.
    :raise ConflictError: a ``stop`` alert is acknowledged (it cannot be: 409).
    :raise ValidationFailed: a warning without a reason, a blank or non-text reason, or a
        code that is not an alert on the order; keyed ``acknowledgements.<code>``.
    """
    given = dict(acknowledgements or {})
    by_code: dict[str, tuple[str, str]] = {}
    for a in alerts:
        code, level, message = (
            (a["code"], a["level"], a["message"])
            if isinstance(a, Mapping)
            else (a.code, a.level, a.message)
        )
        by_code[code] = (level, message)
    stops = [by_code[c][1] for c in given if by_code.get(c, ("",))[0] == "stop"]
    if stops:
        raise ConflictError(
            "acknowledgements",
            "A stop alert cannot be acknowledged: " + " ".join(stops),
        )
    errors: dict[str, str] = {}
    for code in list(given):
        if code not in by_code and code in shown:
            del given[code]
        elif code not in by_code:
            errors[f"acknowledgements.{code}"] = (
                "There is no such alert on this order: acknowledge only the alerts it shows."
            )
    reasons: dict[str, str] = {}
    for code, (level, message) in by_code.items():
        raw = given.get(code)
        text = raw.strip() if isinstance(raw, str) else ""
        if raw is not None and not isinstance(raw, str):
            errors[f"acknowledgements.{code}"] = "The reason must be text."
        elif text:
            reasons[code] = text
        elif level == "warning":
            errors[f"acknowledgements.{code}"] = f"Give a reason for approving despite: {message}"
    if errors:
        raise ValidationFailed(errors)
    return reasons


def has_stop(alerts: Sequence[Alert | dict[str, object]]) -> bool:
    """Return True when any alert (object or JSON dict) has level ``stop``."""
    return any((a["level"] if isinstance(a, dict) else a.level) == "stop" for a in alerts)
