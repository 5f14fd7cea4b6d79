"""Map FHIR R4 MedicationRequest resources to and from our order body (pure).

Codes and conventions chosen here (a clinic's EHR integrates against them):

* Drug: RxNorm ingredient ``11248`` (cyanocobalamin, ``http://www.nlm.nih.gov/research/umls/rxnorm``)
  on a contained ``Medication`` (``medicationReference: {"reference": "#med"}``). A code or
  text that names cyanocobalamin / vitamin B12 is accepted; any other medication is refused.
* Strength: ``Medication.ingredient[].strength`` as a Ratio in UCUM (``ug`` or ``mg`` per
  ``mL``). Vial volume: ``Medication.amount.numerator`` in ``mL`` (per 1 vial). Container:
  the extension :data:`CONTAINER_URL` with ``valueCode`` ``single-dose`` | ``multiple-dose``.
* Route: SNOMED CT ``78421000`` intramuscular, ``34206005`` subcutaneous (``47625008``
  intravenous is read so the pharmacist gets a stop alert); HL7 v3 RouteOfAdministration
  ``IM``/``SQ``/``IV`` are read too.
* Regimen: one ``dosageInstruction`` per phase, ordered by ``sequence``. ``timing.repeat``:
  ``period`` + ``periodUnit`` (UCUM ``d``, ``wk``, ``mo``) is the interval, ``frequency`` 1
  (or the number of ``dayOfWeek`` entries for a Mon/Wed/Fri phase), and the number of
  doses as ``count`` or as ``boundsDuration`` (``d``, ``wk``, ``mo``, converted to doses).
  Neither means open-ended. The start date is ``boundsPeriod.start`` of the first phase,
  else ``dispenseRequest.validityPeriod.start``.
* Dose: ``doseAndRate[0].doseQuantity`` in ``ug``, ``mg`` or ``mL`` (mL is converted with the
  stated strength); it must come to a whole number of micrograms.
* Supply: ``dispenseRequest.numberOfRepeatsAllowed`` (refills) and
  ``expectedSupplyDuration`` in ``d`` or ``wk`` (days supply).
* Patient: a contained ``Patient`` (name, birthDate, identifier = MRN) referenced from
  ``subject``, or ``subject.identifier`` (an MRN the pharmacy already knows).
* Indication: ``reasonCode[0].text``. Cause (SPEC 7.1): a ``reasonCode`` coding in the code
  system :data:`CAUSE_SYSTEM` (codes ``dietary``, ``pernicious_anemia``, ... ``unknown``).
* Neurological symptoms: the extension :data:`NEUROLOGIC_URL` (``valueBoolean``).
  Monitoring: the extension :data:`MONITORING_URL` with sub-extensions ``test``
  (``valueCode`` ``b12`` | ``cbc`` | ``mma`` | ``homocysteine``, repeated) and
  ``intervalMonths`` (``valueInteger`` 1..12). Compounding reason: the extension
  :data:`COMPOUNDING_REASON_URL` (``valueString``). Notes: ``note[].text``.

Errors are :class:`FhirError` holding :class:`Issue` items whose ``expression`` is a
FHIRPath to the element at fault; the API returns them as an OperationOutcome.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pharmacy.domain.units import NumberError, plain_decimal, read_decimal

BASE_URL = "https://b12-compounding.example/fhir"
CONTAINER_URL = f"{BASE_URL}/StructureDefinition/vial-container"
COMPOUNDING_REASON_URL = f"{BASE_URL}/StructureDefinition/compounding-reason"
RX_SYSTEM = f"{BASE_URL}/sid/rx-number"
CAUSE_SYSTEM = f"{BASE_URL}/CodeSystem/b12-deficiency-cause"
NEUROLOGIC_URL = f"{BASE_URL}/StructureDefinition/neurologic-symptoms"
MONITORING_URL = f"{BASE_URL}/StructureDefinition/therapy-monitoring"
MRN_SYSTEM = f"{BASE_URL}/sid/mrn"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
V3_ROUTE = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"
CYANOCOBALAMIN_RXCUI = "11248"

ROUTE_SNOMED = {
    "IM": ("78421000", "Intramuscular route"),
    "SC": ("34206005", "Subcutaneous route"),
    "IV": ("47625008", "Intravenous route"),
}
_ROUTE_BY_CODE = {code: route for route, (code, _) in ROUTE_SNOMED.items()}
_ROUTE_BY_CODE.update({"IM": "IM", "SQ": "SC", "SC": "SC", "IV": "IV"})
PERIOD_UNITS = {"day": "d", "week": "wk", "month": "mo"}
_UNIT_BY_UCUM = {v: k for k, v in PERIOD_UNITS.items()}
# Order status -> MedicationRequest.status (R4 value set medicationrequest-status).
STATUS = {
    "submitted": "active",
    "verified": "active",
    "rejected": "cancelled",
    "cancelled": "cancelled",
}
_DRUG_WORDS = ("cyanocobalamin", "vitamin b12", "vitamin b 12")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Issue:
    """Hold one OperationOutcome issue: where (FHIRPath), what, and its issue type code."""

    expression: str
    message: str
    code: str = "invalid"

    def to_dict(self) -> dict[str, Any]:
        """Return the OperationOutcome ``issue`` element."""
        return {
            "severity": "error",
            "code": self.code,
            "diagnostics": self.message,
            "expression": [self.expression],
        }


class FhirError(Exception):
    """A MedicationRequest we cannot turn into a valid order (422 OperationOutcome)."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(f"{i.expression}: {i.message}" for i in issues))
        self.issues = list(issues)

    def outcome(self) -> dict[str, Any]:
        """Return the OperationOutcome resource for these issues."""
        return operation_outcome(self.issues)


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    """Return an OperationOutcome listing ``issues``."""
    return {"resourceType": "OperationOutcome", "issue": [i.to_dict() for i in issues]}


@dataclass
class MappedOrder:
    """Hold the order body read from a MedicationRequest and where each part came from.

    ``phase_paths[i]`` is the FHIRPath of phase i's ``dosageInstruction``.
    """

    order: dict[str, Any]
    phase_paths: list[str] = field(default_factory=list)
    medication_path: str = "MedicationRequest.medication"
    patient_path: str = "MedicationRequest.subject"
    start_path: str = "MedicationRequest.dosageInstruction[0].timing.repeat.boundsPeriod.start"

    def expression(self, path: str) -> str:
        """Return the FHIRPath for an order-body error path such as ``phases[1].count``."""
        m = re.fullmatch(r"phases\[(\d+)\](?:\.(\w+))?", path or "")
        if m:
            i = int(m.group(1))
            base = (
                self.phase_paths[i]
                if i < len(self.phase_paths)
                else (f"MedicationRequest.dosageInstruction[{i}]")
            )
            leaf = {
                "dose_mcg": ".doseAndRate[0].doseQuantity",
                "every": ".timing.repeat.period",
                "unit": ".timing.repeat.periodUnit",
                "count": ".timing.repeat.count",
                "weekdays": ".timing.repeat.dayOfWeek",
            }.get(m.group(2) or "", "")
            return base + leaf
        med = self.medication_path
        table = {
            "drug": med,
            "concentration_mcg_per_ml": f"{med}.ingredient[0].strength",
            "vial_volume_ml": f"{med}.amount.numerator",
            "container": f"{med}.extension",
            "route": "MedicationRequest.dosageInstruction[0].route",
            "start_date": self.start_path,
            "phases": "MedicationRequest.dosageInstruction",
            "days_supply": "MedicationRequest.dispenseRequest.expectedSupplyDuration",
            "refills": "MedicationRequest.dispenseRequest.numberOfRepeatsAllowed",
            "indication": "MedicationRequest.reasonCode",
            "cause": "MedicationRequest.reasonCode",
            "neurologic_symptoms": f"MedicationRequest.extension('{NEUROLOGIC_URL}')",
            "monitoring": f"MedicationRequest.extension('{MONITORING_URL}')",
            "compounding_reason": "MedicationRequest.extension",
            "notes": "MedicationRequest.note",
            "patient": self.patient_path,
            "patient.first_name": f"{self.patient_path}.name[0].given",
            "patient.last_name": f"{self.patient_path}.name[0].family",
            "patient.dob": f"{self.patient_path}.birthDate",
            "patient.mrn": f"{self.patient_path}.identifier",
        }
        if path in table:
            return table[path]
        if path.startswith("prescriber"):
            return "MedicationRequest.requester"
        if path.startswith("monitoring."):
            return f"MedicationRequest.extension('{MONITORING_URL}')"
        return "MedicationRequest"


# --- reading ------------------------------------------------------------------------------


def _decimal(value: object) -> Decimal | None:
    """Return a FHIR number as a bounded Decimal (:func:`read_decimal`), or None."""
    try:
        return read_decimal(value)
    except NumberError:
        return None


def _plain(value: Decimal) -> int | str:
    """Return a whole Decimal as int, else its plain string (the order parser reads both)."""
    return int(value) if value == value.to_integral_value() else plain_decimal(value)


def _unit(quantity: Mapping[str, Any]) -> str:
    """Return a Quantity's unit: its UCUM code, else its human unit."""
    return str(quantity.get("code") or quantity.get("unit") or "").strip()


def _codings(concept: object) -> list[Mapping[str, Any]]:
    if not isinstance(concept, Mapping):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, Mapping)]


def _names_cyanocobalamin(concept: object) -> bool | None:
    """Return True/False whether a CodeableConcept names cyanocobalamin; None if it is empty."""
    if not isinstance(concept, Mapping):
        return None
    texts = [str(concept.get("text") or "")]
    codes = []
    for coding in _codings(concept):
        texts.append(str(coding.get("display") or ""))
        if coding.get("system") == RXNORM:
            codes.append(str(coding.get("code") or ""))
    if CYANOCOBALAMIN_RXCUI in codes:
        return True
    if any(w in t.lower() for t in texts for w in _DRUG_WORDS):
        return True
    if not codes and not any(t.strip() for t in texts):
        return None
    return False


def _extension(resource: Mapping[str, Any], url: str) -> Mapping[str, Any] | None:
    for ext in resource.get("extension") or []:
        if isinstance(ext, Mapping) and ext.get("url") == url:
            return ext
    return None


def _contained(
    resource: Mapping[str, Any],
    reference: object,
    kind: str,
) -> tuple[int, Mapping[str, Any]] | None:
    """Return (index, resource) of the contained ``kind`` that ``#id`` points at."""
    if not isinstance(reference, str) or not reference.startswith("#"):
        return None
    for i, item in enumerate(resource.get("contained") or []):
        if (
            isinstance(item, Mapping)
            and item.get("resourceType") == kind
            and item.get("id") == reference[1:]
        ):
            return i, item
    return None


def _ratio_mcg_per_ml(ratio: object) -> Decimal | str:
    """Return a strength Ratio in mcg/mL, or an error message."""
    if not isinstance(ratio, Mapping):
        return "State the strength as a Ratio, e.g. 1000 ug per 1 mL."
    num, den = ratio.get("numerator"), ratio.get("denominator") or {"value": 1, "code": "mL"}
    if not isinstance(num, Mapping) or not isinstance(den, Mapping):
        return "State the strength as a Ratio, e.g. 1000 ug per 1 mL."
    nv, dv = _decimal(num.get("value")), _decimal(den.get("value"))
    if nv is None or dv is None or dv <= 0:
        return "The strength needs numeric numerator and denominator values."
    factor = {"ug": Decimal(1), "mcg": Decimal(1), "mg": Decimal(1000)}.get(_unit(num))
    if factor is None:
        return f"Cannot convert strength unit {_unit(num)!r}: use ug or mg (UCUM)."
    if _unit(den) != "mL":
        return f"Cannot convert strength per {_unit(den)!r}: use per mL (UCUM)."
    return nv * factor / dv


def _medication(
    res: Mapping[str, Any], out: dict[str, Any], mapped: MappedOrder, issues: list[Issue]
) -> None:
    """Read the drug, strength, vial volume and container."""
    ref = res.get("medicationReference")
    concept = res.get("medicationCodeableConcept")
    med = None
    if isinstance(ref, Mapping):
        found = _contained(res, ref.get("reference"), "Medication")
        if found is None:
            issues.append(
                Issue(
                    "MedicationRequest.medicationReference",
                    'Reference a contained Medication ("#id") that states the'
                    " strength, vial volume and container.",
                    "not-supported",
                )
            )
            return
        index, med = found
        mapped.medication_path = f"MedicationRequest.contained[{index}]"
        concept = med.get("code")
    elif concept is None:
        issues.append(
            Issue("MedicationRequest.medication[x]", "The medication is required.", "required")
        )
        return
    else:
        mapped.medication_path = "MedicationRequest.medicationCodeableConcept"
    path = mapped.medication_path
    code_path = f"{path}.code" if med is not None else path
    names = _names_cyanocobalamin(concept)
    if names is False:
        issues.append(
            Issue(
                code_path,
                "This pharmacy compounds only cyanocobalamin (RxNorm"
                f" {CYANOCOBALAMIN_RXCUI}); the request names another medication.",
                "not-supported",
            )
        )
        return
    if names is None:
        issues.append(
            Issue(code_path, "Name the medication (RxNorm 11248 cyanocobalamin).", "required")
        )
        return
    out["drug"] = "cyanocobalamin"
    if med is None:
        issues.append(
            Issue(
                path,
                "State the concentration: reference a contained Medication"
                " with ingredient.strength (ug/mL), amount (mL) and container.",
                "required",
            )
        )
        return
    strength = None
    for i, ingredient in enumerate(med.get("ingredient") or []):
        if isinstance(ingredient, Mapping) and ingredient.get("strength") is not None:
            strength = (i, ingredient["strength"])
            break
    if strength is None:
        issues.append(
            Issue(
                f"{path}.ingredient",
                "State the strength (ingredient.strength in ug per mL).",
                "required",
            )
        )
    else:
        value = _ratio_mcg_per_ml(strength[1])
        if isinstance(value, str):
            issues.append(Issue(f"{path}.ingredient[{strength[0]}].strength", value))
        else:
            out["concentration_mcg_per_ml"] = _plain(value)
    amount = med.get("amount")
    num = amount.get("numerator") if isinstance(amount, Mapping) else None
    if not isinstance(num, Mapping):
        issues.append(
            Issue(f"{path}.amount", "State the vial volume (amount.numerator in mL).", "required")
        )
    elif _unit(num) != "mL" or (volume := _decimal(num.get("value"))) is None:
        issues.append(Issue(f"{path}.amount.numerator", "The vial volume must be a number of mL."))
    else:
        out["vial_volume_ml"] = _plain(volume)
    ext = _extension(med, CONTAINER_URL)
    if ext is None:
        issues.append(
            Issue(
                f"{path}.extension",
                f"State the container with the extension"
                f" {CONTAINER_URL} (single-dose or multiple-dose).",
                "required",
            )
        )
    else:
        out["container"] = ext.get("valueCode")


def _route(dosage: Mapping[str, Any], path: str, issues: list[Issue]) -> str | None:
    concept = dosage.get("route")
    if concept is None:
        return None
    for coding in _codings(concept):
        route = _ROUTE_BY_CODE.get(str(coding.get("code") or ""))
        if route and coding.get("system") in (SNOMED, V3_ROUTE, None):
            return route
    issues.append(
        Issue(
            f"{path}.route",
            "Code the route as SNOMED CT 78421000 (intramuscular) or 34206005 (subcutaneous).",
            "code-invalid",
        )
    )
    return None


def _dose_mcg(
    dosage: Mapping[str, Any], path: str, concentration: Decimal | None, issues: list[Issue]
) -> int | None:
    rates = dosage.get("doseAndRate")
    first = rates[0] if isinstance(rates, list) and rates else None
    qty = first.get("doseQuantity") if isinstance(first, Mapping) else None
    where = f"{path}.doseAndRate[0].doseQuantity"
    if not isinstance(qty, Mapping):
        issues.append(Issue(where, "State the dose (doseQuantity in ug, mg or mL).", "required"))
        return None
    value = _decimal(qty.get("value"))
    if value is None:
        issues.append(Issue(f"{where}.value", "The dose needs a numeric value."))
        return None
    unit = _unit(qty)
    if unit in ("ug", "mcg"):
        mcg = value
    elif unit == "mg":
        mcg = value * 1000
    elif unit == "mL":
        if concentration is None:
            issues.append(Issue(where, "A dose in mL needs the strength on the Medication."))
            return None
        mcg = value * concentration
    else:
        issues.append(
            Issue(
                where,
                f"Cannot convert dose unit {unit!r}: use ug, mg or mL (UCUM).",
                "not-supported",
            )
        )
        return None
    if mcg != mcg.to_integral_value() or mcg <= 0:
        issues.append(
            Issue(
                where,
                f"The dose comes to {mcg.normalize():f} mcg: it must be a"
                " whole number of micrograms more than 0.",
            )
        )
        return None
    return int(mcg)


def _duration_count(
    bounds: object, every: Decimal, unit: str, weekdays: list[str], path: str, issues: list[Issue]
) -> int | None:
    """Return the number of doses a ``boundsDuration`` allows, or record an issue."""
    where = f"{path}.timing.repeat.boundsDuration"
    value = _decimal(bounds.get("value")) if isinstance(bounds, Mapping) else None
    code = _unit(bounds) if isinstance(bounds, Mapping) else ""
    if value is None or code not in _UNIT_BY_UCUM:
        issues.append(Issue(where, "boundsDuration needs a value in d, wk or mo (UCUM)."))
        return None
    days_per = {"d": 1, "wk": 7}
    if weekdays:
        weeks = value / 7 if code == "d" else value if code == "wk" else None
        count = None if weeks is None else weeks * len(weekdays)
    elif code == PERIOD_UNITS[unit]:
        count = value / every
    elif code in days_per and unit in ("day", "week"):
        count = value * days_per[code] / (every * days_per[PERIOD_UNITS[unit]])
    else:
        count = None
    if count is None or count != count.to_integral_value() or count < 1:
        issues.append(
            Issue(
                where,
                f"A duration of {value.normalize():f} {code} is not a whole"
                " number of doses at this interval; send count instead.",
                "not-supported",
            )
        )
        return None
    return int(count)


def _phase(
    dosage: Mapping[str, Any], path: str, concentration: Decimal | None, issues: list[Issue]
) -> dict[str, Any]:
    """Read one dosageInstruction into a SPEC 2.1 phase (invalid parts left out)."""
    phase: dict[str, Any] = {}
    dose = _dose_mcg(dosage, path, concentration, issues)
    if dose is not None:
        phase["dose_mcg"] = dose
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    rpath = f"{path}.timing.repeat"
    if not isinstance(repeat, Mapping):
        issues.append(
            Issue(
                rpath,
                "State the schedule in timing.repeat (period, periodUnit, count).",
                "required",
            )
        )
        return phase
    weekdays = repeat.get("dayOfWeek") or []
    if not isinstance(weekdays, list):
        issues.append(Issue(f"{rpath}.dayOfWeek", "dayOfWeek must be a list (mon ... sun)."))
        weekdays = []
    unit_code = repeat.get("periodUnit")
    unit = _UNIT_BY_UCUM.get(str(unit_code)) if unit_code is not None else None
    if unit is None:
        issues.append(
            Issue(
                f"{rpath}.periodUnit",
                f"Unsupported periodUnit {unit_code!r}: use d, wk or mo.",
                "not-supported",
            )
        )
    else:
        phase["unit"] = unit
    period = _decimal(repeat.get("period", 1))
    if period is None or period != period.to_integral_value() or period < 1:
        issues.append(Issue(f"{rpath}.period", "The period must be a whole number of at least 1."))
        period = None
    else:
        phase["every"] = int(period)
    frequency = _decimal(repeat.get("frequency", 1))
    allowed = {Decimal(1)} | ({Decimal(len(weekdays))} if weekdays else set())
    if frequency not in allowed:
        issues.append(
            Issue(
                f"{rpath}.frequency",
                "One dose per period is supported (frequency 1, or one per listed dayOfWeek).",
                "not-supported",
            )
        )
    if weekdays:
        phase["weekdays"] = weekdays
    count = repeat.get("count")
    bounds = repeat.get("boundsDuration")
    if count is not None:
        phase["count"] = count
        if repeat.get("countMax") is not None:
            issues.append(
                Issue(
                    f"{rpath}.countMax",
                    "Send one dose count (count), not a range.",
                    "not-supported",
                )
            )
    elif bounds is not None and unit is not None and period is not None:
        counted = _duration_count(bounds, period, unit, weekdays, path, issues)
        if counted is not None:
            phase["count"] = counted
    else:
        phase["count"] = None
    return phase


def _start(
    res: Mapping[str, Any],
    first_path: str | None,
    first: Mapping[str, Any] | None,
    mapped: MappedOrder,
) -> str | None:
    """Return the start date: first phase's boundsPeriod.start, else validityPeriod.start."""
    candidates = []
    if first is not None:
        repeat = (
            (first.get("timing") or {}).get("repeat")
            if isinstance(first.get("timing"), Mapping)
            else None
        )
        bp = repeat.get("boundsPeriod") if isinstance(repeat, Mapping) else None
        if isinstance(bp, Mapping) and bp.get("start") is not None:
            candidates.append((f"{first_path}.timing.repeat.boundsPeriod.start", bp["start"]))
    dispense = res.get("dispenseRequest")
    validity = dispense.get("validityPeriod") if isinstance(dispense, Mapping) else None
    if isinstance(validity, Mapping) and validity.get("start") is not None:
        candidates.append(
            ("MedicationRequest.dispenseRequest.validityPeriod.start", validity["start"])
        )
    if not candidates:
        if first_path:
            mapped.start_path = f"{first_path}.timing.repeat.boundsPeriod.start"
        return None
    mapped.start_path, value = candidates[0]
    if isinstance(value, str) and _DATE.match(value):
        return value[:10]  # a dateTime's date part
    return value if isinstance(value, str) else str(value)


def _patient(
    res: Mapping[str, Any], mapped: MappedOrder, issues: list[Issue]
) -> dict[str, Any] | None:
    subject = res.get("subject")
    if not isinstance(subject, Mapping):
        issues.append(
            Issue(
                "MedicationRequest.subject",
                'The patient is required: a contained Patient ("#id") or subject.identifier (MRN).',
                "required",
            )
        )
        return None
    found = _contained(res, subject.get("reference"), "Patient")
    if found is None:
        ident = subject.get("identifier")
        if isinstance(ident, Mapping) and isinstance(ident.get("value"), str) and ident["value"]:
            mapped.patient_path = "MedicationRequest.subject.identifier"
            return {"mrn": ident["value"].strip()}
        issues.append(
            Issue(
                "MedicationRequest.subject",
                'Reference a contained Patient ("#id") or give subject.identifier with the MRN.',
                "required",
            )
        )
        return None
    index, patient = found
    mapped.patient_path = f"MedicationRequest.contained[{index}]"
    names = patient.get("name") or []
    name = next((n for n in names if isinstance(n, Mapping)), {})
    given = name.get("given") or []
    out: dict[str, Any] = {
        "first_name": given[0] if isinstance(given, list) and given else None,
        "last_name": name.get("family"),
        "dob": patient.get("birthDate"),
    }
    for ident in patient.get("identifier") or []:
        if isinstance(ident, Mapping) and ident.get("value"):
            out["mrn"] = ident["value"]
            break
    allergies = _extension(patient, f"{BASE_URL}/StructureDefinition/allergies")
    if allergies is not None:
        out["allergies"] = allergies.get("valueString")
    return out


def _clinical_frame(res: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Read cause, neurological symptoms and monitoring (SPEC 7.1); the order parser checks them."""
    for reason in res.get("reasonCode") or []:
        for coding in _codings(reason):
            if coding.get("system") == CAUSE_SYSTEM:
                out["cause"] = coding.get("code")
    neuro = _extension(res, NEUROLOGIC_URL)
    if neuro is not None:
        out["neurologic_symptoms"] = neuro.get("valueBoolean")
    monitoring = _extension(res, MONITORING_URL)
    if monitoring is not None:
        tests, interval = [], None
        for sub in monitoring.get("extension") or []:
            if not isinstance(sub, Mapping):
                continue
            if sub.get("url") == "test":
                tests.append(sub.get("valueCode"))
            elif sub.get("url") == "intervalMonths":
                interval = sub.get("valueInteger")
        body: dict[str, Any] = {}
        if tests:
            body["tests"] = tests
        if interval is not None:
            body["interval_months"] = interval
        out["monitoring"] = body


def _clinical_extensions(order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the neurological-symptoms and monitoring extensions of an order."""
    extensions: list[dict[str, Any]] = []
    if "neurologic_symptoms" in order:
        extensions.append(
            {"url": NEUROLOGIC_URL, "valueBoolean": bool(order["neurologic_symptoms"])}
        )
    monitoring = order.get("monitoring")
    if isinstance(monitoring, Mapping):
        subs: list[dict[str, Any]] = [
            {"url": "test", "valueCode": t} for t in monitoring.get("tests") or []
        ]
        if monitoring.get("interval_months") is not None:
            subs.append({"url": "intervalMonths", "valueInteger": monitoring["interval_months"]})
        extensions.append({"url": MONITORING_URL, "extension": subs})
    return extensions


def from_medication_request(resource: object) -> MappedOrder:
    """Return the SPEC 3 order body a MedicationRequest asks for.

    Only the FHIR shape is checked here; the order body then goes through the same
    validation as ``POST /orders``, whose field errors :meth:`MappedOrder.expression`
    turns back into FHIRPaths.

    :raise FhirError: not a MedicationRequest, no dosage, units we cannot convert,
        another medication, or a missing or malformed element.
    """
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "MedicationRequest":
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        raise FhirError(
            [Issue("resourceType", f"Expected a MedicationRequest, got {kind!r}.", "structure")]
        )
    res = resource
    issues: list[Issue] = []
    out: dict[str, Any] = {}
    mapped = MappedOrder(out)
    _medication(res, out, mapped, issues)
    concentration = _decimal(out.get("concentration_mcg_per_ml"))

    dosages = res.get("dosageInstruction")
    if not isinstance(dosages, list) or not dosages:
        issues.append(
            Issue(
                "MedicationRequest.dosageInstruction",
                "Add one dosageInstruction per phase (ordered by sequence).",
                "required",
            )
        )
        dosages = []
    indexed = []
    for i, dosage in enumerate(dosages):
        path = f"MedicationRequest.dosageInstruction[{i}]"
        if not isinstance(dosage, Mapping):
            issues.append(Issue(path, "Each dosageInstruction must be an object."))
            continue
        seq = dosage.get("sequence", i + 1)
        if isinstance(seq, bool) or not isinstance(seq, int):
            issues.append(Issue(f"{path}.sequence", "The sequence must be a whole number."))
            seq = i + 1
        indexed.append((seq, i, dosage))
    indexed.sort(key=lambda item: (item[0], item[1]))
    seqs = [s for s, _, _ in indexed]
    if len(set(seqs)) != len(seqs):
        issues.append(
            Issue(
                "MedicationRequest.dosageInstruction.sequence",
                "Each phase needs its own sequence number.",
            )
        )
    phases, routes = [], []
    for _, i, dosage in indexed:
        path = f"MedicationRequest.dosageInstruction[{i}]"
        mapped.phase_paths.append(path)
        phases.append(_phase(dosage, path, concentration, issues))
        route = _route(dosage, path, issues)
        if route:
            routes.append((path, route))
    out["phases"] = phases
    if routes:
        out["route"] = routes[0][1]
        for path, route in routes[1:]:
            if route != routes[0][1]:
                issues.append(Issue(f"{path}.route", "Every phase must use the same route."))
    elif dosages and not any(i.expression.endswith(".route") for i in issues):
        issues.append(
            Issue(
                f"{mapped.phase_paths[0] if mapped.phase_paths else 'MedicationRequest.dosageInstruction[0]'}.route",
                "Code the route: SNOMED CT 78421000 (IM) or 34206005 (SC).",
                "required",
            )
        )
    first = indexed[0] if indexed else None
    out["start_date"] = _start(
        res,
        first and f"MedicationRequest.dosageInstruction[{first[1]}]",
        first and first[2],
        mapped,
    )

    dispense = res.get("dispenseRequest")
    dispense = dispense if isinstance(dispense, Mapping) else {}
    out["refills"] = dispense.get("numberOfRepeatsAllowed", 0)
    supply = dispense.get("expectedSupplyDuration")
    if isinstance(supply, Mapping):
        value, code = _decimal(supply.get("value")), _unit(supply)
        factor = {"d": 1, "wk": 7}.get(code)
        if value is None or factor is None:
            issues.append(
                Issue(
                    "MedicationRequest.dispenseRequest.expectedSupplyDuration",
                    "The days supply must be a number of d or wk (UCUM).",
                    "not-supported",
                )
            )
        else:
            out["days_supply"] = _plain(value * factor)
    reasons = res.get("reasonCode") or []
    reason = reasons[0] if isinstance(reasons, list) and reasons else None
    if isinstance(reason, Mapping):
        out["indication"] = reason.get("text") or next(
            (c.get("display") for c in _codings(reason) if c.get("display")), None
        )
    _clinical_frame(res, out)
    ext = _extension(res, COMPOUNDING_REASON_URL)
    out["compounding_reason"] = ext.get("valueString") if ext else None
    notes = [
        text
        for n in res.get("note") or []
        if isinstance(n, Mapping) and isinstance(text := n.get("text"), str)
    ]
    out["notes"] = "\n".join(notes)
    out["patient"] = _patient(res, mapped, issues)
    if issues:
        raise FhirError(issues)
    return mapped


# --- writing ------------------------------------------------------------------------------


def _quantity(value: float | Decimal, code: str) -> dict[str, Any]:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def _route_concept(route: str) -> dict[str, Any]:
    code, display = ROUTE_SNOMED[route]
    return {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": route}


def _dosage(
    phase: Mapping[str, Any], index: int, route: str, start: str | None, text: str
) -> dict[str, Any]:
    weekdays = list(phase.get("weekdays") or [])
    repeat: dict[str, Any] = {}
    if start is not None:
        repeat["boundsPeriod"] = {"start": start}
    if phase.get("count") is not None:
        repeat["count"] = phase["count"]
    repeat["frequency"] = len(weekdays) if weekdays else 1
    repeat["period"] = phase["every"]
    repeat["periodUnit"] = PERIOD_UNITS[phase["unit"]]
    if weekdays:
        repeat["dayOfWeek"] = weekdays
    dosage: dict[str, Any] = {"sequence": index + 1, "text": text, "timing": {"repeat": repeat}}
    if route in ROUTE_SNOMED:
        dosage["route"] = _route_concept(route)
    dosage["doseAndRate"] = [{"doseQuantity": _quantity(phase["dose_mcg"], "ug")}]
    return dosage


def _phase_text(phase: Mapping[str, Any]) -> str:
    unit = phase["unit"]
    every = phase["every"]
    if phase.get("weekdays"):
        how = "on " + "/".join(d.capitalize() for d in phase["weekdays"])
    elif every == 1:
        how = {"day": "daily", "week": "weekly", "month": "monthly"}[unit]
    else:
        how = f"every {every} {unit}s"
    count = phase.get("count")
    return f"{phase['dose_mcg']:,} mcg {how}" + (f" x{count}" if count else ", until stopped")


def to_medication_request(order: Mapping[str, Any]) -> dict[str, Any]:
    """Return a FHIR R4 MedicationRequest for an order (the API form of an order).

    The result reads back through :func:`from_medication_request` to the same order body.
    """
    patient = order["patient"]
    prescriber = order.get("prescriber") or {}
    pid = {
        "resourceType": "Patient",
        "id": "patient",
        "name": [{"family": patient["last_name"], "given": [patient["first_name"]]}],
        "birthDate": patient["dob"],
    }
    if patient.get("mrn"):
        pid["identifier"] = [{"system": MRN_SYSTEM, "value": patient["mrn"]}]
    if patient.get("allergies"):
        pid["extension"] = [
            {
                "url": f"{BASE_URL}/StructureDefinition/allergies",
                "valueString": patient["allergies"],
            }
        ]
    concentration = order["concentration_mcg_per_ml"]
    drug = {
        "coding": [{"system": RXNORM, "code": CYANOCOBALAMIN_RXCUI, "display": "cyanocobalamin"}],
        "text": f"Cyanocobalamin {concentration:,} mcg/mL injection (compounded)",
    }
    medication = {
        "resourceType": "Medication",
        "id": "med",
        "extension": [{"url": CONTAINER_URL, "valueCode": order["container"]}],
        "code": drug,
        "form": {
            "coding": [
                {"system": SNOMED, "code": "385219001", "display": "Solution for injection"}
            ],
            "text": "Solution for injection",
        },
        "amount": {
            "numerator": _quantity(order["vial_volume_ml"], "mL"),
            "denominator": {"value": 1, "unit": "vial"},
        },
        "ingredient": [
            {
                "itemCodeableConcept": drug,
                "isActive": True,
                "strength": {
                    "numerator": _quantity(concentration, "ug"),
                    "denominator": _quantity(1, "mL"),
                },
            }
        ],
    }
    phases = order["phases"]
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "contained": [pid, medication],
        "extension": [
            {"url": COMPOUNDING_REASON_URL, "valueString": order["compounding_reason"]},
            *_clinical_extensions(order),
        ],
        "status": STATUS.get(order.get("status") or "submitted", "unknown"),
        "intent": "order",
        "medicationReference": {"reference": "#med", "display": drug["text"]},
        "subject": {
            "reference": "#patient",
            "display": f"{patient['first_name']} {patient['last_name']}",
        },
    }
    if order.get("rx_number"):
        resource["id"] = str(order["rx_number"])
        resource["identifier"] = [{"system": RX_SYSTEM, "value": str(order["rx_number"])}]
    if order.get("submitted_at"):
        resource["authoredOn"] = order["submitted_at"]
    if prescriber.get("name") or prescriber.get("npi"):
        requester: dict[str, Any] = {"display": prescriber.get("name") or ""}
        if prescriber.get("npi"):
            requester["identifier"] = {"system": NPI_SYSTEM, "value": prescriber["npi"]}
        resource["requester"] = requester
    reason: dict[str, Any] = {}
    if order.get("cause"):
        reason["coding"] = [{"system": CAUSE_SYSTEM, "code": order["cause"]}]
    if order.get("indication"):
        reason["text"] = order["indication"]
    if reason:
        resource["reasonCode"] = [reason]
    if order.get("notes"):
        resource["note"] = [{"text": order["notes"]}]
    resource["dosageInstruction"] = [
        _dosage(p, i, order["route"], order["start_date"] if i == 0 else None, _phase_text(p))
        for i, p in enumerate(phases)
    ]
    if order.get("sig"):
        resource["dosageInstruction"][0]["patientInstruction"] = order["sig"]
    resource["dispenseRequest"] = {
        "validityPeriod": {"start": order["start_date"]},
        "numberOfRepeatsAllowed": order["refills"],
        "expectedSupplyDuration": _quantity(order["days_supply"], "d"),
    }
    return resource
