"""Therapy follow-up (SPEC section 7).

The order's clinical frame, lab results, symptom reports, checkpoint statuses and adherence.
Pure: dates and values are passed in.

Sources of the tables (also in ``../shared/research/domain.md`` section 3):

* Repletion then maintenance, lifelong for pernicious anaemia: US cyanocobalamin label
  ("will be required for the remainder of the patient's life"), BNF ("with neurological
  involvement: 1 mg on alternate days until no further improvement").
* Labs: serum B12, CBC (haemoglobin, MCV), MMA and homocysteine as functional markers
  (AAFP, Langan & Goodbred 2017, PMID 28925645). LOINC codes from loinc.org:
  2132-9 "Cobalamin (Vitamin B12) [Mass/volume] in Serum or Plasma", 13964-8
  "Methylmalonate [Moles/volume] in Serum or Plasma", 13965-9 "Homocysteine [Moles/volume]
  in Serum or Plasma", 718-7 "Hemoglobin [Mass/volume] in Blood", 787-2 "MCV [Entitic
  volume] by Automated count". Units are UCUM codes (unitsofmeasure.org).
* Unit factors (SPEC 7.2): cobalamin's molar mass is 1355.4 g/mol, so 1 pmol/L =
  1.355 pg/mL; 1 ng/L = 1 pg/mL; 1 umol/L = 1000 nmol/L; 1 g/L = 0.1 g/dL.
* Default reference ranges (SPEC 7.2, pharmacy settings): B12 200-900 pg/mL, MMA
  0-400 nmol/L, homocysteine 0-15 umol/L, haemoglobin 12.0-17.5 g/dL, MCV 80-100 fL.
* Plausibility ceilings (values above are typing or unit errors, refused): far above
  anything a lab reports (B12 after injections rarely passes a few thousand pg/mL).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from pharmacy.domain.alerts import Alert
from pharmacy.domain.errors import DomainError
from pharmacy.domain.regimen import Phase

# --- 7.1 the order's clinical frame -------------------------------------------------------

CAUSES = (
    "dietary",
    "pernicious_anemia",
    "malabsorption",
    "gastric_surgery",
    "medication",
    "other",
    "unknown",
)
# Causes that do not go away: maintenance is usually lifelong (US label, BNF; SPEC 7.1).
LASTING_CAUSES = frozenset({"pernicious_anemia", "malabsorption", "gastric_surgery"})
CAUSE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "dietary": "Dietary",
        "pernicious_anemia": "Pernicious anaemia",
        "malabsorption": "Malabsorption",
        "gastric_surgery": "Gastric surgery",
        "medication": "Medication (e.g. metformin, PPI)",
        "other": "Other",
        "unknown": "Unknown",
    }
)
MONITOR_TESTS = ("b12", "cbc", "mma", "homocysteine")
MONITOR_LABELS: Mapping[str, str] = MappingProxyType(
    {"b12": "serum B12", "cbc": "CBC", "mma": "MMA", "homocysteine": "homocysteine"}
)
DEFAULT_MONITOR_TESTS = ("b12", "cbc")
DEFAULT_INTERVAL_MONTHS = 3
MAX_INTERVAL_MONTHS = 12


@dataclass(frozen=True)
class ClinicalFrame:
    """Hold what the order says about the therapy (SPEC 7.1)."""

    cause: str = "unknown"
    neurologic_symptoms: bool = False
    tests: tuple[str, ...] = DEFAULT_MONITOR_TESTS
    interval_months: int = DEFAULT_INTERVAL_MONTHS

    def to_dict(self) -> dict[str, object]:
        """Return the order-body JSON form (``cause``, ``neurologic_symptoms``, ``monitoring``)."""
        return {
            "cause": self.cause,
            "neurologic_symptoms": self.neurologic_symptoms,
            "monitoring": {"tests": list(self.tests), "interval_months": self.interval_months},
        }


def normalise_tests(tests: Iterable[str]) -> tuple[str, ...]:
    """Return monitoring tests in the canonical order (b12, cbc, mma, homocysteine), once each.

    Version-1 orders stored the extra tests as people write them (``MMA``); those read as
    codes here. Anything not a monitoring test is dropped.
    """
    wanted = {str(t).strip().lower() for t in tests}
    return tuple(t for t in MONITOR_TESTS if t in wanted)


def _phase_interval_days(phase: Phase) -> Decimal:
    """Return the average days between doses of ``phase`` (a month counts as 28 days or more)."""
    if phase.weekdays:
        return Decimal(7) / Decimal(len(phase.weekdays))
    per = {"day": 1, "week": 7, "month": 28}[phase.unit]
    return Decimal(phase.every * per)


def clinical_alerts(frame: ClinicalFrame, phases: Sequence[Phase]) -> list[Alert]:
    """Return the SPEC 7.1 alerts for an order's clinical frame and regimen.

    * ``maintenance_ends`` (warning): a lasting cause, and the regimen's last phase has a
      dose count, so maintenance stops.
    * ``neurologic_loading`` (info): neurological symptoms, and the first phase is dosed less
      often than every 2 days (BNF: alternate days until no further improvement). A weekday
      phase counts by its average gap (Mon/Wed/Fri: 7/3 days, less often than every 2 days).
    """
    alerts: list[Alert] = []
    if not phases:
        return alerts
    if frame.cause in LASTING_CAUSES and phases[-1].count is not None:
        alerts.append(
            Alert(
                "maintenance_ends",
                "warning",
                f"The cause is {CAUSE_LABELS[frame.cause].lower()}, for which maintenance is"
                " usually lifelong, but the regimen's last phase ends after"
                f" {phases[-1].count} doses. Confirm with the prescriber that therapy should stop.",
            )
        )
    if frame.neurologic_symptoms and _phase_interval_days(phases[0]) > 2:
        alerts.append(
            Alert(
                "neurologic_loading",
                "info",
                "The patient has neurological symptoms and the first phase is dosed less often"
                " than every 2 days; guidelines load on alternate days until no further"
                " improvement.",
            )
        )
    return alerts


# --- 7.2 lab results ----------------------------------------------------------------------


@dataclass(frozen=True)
class LabTest:
    """Hold one test of SPEC 7.2: LOINC, canonical unit, accepted units and the default range.

    ``units`` maps every accepted UCUM code to the factor that converts to the canonical unit.
    ``ceiling`` is the largest plausible value in the canonical unit.
    """

    code: str
    name: str
    loinc: str
    unit: str
    units: Mapping[str, Decimal]
    low: Decimal
    high: Decimal
    ceiling: Decimal


def _units(pairs: dict[str, str]) -> Mapping[str, Decimal]:
    return MappingProxyType({k: Decimal(v) for k, v in pairs.items()})


# SPEC 7.2 table; LOINC from loinc.org, factors and ranges as in the module docstring.
LAB_TESTS: Mapping[str, LabTest] = MappingProxyType(
    {
        "b12": LabTest(
            "b12",
            "Vitamin B12",
            "2132-9",
            "pg/mL",
            _units({"pg/mL": "1", "pmol/L": "1.355", "ng/L": "1"}),
            Decimal(200),
            Decimal(900),
            Decimal(50_000),
        ),
        "mma": LabTest(
            "mma",
            "Methylmalonic acid",
            "13964-8",
            "nmol/L",
            _units({"nmol/L": "1", "umol/L": "1000"}),
            Decimal(0),
            Decimal(400),
            Decimal(200_000),
        ),
        "homocysteine": LabTest(
            "homocysteine",
            "Homocysteine",
            "13965-9",
            "umol/L",
            _units({"umol/L": "1"}),
            Decimal(0),
            Decimal(15),
            Decimal(500),
        ),
        "hemoglobin": LabTest(
            "hemoglobin",
            "Hemoglobin",
            "718-7",
            "g/dL",
            _units({"g/dL": "1", "g/L": "0.1"}),
            Decimal("12.0"),
            Decimal("17.5"),
            Decimal(30),
        ),
        "mcv": LabTest(
            "mcv",
            "MCV",
            "787-2",
            "fL",
            _units({"fL": "1"}),
            Decimal(80),
            Decimal(100),
            Decimal(200),
        ),
    }
)
TEST_BY_LOINC: Mapping[str, str] = MappingProxyType({t.loinc: t.code for t in LAB_TESTS.values()})
# Spellings people type for the UCUM codes above.
UNIT_ALIASES: Mapping[str, str] = MappingProxyType({"µmol/L": "umol/L", "μmol/L": "umol/L"})
VALUE_STEP = Decimal("0.0001")
FLAGS = ("low", "normal", "high")


@dataclass(frozen=True)
class Range:
    """Hold a reference range in a test's canonical unit."""

    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class LabValue:
    """Hold a result converted to its canonical unit, with the range used and the flag."""

    test: str
    value: Decimal
    unit: str
    given_value: Decimal
    given_unit: str
    range: Range
    range_given: bool
    flag: str


# Decimal places people read each test with (labs report B12 in whole pg/mL, Hb to 0.1 g/dL).
DISPLAY_PLACES: Mapping[str, int] = MappingProxyType(
    {"b12": 0, "mma": 0, "homocysteine": 1, "hemoglobin": 1, "mcv": 0}
)


def display_value(test: str, value: Decimal) -> str:
    """Return a result as people read it: ``400`` pg/mL, ``12.9`` g/dL (half-up rounding)."""
    places = DISPLAY_PLACES.get(test, 2)
    step = Decimal(1).scaleb(-places)
    return f"{value.quantize(step, rounding=ROUND_HALF_UP):,}"


def lab_test(code: object, field: str = "test") -> LabTest:
    """Return the test called ``code``.

    :raise DomainError: an unknown test (the message lists the known ones).
    """
    test = LAB_TESTS.get(code) if isinstance(code, str) else None
    if test is None:
        raise DomainError(field, f"Unknown test {code!r}: use " + ", ".join(LAB_TESTS) + ".")
    return test


def to_canonical(test: LabTest, value: Decimal, unit: str, field: str = "unit") -> Decimal:
    """Return ``value`` in ``unit`` converted to the test's canonical unit, exactly.

    :raise DomainError: a unit the test does not accept.
    """
    unit = UNIT_ALIASES.get(unit, unit)
    factor = test.units.get(unit)
    if factor is None:
        raise DomainError(
            field,
            f"Unknown unit {unit!r} for {test.name}: use " + ", ".join(test.units) + ".",
        )
    return (value * factor).quantize(VALUE_STEP, rounding=ROUND_HALF_UP)


def flag_for(value: Decimal, rng: Range) -> str:
    """Return ``low``, ``normal`` or ``high``: the range's ends count as normal."""
    if value < rng.low:
        return "low"
    if value > rng.high:
        return "high"
    return "normal"


def lab_value(
    test: LabTest,
    value: Decimal,
    unit: str,
    *,
    default: Range,
    low: Decimal | None = None,
    high: Decimal | None = None,
) -> LabValue:
    """Return a result in the canonical unit with its flag (SPEC 7.2).

    The given range (``low``/``high``, in the result's unit) wins over ``default``; one end
    given alone is completed from the default range.

    :raise DomainError: on ``value`` (not finite, not above 0, implausibly large), ``unit``,
        ``reference_low``/``reference_high`` (negative, or low above high).
    """
    if not value.is_finite():
        raise DomainError("value", "The value must be a number.")
    canonical_unit = UNIT_ALIASES.get(unit, unit)
    canonical = to_canonical(test, value, unit)
    if canonical <= 0:
        raise DomainError("value", "The value must be more than 0.")
    if canonical > test.ceiling:
        raise DomainError(
            "value",
            f"{value.normalize():f} {canonical_unit} is not a plausible {test.name} result"
            f" (at most {test.ceiling:,} {test.unit}): check the value and unit.",
        )
    ends: dict[str, Decimal | None] = {}
    for name, raw in (("reference_low", low), ("reference_high", high)):
        if raw is None:
            ends[name] = None
            continue
        if not raw.is_finite() or raw < 0:
            raise DomainError(name, "The reference limit must be a number of at least 0.")
        converted = to_canonical(test, raw, unit, field="unit")
        if converted > test.ceiling:
            raise DomainError(name, "The reference limit is not plausible for this test.")
        ends[name] = converted
    rng = Range(
        ends["reference_low"] if ends["reference_low"] is not None else default.low,
        ends["reference_high"] if ends["reference_high"] is not None else default.high,
    )
    if rng.low > rng.high:
        field = "reference_low" if ends["reference_low"] is not None else "reference_high"
        raise DomainError(field, "The reference range's low end is above its high end.")
    return LabValue(
        test=test.code,
        value=canonical,
        unit=test.unit,
        given_value=value,
        given_unit=canonical_unit,
        range=rng,
        range_given=low is not None or high is not None,
        flag=flag_for(canonical, rng),
    )


def check_result_date(effective: date, *, today: date, dob: date, field: str) -> None:
    """Refuse a result or report dated in the future or before the patient's birth.

    :raise DomainError: naming ``field``.
    """
    if effective > today:
        raise DomainError(field, "The date is in the future.")
    if effective < dob:
        raise DomainError(field, "The date is before the patient's date of birth.")


# --- 7.3 symptom reports ------------------------------------------------------------------

SYMPTOMS = (
    "fatigue",
    "numbness_tingling",
    "balance",
    "memory",
    "mood",
    "sore_tongue",
    "dizziness",
    "weakness",
    "shortness_of_breath",
)
SYMPTOM_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "fatigue": "Fatigue",
        "numbness_tingling": "Numbness or tingling",
        "balance": "Balance",
        "memory": "Memory",
        "mood": "Mood",
        "sore_tongue": "Sore tongue",
        "dizziness": "Dizziness",
        "weakness": "Weakness",
        "shortness_of_breath": "Shortness of breath",
    }
)
CHANGES = ("better", "same", "worse", "new", "resolved")
# Changes that need someone to act (SPEC 7.5 ``symptoms_worse``).
WORSE = frozenset({"worse", "new"})


def check_symptoms(symptoms: Mapping[str, str]) -> dict[str, str]:
    """Return the report's symptoms in list order, each with a known change.

    :raise DomainError: ``symptoms`` empty, or ``symptoms.<name>`` unknown or with an
        unknown change.
    """
    if not symptoms:
        raise DomainError("symptoms", "Record at least one symptom.")
    for name, change in symptoms.items():
        if name not in SYMPTOMS:
            raise DomainError(
                f"symptoms.{name}", f"Unknown symptom {name!r}: use " + ", ".join(SYMPTOMS) + "."
            )
        if change not in CHANGES:
            raise DomainError(
                f"symptoms.{name}", f"Unknown change {change!r}: use " + ", ".join(CHANGES) + "."
            )
    return {name: symptoms[name] for name in SYMPTOMS if name in symptoms}


def is_worse(symptoms: Mapping[str, str]) -> bool:
    """Return True when any symptom is ``worse`` or ``new``."""
    return any(change in WORSE for change in symptoms.values())


# --- 7.4 checkpoints, reviews, adherence ---------------------------------------------------

DECISIONS = ("continue", "adjust", "stop", "reassess_cause")
# Which results meet a monitoring test (SPEC 7.4: the CBC is met by haemoglobin or MCV).
MEETS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "b12": frozenset({"b12"}),
        "cbc": frozenset({"hemoglobin", "mcv"}),
        "mma": frozenset({"mma"}),
        "homocysteine": frozenset({"homocysteine"}),
    }
)
# SPEC 7.4 windows around a checkpoint date.
DONE_BEFORE = timedelta(days=14)
DONE_AFTER = timedelta(days=30)
DUE_BEFORE = timedelta(days=14)
DUE_AFTER = timedelta(days=14)
CHECKPOINT_STATUSES = ("done", "due", "overdue", "upcoming")


@dataclass(frozen=True)
class Result:
    """Hold what a checkpoint needs of a lab result: its id, test and date."""

    id: int
    test: str
    date: date


@dataclass(frozen=True)
class CheckpointStatus:
    """Hold a checkpoint's status and the results that meet it."""

    status: str
    results: tuple[Result, ...]


def checkpoint_status(
    when: date, tests: Sequence[str], results: Iterable[Result], today: date
) -> CheckpointStatus:
    """Return a checkpoint's SPEC 7.4 status on ``today``.

    ``done`` when each test has a result dated from 14 days before to 30 days after the
    checkpoint (``cbc`` met by ``hemoglobin`` or ``mcv``); else ``due`` from 14 days before
    to 14 days after it, ``overdue`` after that, ``upcoming`` before. Both window ends count.
    """
    window = [r for r in results if when - DONE_BEFORE <= r.date <= when + DONE_AFTER]
    met: list[Result] = []
    done = bool(tests)
    for test in tests:
        meeting = [r for r in window if r.test in MEETS.get(test, frozenset({test}))]
        if not meeting:
            done = False
        met.extend(r for r in meeting if r not in met)
    if done:
        return CheckpointStatus("done", tuple(sorted(met, key=lambda r: (r.date, r.id))))
    if today < when - DUE_BEFORE:
        status = "upcoming"
    elif today <= when + DUE_AFTER:
        status = "due"
    else:
        status = "overdue"
    return CheckpointStatus(status, tuple(sorted(met, key=lambda r: (r.date, r.id))))


PDC_THRESHOLD = Decimal("0.80")
PDC_STEP = Decimal("0.01")
PDC_DAYS = 365


@dataclass(frozen=True)
class Pdc:
    """Hold the proportion of days covered over ``start``..``end`` (both included)."""

    value: Decimal
    flagged: bool
    start: date
    end: date
    days: int
    covered: int

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form (the value as a 2-decimal string)."""
        return {
            "value": str(self.value),
            "flagged": self.flagged,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "days_covered": self.covered,
        }


def dose_spans(schedule: Sequence[date], dispensed: Iterable[date]) -> list[tuple[date, date]]:
    """Return the days each dispensed dose covers: ``[dose, next scheduled dose)``.

    ``schedule`` is every scheduled dose date in order (past the period's end for an
    open-ended regimen). The regimen's last dose covers as many days as the gap before it
    (one day when it is the only dose).
    """
    ordered = sorted(set(schedule))
    spans = []
    for day in sorted(set(dispensed)):
        i = bisect.bisect_right(ordered, day)
        if i < len(ordered):
            end = ordered[i]
        else:
            before = bisect.bisect_left(ordered, day)
            gap = (day - ordered[before - 1]).days if before >= 1 else 1
            end = day + timedelta(days=gap)
        spans.append((day, end))
    return spans


def pdc(
    spans: Iterable[tuple[date, date]], today: date, regimen_end: date | None = None
) -> Pdc | None:
    """Return the proportion of days covered (SPEC 7.4), or None before the first covered day.

    The period is the last 365 days up to ``today``, starting no earlier than the first
    dispensed dose (our reading of "or since the first fill": the days before the first
    dose are no one's fault). It ends at ``today``, or on ``regimen_end`` (the last day the
    regimen's final dose covers) when a finite regimen ended earlier. The value is rounded half-up to 2 decimals; below 0.80
    is flagged.
    """
    spans = sorted((s, e) for s, e in spans if e > s)
    if not spans:
        return None
    first = spans[0][0]
    start = max(first, today - timedelta(days=PDC_DAYS - 1))
    end = min(today, regimen_end) if regimen_end is not None else today
    if start > end:
        return None
    covered_days: set[date] = set()
    for s, e in spans:
        day = max(s, start)
        while day < e and day <= end:
            covered_days.add(day)
            day += timedelta(days=1)
    days = (end - start).days + 1
    covered = len(covered_days)
    value = (Decimal(covered) / Decimal(days)).quantize(PDC_STEP, rounding=ROUND_HALF_UP)
    return Pdc(value, value < PDC_THRESHOLD, start, end, days, covered)
