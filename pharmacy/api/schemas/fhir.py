"""``POST /fhir/MedicationRequest``: the parts of an R4 MedicationRequest we read, typed.

FHIR resources carry many elements we do not read (``meta``, ``text``, ``contained``...), so
these models allow extra elements; the elements we read must have FHIR's shape (a list where
FHIR has a list: a scalar ``dosageInstruction`` is refused here, not crashed on later) and
bounded scalars. :mod:`pharmacy.domain.fhir` keeps the mapping rules.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from pharmacy.api.schemas.base import Num, Out, Strict, Text

FHIR_NUMBER = Num(ge=-(10**12), le=10**12)


class Element(Strict):
    """A FHIR element: extra elements are allowed and ignored."""

    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)


class Coding(Element):
    system: Text(500) | None = None
    code: Text(200) | None = None
    display: Text(500) | None = None


class CodeableConcept(Element):
    coding: list[Coding] | None = Field(default=None, max_length=50)
    text: Text(2000) | None = None


class Identifier(Element):
    system: Text(500) | None = None
    value: Text(200) | None = None


class Reference(Element):
    reference: Text(500) | None = None
    display: Text(500) | None = None
    identifier: Identifier | None = None


class Quantity(Element):
    value: FHIR_NUMBER | None = None
    unit: Text(50) | None = None
    code: Text(50) | None = None
    system: Text(500) | None = None


class Period(Element):
    start: Text(40) | None = None
    end: Text(40) | None = None


class Repeat(Element):
    frequency: FHIR_NUMBER | None = None
    period: FHIR_NUMBER | None = None
    periodUnit: Text(10) | None = None
    count: FHIR_NUMBER | None = None
    dayOfWeek: list[Text(10)] | None = Field(default=None, max_length=7)
    boundsPeriod: Period | None = None


class Timing(Element):
    repeat: Repeat | None = None
    code: CodeableConcept | None = None


class DoseAndRate(Element):
    doseQuantity: Quantity | None = None


class Dosage(Element):
    sequence: FHIR_NUMBER | None = None
    text: Text(2000) | None = None
    patientInstruction: Text(2000) | None = None
    timing: Timing | None = None
    route: CodeableConcept | None = None
    doseAndRate: list[DoseAndRate] | None = Field(default=None, max_length=10)


class DispenseRequest(Element):
    numberOfRepeatsAllowed: FHIR_NUMBER | None = None
    expectedSupplyDuration: Quantity | None = None
    validityPeriod: Period | None = None


class Annotation(Element):
    text: Text(2000) | None = None


class Extension(Element):
    url: Text(500) | None = None
    valueString: Text(2000) | None = None
    valueCode: Text(200) | None = None


class HumanName(Element):
    family: Text(200) | None = None
    given: list[Text(200)] | None = Field(default=None, max_length=10)
    text: Text(400) | None = None


class Ratio(Element):
    numerator: Quantity | None = None
    denominator: Quantity | None = None


class MedicationIngredient(Element):
    itemCodeableConcept: CodeableConcept | None = None
    strength: Ratio | None = None
    isActive: bool | None = None


class ContainedResource(Element):
    """A contained Patient or Medication (the elements we read of either)."""

    resourceType: Text(40) | None = None
    id: Text(64) | None = None
    name: list[HumanName] | None = Field(default=None, max_length=10)
    birthDate: Text(20) | None = None
    identifier: list[Identifier] | None = Field(default=None, max_length=20)
    code: CodeableConcept | None = None
    ingredient: list[MedicationIngredient] | None = Field(default=None, max_length=20)
    extension: list[Extension] | None = Field(default=None, max_length=50)


class MedicationRequestIn(Element):
    """An R4 MedicationRequest as a prescriber's EHR sends it."""

    resourceType: Text(40) | None = None
    status: Text(40) | None = None
    intent: Text(40) | None = None
    identifier: list[Identifier] | None = Field(default=None, max_length=20)
    medicationCodeableConcept: CodeableConcept | None = None
    medicationReference: Reference | None = None
    subject: Reference | None = None
    requester: Reference | None = None
    reasonCode: list[CodeableConcept] | None = Field(default=None, max_length=20)
    note: list[Annotation] | None = Field(default=None, max_length=20)
    dosageInstruction: list[Dosage] | None = Field(default=None, max_length=20)
    dispenseRequest: DispenseRequest | None = None
    extension: list[Extension] | None = Field(default=None, max_length=50)
    contained: list[ContainedResource] | None = Field(default=None, max_length=20)


class OperationOutcomeOut(Out):
    """A FHIR OperationOutcome: what is wrong, and where (FHIRPath)."""

    resourceType: str
    issue: list[dict]


class MedicationRequestOut(Out):
    """Our order as an R4 MedicationRequest."""

    resourceType: str
