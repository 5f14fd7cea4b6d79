"""FHIR R4 MedicationRequest <-> order body: round trips, conversions and OperationOutcome paths."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from pharmacy.domain.fhir import FhirError, from_medication_request, to_medication_request
from pharmacy.domain.order_input import parse_order
from pharmacy.domain.plan_json import plan_to_dict
from pharmacy.domain.vials import plan_vials
from tests.factories_orders import order_body

TODAY = date(2026, 11, 1)


def api_order(**overrides) -> dict:
    """Return an order in its API form (what to_medication_request receives)."""
    body = order_body(**overrides)
    body.update(
        rx_number="100042",
        status="submitted",
        prescriber={"name": "Dr. Maya Chen", "npi": "1234567893"},
    )
    body["patient"] = {**body["patient"], "id": 1}
    return body


def three_phase_request(start: str = "2026-12-01") -> dict:
    """Return a hand-written B12 MedicationRequest: daily x7, weekly x4, then monthly."""

    def dosage(seq, unit, count=None, **extra):
        repeat = {"frequency": 1, "period": 1, "periodUnit": unit, **extra}
        if count:
            repeat["count"] = count
        return {
            "sequence": seq,
            "timing": {"repeat": repeat},
            "route": {"coding": [{"system": "http://snomed.info/sct", "code": "78421000"}]},
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": 1,
                        "unit": "mg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg",
                    }
                }
            ],
        }

    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "contained": [
            {
                "resourceType": "Patient",
                "id": "p1",
                "birthDate": "1960-05-04",
                "name": [{"family": "Lovelace", "given": ["Ada"]}],
                "identifier": [{"value": "MRN-1001"}],
            },
            {
                "resourceType": "Medication",
                "id": "m1",
                "code": {
                    "coding": [
                        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "11248"}
                    ]
                },
                "extension": [
                    {
                        "url": "https://b12-compounding.example/fhir/StructureDefinition/"
                        "vial-container",
                        "valueCode": "multiple-dose",
                    }
                ],
                "amount": {"numerator": {"value": 10, "code": "mL"}, "denominator": {"value": 1}},
                "ingredient": [
                    {
                        "itemCodeableConcept": {"text": "cyanocobalamin"},
                        "strength": {
                            "numerator": {"value": 1, "code": "mg"},
                            "denominator": {"value": 1, "code": "mL"},
                        },
                    }
                ],
            },
        ],
        "extension": [
            {
                "url": "https://b12-compounding.example/fhir/StructureDefinition/"
                "compounding-reason",
                "valueString": "Shortage",
            }
        ],
        "medicationReference": {"reference": "#m1"},
        "subject": {"reference": "#p1"},
        "reasonCode": [{"text": "Pernicious anaemia"}],
        # Out of order on purpose: sequence decides the phase order.
        "dosageInstruction": [
            dosage(3, "mo"),
            dosage(
                1,
                "d",
                boundsDuration={"value": 1, "unit": "wk", "code": "wk"},
                boundsPeriod={"start": start},
            ),
            dosage(2, "wk", 4),
        ],
        "dispenseRequest": {
            "numberOfRepeatsAllowed": 1,
            "expectedSupplyDuration": {"value": 90, "code": "d"},
        },
    }


def test_output_validates_as_r4b_medication_request():
    resource = to_medication_request(api_order())
    model = MedicationRequest.parse_obj(resource)
    assert model.id == "100042"
    assert model.dosageInstruction[0].route.coding[0].code == "78421000"
    assert model.dosageInstruction[0].doseAndRate[0].doseQuantity.code == "ug"


def test_weekday_phase_validates_and_round_trips():
    phases = [
        {
            "dose_mcg": 1000,
            "every": 1,
            "unit": "week",
            "count": 6,
            "weekdays": ["mon", "wed", "fri"],
        },
        {"dose_mcg": 1000, "every": 3, "unit": "month", "count": None, "weekdays": []},
    ]
    order = api_order(phases=phases, route="SC", container="single-dose", vial_volume_ml=1)
    resource = to_medication_request(order)
    MedicationRequest.parse_obj(resource)
    back = from_medication_request(resource).order
    assert parse_order(back, TODAY).phases == phases
    assert back["route"] == "SC" and back["container"] == "single-dose"


def test_round_trip_gives_the_same_order_body():
    order = api_order(notes="Call before dispensing")
    back = from_medication_request(to_medication_request(order)).order
    original, read = (
        parse_order(order_body(notes="Call before dispensing"), TODAY),
        parse_order(back, TODAY),
    )
    assert read == original


def test_three_phase_import_matches_json_order_plan():
    mapped = from_medication_request(three_phase_request())
    from_fhir = parse_order(mapped.order, TODAY)
    from_json = parse_order(order_body(start_date="2026-12-01"), TODAY)
    assert from_fhir.phases == from_json.phases
    assert plan_to_dict(plan_vials(from_fhir.plan_request)) == plan_to_dict(
        plan_vials(from_json.plan_request)
    )
    assert from_fhir.patient.mrn == "MRN-1001" and from_fhir.refills == 1


def test_dose_in_ml_uses_the_stated_strength():
    resource = three_phase_request()
    for d in resource["dosageInstruction"]:
        d["doseAndRate"][0]["doseQuantity"] = {"value": 0.5, "code": "mL"}
    assert {p["dose_mcg"] for p in from_medication_request(resource).order["phases"]} == {500}


def test_subject_identifier_only_gives_an_mrn():
    resource = three_phase_request()
    resource["subject"] = {"identifier": {"value": "MRN-77"}}
    mapped = from_medication_request(resource)
    assert mapped.order["patient"] == {"mrn": "MRN-77"}


def _issues(resource) -> dict[str, str]:
    with pytest.raises(FhirError) as caught:
        from_medication_request(resource)
    OperationOutcome.parse_obj(caught.value.outcome())
    return {i.expression: i.message for i in caught.value.issues}


def _mutate(fn):
    resource = three_phase_request()
    fn(resource)
    return resource


@pytest.mark.parametrize(
    "mutate, expression",
    [
        (lambda r: r.update(resourceType="Patient"), "resourceType"),
        (lambda r: r.pop("dosageInstruction"), "MedicationRequest.dosageInstruction"),
        (
            lambda r: r["dosageInstruction"][0]["doseAndRate"][0].update(
                doseQuantity={"value": 1, "code": "[iU]"}
            ),
            "MedicationRequest.dosageInstruction[0].doseAndRate[0].doseQuantity",
        ),
        (
            lambda r: r["contained"][1]["code"].update(
                coding=[
                    {
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": "1191",
                        "display": "aspirin",
                    }
                ]
            ),
            "MedicationRequest.contained[1].code",
        ),
        (
            lambda r: r["dosageInstruction"][2]["route"].update(
                coding=[{"system": "http://snomed.info/sct", "code": "26643006"}]
            ),
            "MedicationRequest.dosageInstruction[2].route",
        ),
        (
            lambda r: r["dosageInstruction"][0]["timing"]["repeat"].update(periodUnit="h"),
            "MedicationRequest.dosageInstruction[0].timing.repeat.periodUnit",
        ),
        (
            lambda r: r["dispenseRequest"].update(
                expectedSupplyDuration={"value": 3, "code": "mo"}
            ),
            "MedicationRequest.dispenseRequest.expectedSupplyDuration",
        ),
        (
            lambda r: r["contained"][1]["ingredient"][0]["strength"]["numerator"].update(code="g%"),
            "MedicationRequest.contained[1].ingredient[0].strength",
        ),
        (lambda r: r.pop("subject"), "MedicationRequest.subject"),
        (
            lambda r: r["dosageInstruction"][1]["timing"]["repeat"].update(
                boundsDuration={"value": 1, "code": "mo"}
            ),
            "MedicationRequest.dosageInstruction[1].timing.repeat.boundsDuration",
        ),
    ],
)
def test_errors_name_the_element(mutate, expression):
    issues = _issues(_mutate(mutate))
    assert expression in issues, issues


def test_order_errors_map_back_to_fhir_paths():
    mapped = from_medication_request(three_phase_request())
    assert mapped.expression("phases[0].count") == (
        "MedicationRequest.dosageInstruction[1].timing.repeat.count"
    )
    assert mapped.expression("patient.dob") == "MedicationRequest.contained[0].birthDate"
    assert mapped.expression("refills") == (
        "MedicationRequest.dispenseRequest.numberOfRepeatsAllowed"
    )
    assert mapped.expression("start_date") == (
        "MedicationRequest.dosageInstruction[1].timing.repeat.boundsPeriod.start"
    )


def test_iv_route_is_read_for_the_stop_alert():
    resource = copy.deepcopy(three_phase_request())
    for d in resource["dosageInstruction"]:
        d["route"] = {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]}
    assert from_medication_request(resource).order["route"] == "IV"
