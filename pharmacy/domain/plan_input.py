"""Validate JSON-like plan inputs (SPEC 2.1-2.3, ``POST /plan``) into domain objects.

Every field error is collected, keyed by its JSON path (``phases[1].count``,
``vial_options[0].vial_volume_ml``, ``start_date``), and raised at once as
:class:`~pharmacy.domain.errors.ValidationFailed`, so a form or the API can show them all.

Numbers may be JSON numbers or numeric strings; they go through ``Decimal(str(x))`` so a
binary float never becomes a quantity. Booleans, NaN, Infinity and other values are
rejected; whole-number fields accept ``7`` and ``"7.0"`` but not ``7.5``.

Limits beyond SPEC, to keep absurd input from overflowing dates or numbers (never a 500
for bad input): ``dose_mcg`` at most 100,000; ``every`` at most 365; ``count`` at most
10,000; at most 20 phases and 10 vial options; ``start_date`` in the years 1900-2999;
``bud_days`` at most 3,650; vial volumes in 0.01 mL steps, a single-dose vial at most
100 mL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.regimen import UNITS, WEEKDAYS, Phase, Regimen
from pharmacy.domain.sig import ROUTES
from pharmacy.domain.units import NumberError, dose_volume_ml, format_ml, read_decimal
from pharmacy.domain.vials import (
    CONTAINERS,
    MAX_IN_USE_DAYS,
    OptionsPlan,
    PlanRequest,
    VialPlan,
    VialSpec,
    plan_options,
    plan_vials,
)

MAX_DOSE_MCG = 100_000
MAX_EVERY = 365
MAX_COUNT = 10_000
MAX_PHASES = 20
MAX_VIAL_OPTIONS = 10
MAX_DAYS_SUPPLY = 365
MAX_FILLS = 13  # SPEC: 1 + refills; 12 refills a year at most
MAX_BUD_DAYS = 3650
MIN_CONCENTRATION = Decimal(1)
MAX_CONCENTRATION = Decimal(100_000)
MAX_MULTIPLE_DOSE_ML = Decimal(30)
MAX_SINGLE_DOSE_ML = Decimal(100)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MISSING = object()


@dataclass(frozen=True)
class PlanInput:
    """Hold a validated plan request and, for ``vial_options``, the options in order.

    With ``vial_options``, ``request.vial`` is the first option and ``vial_options`` holds
    them all; with one vial, ``vial_options`` is empty.
    """

    request: PlanRequest
    vial_options: tuple[VialSpec, ...] = ()

    @property
    def has_options(self) -> bool:
        """Return True when the input compared several vial options."""
        return bool(self.vial_options)

    def plan(self) -> VialPlan | OptionsPlan:
        """Run the planner the input asks for: :func:`plan_options` or :func:`plan_vials`."""
        if self.vial_options:
            return plan_options(self.request, self.vial_options)
        return plan_vials(self.request)


class _Errors(dict[str, str]):
    """Collect field errors; the first error for a path wins."""

    def add(self, path: str, message: str) -> None:
        """Record ``message`` for ``path`` unless one is already there."""
        self.setdefault(path, message)


def _path(prefix: str, key: str) -> str:
    """Join a JSON path and a key: ``phases[0]`` + ``count``."""
    return f"{prefix}.{key}" if prefix else key


def _to_decimal(value: object) -> Decimal | str:
    """Return ``value`` as a finite, bounded Decimal (:func:`read_decimal`), or an error message."""
    try:
        return read_decimal(value)
    except NumberError as exc:
        return exc.message


def _get(data: Mapping[str, object], key: str) -> object:
    """Return ``data[key]``, treating JSON null like a missing key."""
    value = data.get(key, _MISSING)
    return _MISSING if value is None else value


def _decimal(
    data: Mapping[str, object],
    key: str,
    prefix: str,
    errors: _Errors,
    *,
    label: str,
    low: Decimal,
    high: Decimal,
    low_inclusive: bool = True,
    too_high: str | None = None,
) -> Decimal | None:
    """Return a required decimal field within its range, or record an error and return None."""
    path = _path(prefix, key)
    raw = _get(data, key)
    if raw is _MISSING:
        errors.add(path, f"{label} is required.")
        return None
    number = _to_decimal(raw)
    if isinstance(number, str):
        errors.add(path, number)
        return None
    too_low = number < low if low_inclusive else number <= low
    if number > high and too_high:
        errors.add(path, too_high)
        return None
    if too_low or number > high:
        if low_inclusive:
            errors.add(path, f"{label} must be from {low:,} to {high:,}.")
        else:
            errors.add(path, f"{label} must be more than {low:,} and at most {high:,}.")
        return None
    return number


def _integer(
    data: Mapping[str, object],
    key: str,
    prefix: str,
    errors: _Errors,
    *,
    label: str,
    low: int,
    high: int,
    default: object = _MISSING,
) -> int | None:
    """Return a whole-number field within ``low..high``; ``default`` when absent, if given."""
    path = _path(prefix, key)
    raw = _get(data, key)
    if raw is _MISSING:
        if default is _MISSING:
            errors.add(path, f"{label} is required.")
        return default if isinstance(default, int) else None
    number = _to_decimal(raw)
    if isinstance(number, str):
        errors.add(path, number)
        return None
    # Range first on the Decimal, so "1e999999" never becomes a huge int.
    if number != number.to_integral_value():
        errors.add(path, f"{label} must be a whole number.")
        return None
    if not low <= number <= high:
        errors.add(path, f"{label} must be a whole number from {low:,} to {high:,}.")
        return None
    return int(number)


def _phase(raw: object, prefix: str, last: bool, errors: _Errors) -> Phase | None:
    """Return one phase of ``phases``, or record its field errors and return None."""
    if not isinstance(raw, Mapping):
        errors.add(prefix, "Each phase must be an object with dose_mcg, every, unit and count.")
        return None
    before = len(errors)
    dose = _integer(
        raw, "dose_mcg", prefix, errors, label="The dose (mcg)", low=1, high=MAX_DOSE_MCG
    )
    every = _integer(raw, "every", prefix, errors, label="The interval", low=1, high=MAX_EVERY)
    unit = raw.get("unit")
    if unit is None:
        errors.add(_path(prefix, "unit"), "The unit is required.")
    elif unit not in UNITS:
        errors.add(_path(prefix, "unit"), "The unit must be day, week or month.")
    count: int | None = None
    if _get(raw, "count") is _MISSING:
        if not last:
            errors.add(_path(prefix, "count"), "Only the last phase may be open-ended.")
    else:
        count = _integer(
            raw, "count", prefix, errors, label="The number of doses", low=1, high=MAX_COUNT
        )
    weekdays = _weekdays(raw.get("weekdays"), _path(prefix, "weekdays"), errors)
    if weekdays and (unit != "week" or every != 1):
        errors.add(
            _path(prefix, "weekdays"), "Weekdays need a phase of once every 1 week (unit week)."
        )
    if len(errors) > before or dose is None or every is None:
        return None
    return Phase(dose, every, str(unit), count, weekdays or ())


def _weekdays(raw: object, path: str, errors: _Errors) -> tuple[str, ...] | None:
    """Return the listed weekdays (lower case), () when none, or None after an error."""
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        errors.add(path, 'Weekdays must be a list such as ["mon", "wed", "fri"].')
        return None
    days: list[str] = []
    for item in raw:
        day = item.strip().lower() if isinstance(item, str) else None
        if day is None or day not in WEEKDAYS:
            errors.add(path, f"Unknown weekday {item!r}: use mon, tue, wed, thu, fri, sat, sun.")
            return None
        if day in days:
            errors.add(path, f"The weekday {day!r} is listed twice.")
            return None
        days.append(day)
    return tuple(days)


def _phases(raw: object, field: str, errors: _Errors) -> Regimen | None:
    """Return the regimen in ``raw`` (the phases list), or record errors and return None."""
    if raw is None:
        errors.add(field, "Add at least one phase.")
        return None
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        errors.add(field, "The phases must be a list.")
        return None
    if not raw:
        errors.add(field, "Add at least one phase.")
        return None
    if len(raw) > MAX_PHASES:
        errors.add(field, f"A regimen has at most {MAX_PHASES} phases.")
        return None
    phases = [
        _phase(item, f"{field}[{i}]", i == len(raw) - 1, errors) for i, item in enumerate(raw)
    ]
    if any(p is None for p in phases):
        return None
    return Regimen(tuple(p for p in phases if p is not None))


def parse_phases(data: Mapping[str, object] | Sequence[object], field: str = "phases") -> Regimen:
    """Return the regimen from ``data``: a body holding ``field``, or the phases list itself.

    Errors are keyed ``{field}[i].{key}``, e.g. ``phases[1].count``.

    :raise ValidationFailed: every phase error at once.
    """
    errors = _Errors()
    raw = data.get(field) if isinstance(data, Mapping) else data
    regimen = _phases(raw, field, errors)
    if errors or regimen is None:
        raise ValidationFailed(errors or {field: "Add at least one phase."})
    return regimen


def _start_date(data: Mapping[str, object], errors: _Errors) -> date | None:
    """Return ``start_date`` from a strict ``YYYY-MM-DD`` string."""
    raw = data.get("start_date")
    if raw is None:
        errors.add("start_date", "The start date is required.")
        return None
    if not isinstance(raw, str) or not _ISO_DATE.fullmatch(raw.strip()):
        errors.add("start_date", "Enter the start date as YYYY-MM-DD.")
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        errors.add("start_date", f"{raw.strip()} is not a calendar date.")
        return None
    if not 1900 <= day.year <= 2999:
        errors.add("start_date", "The start date must be in the years 1900 to 2999.")
        return None
    return day


def _vial(data: Mapping[str, object], prefix: str, errors: _Errors) -> VialSpec | None:
    """Return one vial from ``vial_volume_ml`` and ``container`` under ``prefix``."""
    container = data.get("container")
    container_ok = container in CONTAINERS
    if container is None:
        errors.add(_path(prefix, "container"), "The container is required.")
    elif not container_ok:
        errors.add(
            _path(prefix, "container"), "The container must be single-dose or multiple-dose."
        )
    volume = _decimal(
        data,
        "vial_volume_ml",
        prefix,
        errors,
        label="The vial volume (mL)",
        low=Decimal(0),
        high=MAX_MULTIPLE_DOSE_ML if container == "multiple-dose" else MAX_SINGLE_DOSE_ML,
        low_inclusive=False,
        too_high=(
            f"A {container} vial holds at most {format_ml(MAX_MULTIPLE_DOSE_ML)}."
            if container == "multiple-dose"
            else None
        ),
    )
    if volume is None:
        return None
    if volume != volume.quantize(Decimal("0.01")):
        errors.add(_path(prefix, "vial_volume_ml"), "Give the vial volume to 0.01 mL.")
        return None
    if not container_ok:
        return None
    return VialSpec(volume.quantize(Decimal("0.01")), str(container))


def _vials(data: Mapping[str, object], errors: _Errors) -> list[VialSpec | None]:
    """Return the vial options (or the one vial); None marks an option with errors."""
    options = data.get("vial_options")
    if options is None:
        return [_vial(data, "", errors)]
    if data.get("vial_volume_ml") is not None or data.get("container") is not None:
        errors.add(
            "vial_options", "Give either vial_volume_ml and container, or vial_options, not both."
        )
        return [None]
    if not isinstance(options, Sequence) or isinstance(options, (str, bytes)) or not options:
        errors.add("vial_options", "Give a list of at least one {vial_volume_ml, container}.")
        return [None]
    if len(options) > MAX_VIAL_OPTIONS:
        errors.add("vial_options", f"Compare at most {MAX_VIAL_OPTIONS} vial options.")
        return [None]
    specs: list[VialSpec | None] = []
    for i, option in enumerate(options):
        if not isinstance(option, Mapping):
            errors.add(f"vial_options[{i}]", "Each option needs vial_volume_ml and container.")
            specs.append(None)
        else:
            specs.append(_vial(option, f"vial_options[{i}]", errors))
    return specs


def _check_dose_volumes(
    regimen: Regimen,
    concentration: Decimal,
    vials: list[VialSpec | None],
    options: bool,
    errors: _Errors,
) -> None:
    """Record SPEC 2.2 dose-volume errors: below 0.05 mL, or more than a vial holds."""
    for number, phase in enumerate(regimen.phases, start=1):
        try:
            volume = dose_volume_ml(phase.dose_mcg, concentration, phase=number)
        except DomainError as exc:
            errors.add(exc.field, exc.message)
            continue
        for i, vial in enumerate(vials):
            if vial is None or volume <= vial.volume_ml:
                continue
            message = (
                f"Phase {number}'s dose of {format_ml(volume)} is more than the"
                f" {format_ml(vial.volume_ml)} vial holds; a dose is never drawn from two vials."
            )
            if options:
                errors.add(f"vial_options[{i}].vial_volume_ml", message)
            else:
                errors.add(f"phases[{number - 1}].dose_mcg", message)


def parse_plan_request(data: object, *, refills: bool = False) -> PlanInput:
    """Return the validated plan input from a JSON-like body (SPEC 2.3, ``POST /plan``).

    :param refills: read ``refills`` (0..12; fills = refills + 1) instead of ``fills``,
        as an order body carries (SPEC 3, order body).
    :raise ValidationFailed: every field error at once, keyed by JSON path.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed({"": "The request body must be a JSON object."})
    errors = _Errors()
    regimen = _phases(data.get("phases"), "phases", errors)
    start = _start_date(data, errors)
    concentration = _decimal(
        data,
        "concentration_mcg_per_ml",
        "",
        errors,
        label="The concentration (mcg/mL)",
        low=MIN_CONCENTRATION,
        high=MAX_CONCENTRATION,
    )
    vials = _vials(data, errors)
    in_use_days = _integer(
        data,
        "in_use_days",
        "",
        errors,
        label="The in-use time (days)",
        low=1,
        high=MAX_IN_USE_DAYS,
        default=MAX_IN_USE_DAYS,
    )
    days_supply = _integer(
        data, "days_supply", "", errors, label="The days supply", low=1, high=MAX_DAYS_SUPPLY
    )
    if refills:
        refill_count = _integer(
            data, "refills", "", errors, label="Refills", low=0, high=MAX_FILLS - 1
        )
        fills = None if refill_count is None else refill_count + 1
    else:
        fills = _integer(data, "fills", "", errors, label="Fills", low=1, high=MAX_FILLS)
    bud_days = _integer(
        data, "bud_days", "", errors, label="The BUD (days)", low=1, high=MAX_BUD_DAYS, default=None
    )
    route = data.get("route")
    if route is None:
        route = "IM"
    elif not isinstance(route, str) or route not in ROUTES:
        errors.add("route", "The route must be IM or SC.")
    if regimen is not None and concentration is not None:
        has_options = data.get("vial_options") is not None
        _check_dose_volumes(regimen, concentration, vials, has_options, errors)
    if errors:
        raise ValidationFailed(errors)
    # No errors means every part parsed; the asserts only narrow the types.
    assert regimen is not None and start is not None and concentration is not None
    assert days_supply is not None and fills is not None and in_use_days is not None
    specs = tuple(v for v in vials if v is not None)
    request = PlanRequest(
        regimen=regimen,
        start_date=start,
        concentration_mcg_per_ml=concentration,
        vial=specs[0],
        in_use_days=in_use_days,
        days_supply=days_supply,
        fills=fills,
        bud_days=bud_days,
        route=str(route),
    )
    return PlanInput(request, specs if data.get("vial_options") is not None else ())
