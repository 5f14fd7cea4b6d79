"""Validate an order body (SPEC section 3, "Order body") into an :class:`OrderInput`.

The dosing fields go through :func:`~pharmacy.domain.plan_input.parse_plan_request`
(with ``refills``), so the order page, ``POST /orders`` and FHIR imports apply exactly
the plan page's rules. On top of those, this module checks the patient, the drug, the
route, the text fields and the order-only limits:

* ``refills`` 0..11 (a prescription is good for a year: the original fill plus 11).
* ``route`` ``IM``, ``SC`` or ``IV``. IV is accepted here on purpose: it is not a depot
  route for this product, and the pharmacist must see a ``stop`` alert for it
  (:mod:`pharmacy.domain.alerts`) rather than the prescriber getting a form error.
  The plan of an IV order is computed as if IM (volumes do not depend on the route).
* ``patient.dob`` not after ``today``, not before 1900.
* ``patient.allergies`` free text or a list of strings (SPEC 5.1), split into entries by
  :func:`~pharmacy.domain.allergies.parse_allergies`; at most 50 entries of 200 characters.
* ``patient.phone`` and ``patient.address`` optional text (SPEC 5.7: the recall contact list).

Every error is keyed by its JSON path (``patient.dob``, ``phases[1].count``) and
raised at once as :class:`~pharmacy.domain.errors.ValidationFailed`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pharmacy.domain.allergies import (
    MAX_ENTRIES,
    MAX_ENTRY_LENGTH,
    format_allergies,
    parse_allergies,
)
from pharmacy.domain.dates import check_start_date
from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.followup import (
    CAUSES,
    DEFAULT_INTERVAL_MONTHS,
    DEFAULT_MONITOR_TESTS,
    MAX_INTERVAL_MONTHS,
    MONITOR_TESTS,
    ClinicalFrame,
    normalise_tests,
)
from pharmacy.domain.plan_input import parse_plan_request
from pharmacy.domain.regimen import Regimen, phase_to_dict
from pharmacy.domain.units import NumberError, read_decimal
from pharmacy.domain.vials import PlanRequest

DRUGS = ("cyanocobalamin",)
ORDER_ROUTES = ("IM", "SC", "IV")
MAX_REFILLS = 11
MAX_NAME = 80
MAX_MRN = 40
MAX_PHONE = 40
MAX_ADDRESS = 500
MAX_TEXT = 2000
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class PatientInput:
    """Hold the patient named in an order; ``mrn`` is None when not given.

    ``allergies`` holds the entries the order states (none: the order says nothing).
    """

    first_name: str
    last_name: str
    dob: date
    mrn: str | None = None
    allergies: tuple[str, ...] = ()
    phone: str = ""
    address: str = ""

    def to_dict(self) -> dict[str, object]:
        """Return the order-body JSON form."""
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "dob": self.dob.isoformat(),
            "mrn": self.mrn,
            "allergies": format_allergies(self.allergies),
            "phone": self.phone,
            "address": self.address,
        }


@dataclass(frozen=True, kw_only=True)
class OrderInput:
    """Hold a validated order body; ``plan_request`` is ready for the vial planner."""

    patient: PatientInput
    drug: str
    concentration_mcg_per_ml: Decimal
    vial_volume_ml: Decimal
    container: str
    route: str
    start_date: date
    regimen: Regimen
    days_supply: int
    refills: int
    indication: str
    compounding_reason: str
    notes: str
    plan_request: PlanRequest
    frame: ClinicalFrame = field(default_factory=ClinicalFrame)

    @property
    def phases(self) -> list[dict[str, object]]:
        """Return the regimen as the SPEC 2.1 phases list."""
        return [phase_to_dict(p) for p in self.regimen.phases]


def _text(
    data: Mapping[str, object],
    key: str,
    path: str,
    errors: dict[str, str],
    *,
    label: str,
    required: bool,
    limit: int = MAX_TEXT,
) -> str:
    """Return a trimmed string field, recording an error when missing, too long or not text."""
    raw = data.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors.setdefault(path, f"{label} is required.")
        return ""
    if not isinstance(raw, str):
        errors.setdefault(path, f"{label} must be text.")
        return ""
    text = raw.strip()
    if len(text) > limit:
        errors.setdefault(path, f"{label} must be at most {limit:,} characters.")
        return ""
    return text


def _dob(raw: object, today: date, errors: dict[str, str]) -> date | None:
    """Return the date of birth from ``YYYY-MM-DD``: a real date, not in the future."""
    path = "patient.dob"
    if raw is None or raw == "":
        errors.setdefault(path, "The date of birth is required.")
        return None
    if not isinstance(raw, str) or not _ISO_DATE.fullmatch(raw.strip()):
        errors.setdefault(path, "Enter the date of birth as YYYY-MM-DD.")
        return None
    try:
        dob = date.fromisoformat(raw.strip())
    except ValueError:
        errors.setdefault(path, f"{raw.strip()} is not a calendar date.")
        return None
    if dob > today:
        errors.setdefault(path, "The date of birth is in the future.")
        return None
    if dob.year < 1900:
        errors.setdefault(path, "The date of birth must be in 1900 or later.")
        return None
    return dob


def parse_allergy_field(raw: object, path: str, errors: dict[str, str]) -> tuple[str, ...]:
    """Return the allergy entries of free text or a list, recording shape errors at ``path``."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        if len(raw.strip()) > MAX_TEXT:
            errors.setdefault(path, f"Allergies must be at most {MAX_TEXT:,} characters.")
            return ()
        entries = parse_allergies(raw)
    elif isinstance(raw, list):
        if len(raw) > MAX_ENTRIES:
            errors.setdefault(path, f"List at most {MAX_ENTRIES} allergies.")
            return ()
        for i, item in enumerate(raw):
            if not isinstance(item, str):
                errors.setdefault(f"{path}[{i}]", "Each allergy must be text.")
            elif len(item.strip()) > MAX_ENTRY_LENGTH:
                errors.setdefault(
                    f"{path}[{i}]", f"Each allergy has at most {MAX_ENTRY_LENGTH} characters."
                )
        if any(k.startswith(f"{path}[") for k in errors):
            return ()
        entries = parse_allergies(raw)
    else:
        errors.setdefault(path, "Allergies must be text or a list of texts.")
        return ()
    if len(entries) > MAX_ENTRIES:
        errors.setdefault(path, f"List at most {MAX_ENTRIES} allergies.")
        return ()
    return entries


def parse_patient(raw: object, today: date, errors: dict[str, str]) -> PatientInput | None:
    """Return the order's patient, or record its field errors (``patient.*``) and return None."""
    if not isinstance(raw, Mapping):
        errors.setdefault("patient", "The patient is required: first_name, last_name and dob.")
        return None
    before = len(errors)
    first = _text(
        raw,
        "first_name",
        "patient.first_name",
        errors,
        label="The first name",
        required=True,
        limit=MAX_NAME,
    )
    last = _text(
        raw,
        "last_name",
        "patient.last_name",
        errors,
        label="The last name",
        required=True,
        limit=MAX_NAME,
    )
    dob = _dob(raw.get("dob"), today, errors)
    mrn = _text(raw, "mrn", "patient.mrn", errors, label="The MRN", required=False, limit=MAX_MRN)
    allergies = parse_allergy_field(raw.get("allergies"), "patient.allergies", errors)
    phone = _text(
        raw, "phone", "patient.phone", errors, label="The phone", required=False, limit=MAX_PHONE
    )
    address = _text(
        raw,
        "address",
        "patient.address",
        errors,
        label="The address",
        required=False,
        limit=MAX_ADDRESS,
    )
    if len(errors) > before or dob is None:
        return None
    return PatientInput(first, last, dob, mrn or None, allergies, phone, address)


def _refills(raw: object, errors: dict[str, str]) -> None:
    """Record the order-only refill limit (0..11); the plan parser checks the rest."""
    try:
        number = read_decimal(raw)
    except NumberError:
        return  # the plan parser names what is wrong with it
    if number == number.to_integral_value() and not (0 <= number <= MAX_REFILLS):
        errors["refills"] = f"Refills must be a whole number from 0 to {MAX_REFILLS}."


def _whole(raw: object) -> int | None:
    """Return a JSON whole number (not a bool), else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) <= 4:
        return int(raw.strip())
    return None


def parse_frame(data: Mapping[str, object], errors: dict[str, str]) -> ClinicalFrame:
    """Return the SPEC 7.1 clinical frame (``cause``, ``neurologic_symptoms``, ``monitoring``).

    Each is optional and defaults as the SPEC says; errors are recorded by JSON path.
    """
    cause = data.get("cause")
    if cause is None or cause == "":
        cause = "unknown"
    elif not isinstance(cause, str) or cause not in CAUSES:
        errors["cause"] = "The cause must be one of " + ", ".join(CAUSES) + "."
        cause = "unknown"
    neuro = data.get("neurologic_symptoms")
    if neuro is None:
        neuro = False
    elif not isinstance(neuro, bool):
        errors["neurologic_symptoms"] = "neurologic_symptoms must be true or false."
        neuro = False
    tests: tuple[str, ...] = DEFAULT_MONITOR_TESTS
    interval = DEFAULT_INTERVAL_MONTHS
    monitoring = data.get("monitoring")
    if monitoring is not None:
        if not isinstance(monitoring, Mapping):
            errors["monitoring"] = "monitoring must be an object with tests and interval_months."
        else:
            for key in monitoring:
                if key not in ("tests", "interval_months"):
                    errors[f"monitoring.{key}"] = "Unknown field: use tests and interval_months."
            raw_tests = monitoring.get("tests")
            if raw_tests is not None:
                if not isinstance(raw_tests, list) or not raw_tests:
                    errors["monitoring.tests"] = (
                        "List at least one test: " + ", ".join(MONITOR_TESTS) + "."
                    )
                else:
                    for i, test in enumerate(raw_tests):
                        if not isinstance(test, str) or test not in MONITOR_TESTS:
                            errors[f"monitoring.tests[{i}]"] = (
                                f"Unknown test {test!r}: use " + ", ".join(MONITOR_TESTS) + "."
                            )
                    if not any(k.startswith("monitoring.tests") for k in errors):
                        tests = normalise_tests(raw_tests)
            raw_interval = monitoring.get("interval_months")
            if raw_interval is not None:
                months = _whole(raw_interval)
                if months is None or not 1 <= months <= MAX_INTERVAL_MONTHS:
                    errors["monitoring.interval_months"] = (
                        f"The interval must be a whole number of months from 1 to"
                        f" {MAX_INTERVAL_MONTHS}."
                    )
                else:
                    interval = months
    return ClinicalFrame(cause, neuro, tests, interval)


def _start_date(data: Mapping[str, object]) -> date | None:
    """Return the body's ``start_date`` when it is a plain ISO date, else None."""
    raw = data.get("start_date")
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str) and len(raw) <= 10:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None
    return None


def parse_order(
    data: object,
    today: date,
    *,
    in_use_days: int | None = None,
    max_backdate_days: int | None = None,
) -> OrderInput:
    """Return the validated order in ``data`` (SPEC section 3 order body).

    :param today: the pharmacy's local date (dates of birth may not be after it).
    :param in_use_days: days a punctured multiple-dose vial is used (settings default);
        None keeps the planner's default.
    :param max_backdate_days: when given, ``start_date`` must lie from this many days before
        ``today`` to 365 days after it (SPEC 5.3); None accepts any date (the plan preview).
    :raise ValidationFailed: every field error at once, keyed by JSON path.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed({"": "The order must be a JSON object."})
    errors: dict[str, str] = {}
    patient = parse_patient(data.get("patient"), today, errors)
    drug = data.get("drug")
    if drug is None or drug == "":
        errors["drug"] = "The drug is required (cyanocobalamin)."
    elif not isinstance(drug, str) or drug.strip().lower() not in DRUGS:
        errors["drug"] = f"Unknown drug {drug!r}: this pharmacy compounds only cyanocobalamin."
    route = data.get("route")
    if route is None or route == "":
        errors["route"] = "The route is required (IM or SC)."
    elif not isinstance(route, str) or route.strip().upper() not in ORDER_ROUTES:
        errors["route"] = "The route must be IM or SC."
    route_code = route.strip().upper() if isinstance(route, str) else "IM"
    indication = _text(
        data, "indication", "indication", errors, label="The indication", required=True
    )
    reason = _text(
        data,
        "compounding_reason",
        "compounding_reason",
        errors,
        label="The compounding reason (why not a commercial product)",
        required=True,
    )
    notes = _text(data, "notes", "notes", errors, label="Notes", required=False)
    frame = parse_frame(data, errors)
    _refills(data.get("refills"), errors)

    plan_body = {
        key: data.get(key)
        for key in (
            "phases",
            "start_date",
            "concentration_mcg_per_ml",
            "vial_volume_ml",
            "container",
            "days_supply",
            "refills",
        )
    }
    # The plan parser knows only IM and SC; the route was checked above.
    plan_body["route"] = route_code if route_code in ("IM", "SC") else "IM"
    if in_use_days is not None:
        plan_body["in_use_days"] = in_use_days
    plan = None
    try:
        plan = parse_plan_request(plan_body, refills=True)
    except ValidationFailed as exc:
        for path, message in exc.errors.items():
            errors.setdefault(path, message)
    if max_backdate_days is not None and "start_date" not in errors:
        start = plan.request.start_date if plan is not None else _start_date(data)
        problem = (
            check_start_date(start, today, max_backdate_days=max_backdate_days)
            if start is not None
            else None
        )
        if problem is not None:
            errors[problem.field] = problem.message
    if errors:
        raise ValidationFailed(errors)
    assert plan is not None and patient is not None
    request = plan.request
    return OrderInput(
        patient=patient,
        drug="cyanocobalamin",
        concentration_mcg_per_ml=request.concentration_mcg_per_ml,
        vial_volume_ml=request.vial.volume_ml,
        container=request.vial.container,
        route=route_code,
        start_date=request.start_date,
        regimen=request.regimen,
        days_supply=request.days_supply,
        refills=request.fills - 1,
        indication=indication,
        compounding_reason=reason,
        notes=notes,
        plan_request=request,
        frame=frame,
    )
