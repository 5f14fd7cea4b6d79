"""Map FHIR R4 Observation resources to and from our lab results (SPEC 7.2; pure).

Conventions (a clinic's EHR or a lab integrates against them):

* ``code.coding`` with system ``http://loinc.org`` and one of the LOINC codes of
  :data:`pharmacy.domain.followup.LAB_TESTS` (2132-9 B12, 13964-8 MMA, 13965-9
  homocysteine, 718-7 haemoglobin, 787-2 MCV).
* ``valueQuantity`` with ``value`` and its UCUM ``code`` (``system``
  ``http://unitsofmeasure.org`` when given); converted to the canonical unit.
* ``effectiveDateTime`` (a date or a dateTime: its calendar date is kept).
* ``subject.reference`` ``Patient/<id>``: the pharmacy's patient id.
* ``referenceRange[0].low`` / ``.high``: in the same UCUM unit as the value.
* ``performer[0].display``: the laboratory.
* ``status``: ``final``, ``amended``, ``corrected`` or ``preliminary``.

Out: the same elements, plus ``interpretation`` (HL7 v3 ObservationInterpretation
``L``/``N``/``H``) and ``category`` ``laboratory``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pharmacy.domain.fhir import UCUM, FhirError, Issue
from pharmacy.domain.followup import LAB_TESTS, TEST_BY_LOINC, UNIT_ALIASES

LOINC = "http://loinc.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
STATUSES = ("final", "amended", "corrected", "preliminary")
FLAG_CODES = {"low": ("L", "Low"), "normal": ("N", "Normal"), "high": ("H", "High")}
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(T.*)?")
_PATIENT = re.compile(r"Patient/(\d{1,10})")
MAX_NUMBER_TEXT = 40

# Order-body field -> the FHIR element that carries it (for OperationOutcome expressions).
EXPRESSIONS = {
    "test": "Observation.code",
    "value": "Observation.valueQuantity.value",
    "unit": "Observation.valueQuantity.code",
    "effective_date": "Observation.effectiveDateTime",
    "reference_low": "Observation.referenceRange[0].low",
    "reference_high": "Observation.referenceRange[0].high",
    "lab": "Observation.performer",
    "patient": "Observation.subject",
}


@dataclass(frozen=True)
class MappedObservation:
    """Hold the patient id and the lab-result body an Observation asks for."""

    patient_id: int
    body: dict[str, Any]

    @staticmethod
    def expression(field: str) -> str:
        """Return the FHIRPath for a body field such as ``value``."""
        return EXPRESSIONS.get(field, "Observation")


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    text = repr(value) if isinstance(value, float) else str(value)
    if len(text) > MAX_NUMBER_TEXT:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _quantity(
    qty: object, path: str, issues: list[Issue], *, unit: str | None = None
) -> tuple[Decimal, str] | None:
    if not isinstance(qty, Mapping):
        issues.append(Issue(path, "State the value as a Quantity with a UCUM code.", "required"))
        return None
    value = _number(qty.get("value"))
    if value is None:
        issues.append(Issue(f"{path}.value", "The value must be a number.", "required"))
        return None
    code = qty.get("code")
    if not isinstance(code, str) or not code.strip():
        issues.append(Issue(f"{path}.code", "State the unit as a UCUM code.", "required"))
        return None
    system = qty.get("system")
    if system is not None and system != UCUM:
        issues.append(Issue(f"{path}.system", f"Units must be UCUM ({UCUM}).", "code-invalid"))
        return None
    if unit is not None and code.strip() != unit:
        issues.append(
            Issue(f"{path}.code", f"Give the range in the value's unit ({unit}).", "code-invalid")
        )
        return None
    return value, code.strip()


def _test(resource: Mapping[str, Any], issues: list[Issue]) -> str | None:
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, Mapping) else None
    if not isinstance(codings, list):
        issues.append(Issue("Observation.code", "Code the test in LOINC.", "required"))
        return None
    loinc_seen = None
    for i, coding in enumerate(codings):
        if not isinstance(coding, Mapping) or coding.get("system") != LOINC:
            continue
        found = TEST_BY_LOINC.get(str(coding.get("code") or ""))
        if found:
            return found
        loinc_seen = i
    known = ", ".join(f"{t.loinc} ({t.name})" for t in LAB_TESTS.values())
    if loinc_seen is not None:
        issues.append(
            Issue(
                f"Observation.code.coding[{loinc_seen}].code",
                f"Unknown LOINC code: this pharmacy records {known}.",
                "code-invalid",
            )
        )
    else:
        issues.append(
            Issue("Observation.code", f"Code the test in LOINC ({LOINC}): {known}.", "required")
        )
    return None


def from_observation(resource: object) -> MappedObservation:
    """Return the patient id and lab-result body an R4 Observation asks for.

    Only the FHIR shape is read here; the body then goes through the same rules as
    ``POST /patients/<id>/observations``.

    :raise FhirError: not an Observation, unknown LOINC, no ``valueQuantity``, no date, no
        patient; each issue names the element.
    """
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Observation":
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        raise FhirError(
            [Issue("resourceType", f"Expected an Observation, got {kind!r}.", "structure")]
        )
    issues: list[Issue] = []
    status = resource.get("status")
    if status not in STATUSES:
        issues.append(
            Issue(
                "Observation.status",
                "The status must be " + ", ".join(STATUSES) + ".",
                "required" if status is None else "code-invalid",
            )
        )
    test = _test(resource, issues)
    if "valueQuantity" not in resource:
        issues.append(
            Issue(
                "Observation.valueQuantity",
                "The result must be a valueQuantity (value and UCUM code).",
                "required",
            )
        )
        quantity = None
    else:
        quantity = _quantity(resource["valueQuantity"], "Observation.valueQuantity", issues)
    effective = resource.get("effectiveDateTime")
    match = _DATE.fullmatch(effective) if isinstance(effective, str) else None
    if match is None:
        issues.append(
            Issue(
                "Observation.effectiveDateTime",
                "State when the sample was taken (effectiveDateTime, YYYY-MM-DD).",
                "required",
            )
        )
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, Mapping) else None
    pmatch = _PATIENT.fullmatch(reference) if isinstance(reference, str) else None
    if pmatch is None:
        issues.append(
            Issue("Observation.subject", "Reference the patient as Patient/<id>.", "required")
        )
    body: dict[str, Any] = {"test": test}
    if quantity is not None and test is not None:
        test_units = LAB_TESTS[test].units
        if UNIT_ALIASES.get(quantity[1], quantity[1]) not in test_units:
            issues.append(
                Issue(
                    "Observation.valueQuantity.code",
                    f"Unknown unit {quantity[1]!r} for {LAB_TESTS[test].name}: use "
                    + ", ".join(test_units)
                    + " (UCUM).",
                    "code-invalid",
                )
            )
            quantity = None
    if quantity is not None:
        body["value"], body["unit"] = quantity
    ranges = resource.get("referenceRange")
    if isinstance(ranges, list) and ranges and isinstance(ranges[0], Mapping):
        unit = quantity[1] if quantity is not None else None
        for end in ("low", "high"):
            if ranges[0].get(end) is not None:
                got = _quantity(
                    ranges[0][end], f"Observation.referenceRange[0].{end}", issues, unit=unit
                )
                if got is not None:
                    body[f"reference_{end}"] = got[0]
    elif ranges is not None and not isinstance(ranges, list):
        issues.append(Issue("Observation.referenceRange", "referenceRange must be a list."))
    performers = resource.get("performer")
    if isinstance(performers, list) and performers and isinstance(performers[0], Mapping):
        display = performers[0].get("display")
        if isinstance(display, str):
            body["lab"] = display
    if issues:
        raise FhirError(issues)
    assert match is not None and pmatch is not None
    body["effective_date"] = match.group(1)
    return MappedObservation(int(pmatch.group(1)), body)


def _out_quantity(value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def to_observation(obs: Mapping[str, Any]) -> dict[str, Any]:
    """Return a stored lab result (its API form) as an R4 Observation."""
    test = LAB_TESTS[obs["test"]]
    code, display = FLAG_CODES[obs["flag"]]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(obs["id"]),
        "status": "final",
        "category": [
            {"coding": [{"system": CATEGORY, "code": "laboratory", "display": "Laboratory"}]}
        ],
        "code": {
            "coding": [{"system": LOINC, "code": test.loinc, "display": test.name}],
            "text": test.name,
        },
        "subject": {"reference": f"Patient/{obs['patient_id']}"},
        "effectiveDateTime": obs["effective_date"],
        "valueQuantity": _out_quantity(obs["value"], obs["unit"]),
        "interpretation": [
            {"coding": [{"system": INTERPRETATION, "code": code, "display": display}]}
        ],
        "referenceRange": [
            {
                "low": _out_quantity(obs["reference_low"], obs["unit"]),
                "high": _out_quantity(obs["reference_high"], obs["unit"]),
            }
        ],
    }
    if obs.get("recorded_at"):
        resource["issued"] = obs["recorded_at"]
    if obs.get("lab"):
        resource["performer"] = [{"display": obs["lab"]}]
    return resource


def searchset(
    resources: Sequence[Mapping[str, Any]],
    base_url: str,
    self_url: str,
    *,
    total: int | None = None,
    next_url: str | None = None,
    previous_url: str | None = None,
) -> dict[str, Any]:
    """Return a FHIR searchset Bundle of ``resources`` (every one a match).

    The resources are one page of ``total`` matches (default: these), with links to the
    neighbouring pages.
    """
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    if previous_url:
        links.append({"relation": "previous", "url": previous_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources) if total is None else total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }
