"""The order's clinical frame (SPEC 7.1) in a FHIR MedicationRequest: cause <-> reasonCode,
neurological symptoms and monitoring as documented extensions; valid R4, round trips."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.fhir import (
    CAUSE_SYSTEM,
    MONITORING_URL,
    NEUROLOGIC_URL,
    from_medication_request,
    to_medication_request,
)
from pharmacy.domain.order_input import parse_order
from tests.unit.test_fhir_mapping import TODAY, api_order

FRAME = {
    "cause": "malabsorption",
    "neurologic_symptoms": True,
    "monitoring": {"tests": ["b12", "cbc", "homocysteine"], "interval_months": 2},
}


def test_frame_is_written_validated_and_read_back():
    resource = to_medication_request(api_order(**FRAME))
    MedicationRequest.parse_obj(resource)
    reason = resource["reasonCode"][0]
    assert reason["coding"] == [{"system": CAUSE_SYSTEM, "code": "malabsorption"}]
    assert reason["text"] == "Pernicious anaemia (D51.0)"
    urls = {e["url"]: e for e in resource["extension"]}
    assert urls[NEUROLOGIC_URL]["valueBoolean"] is True
    subs = urls[MONITORING_URL]["extension"]
    assert [s["valueCode"] for s in subs if s["url"] == "test"] == ["b12", "cbc", "homocysteine"]
    assert {"url": "intervalMonths", "valueInteger": 2} in subs
    body = from_medication_request(resource).order
    for key, value in FRAME.items():
        assert body[key] == value
    assert parse_order(body, TODAY).frame.to_dict() == FRAME


def test_a_request_without_the_frame_gets_the_defaults():
    resource = to_medication_request(api_order())
    resource["extension"] = [e for e in resource["extension"] if "compounding" in e["url"]]
    resource["reasonCode"] = [{"text": "B12 deficiency"}]
    body = from_medication_request(resource).order
    assert parse_order(body, TODAY).frame.to_dict() == {
        "cause": "unknown",
        "neurologic_symptoms": False,
        "monitoring": {"tests": ["b12", "cbc"], "interval_months": 3},
    }


@pytest.mark.parametrize(
    ("change", "path", "expression"),
    [
        (lambda r: r["reasonCode"][0]["coding"][0].update(code="stress"), "cause", "reasonCode"),
        (
            lambda r: r["extension"][2]["extension"].append(
                {"url": "test", "valueCode": "ferritin"}
            ),
            "monitoring.tests[3]",
            MONITORING_URL,
        ),
        (
            lambda r: r["extension"][2]["extension"].append(
                {"url": "intervalMonths", "valueInteger": 24}
            ),
            "monitoring.interval_months",
            MONITORING_URL,
        ),
    ],
)
def test_bad_frame_names_the_element(change, path, expression):
    resource = to_medication_request(api_order(**FRAME))
    change(resource)
    mapped = from_medication_request(resource)
    with pytest.raises(ValidationFailed) as caught:
        parse_order(mapped.order, TODAY)
    assert path in caught.value.errors
    assert expression in mapped.expression(path)
