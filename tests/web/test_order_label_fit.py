"""Order entry refuses what no label could print (SPEC 5.8): API, FHIR and the order form;
the live plan preview warns first."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.models import Order
from tests import clock
from tests.factories_orders import order_body
from tests.unit.test_fhir_mapping import three_phase_request as _three_phase_request


def three_phase_request() -> dict:
    """Return the three-phase MedicationRequest starting today (SPEC 5.3 start window)."""
    return _three_phase_request(start=clock.today().isoformat())


from tests.unit.test_labels_datamatrix import NAMES

TWENTY_PHASES = [
    {"dose_mcg": 1000, "every": n % 6 + 1, "unit": "day", "count": 2} for n in range(19)
] + [{"dose_mcg": 1000, "every": 1, "unit": "month", "count": None}]
LONG_LAST = "Alexandrina Wilhelmina Konstantinopoulou de la Cruz-Ortega y Montenegro"


def post(client, api, body):
    return client.post("/api/v1/orders", json=body, headers=api("prescriber"))


def order_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(Order.id))).scalar_one()


@pytest.mark.parametrize("script", list(NAMES))
def test_names_in_every_script_are_accepted(client, api, script: str) -> None:
    first, last = NAMES[script].split(" ", 1)
    body = order_body(patient__first_name=first, patient__last_name=last, patient__mrn=None)
    response = post(client, api, body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["patient"]["last_name"] == last


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"patient__last_name": "王"}, {"patient.last_name"}),
        ({"patient__first_name": "Ann\u200b\U0001f600"}, {"patient.first_name"}),
        ({"patient__last_name": LONG_LAST}, {"patient.first_name", "patient.last_name"}),
        ({"phases": TWENTY_PHASES}, {"phases"}),
    ],
    ids=["cjk", "emoji", "too-long", "twenty-phases"],
)
def test_unprintable_orders_are_refused_naming_the_field(app, client, api, changes, fields):
    before = order_count(app)
    response = post(client, api, order_body(patient__mrn=None, **changes))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert set(error["fields"]) == fields
    assert all("label" in message for message in error["fields"].values())
    assert order_count(app) == before


def test_fhir_import_refuses_a_name_the_labels_cannot_print(app, client, api) -> None:
    resource = copy.deepcopy(three_phase_request())
    patient = next(r for r in resource["contained"] if r["resourceType"] == "Patient")
    patient["name"] = [{"family": "王", "given": ["Ada"]}]
    patient.pop("identifier", None)
    before = order_count(app)
    response = client.post(
        "/api/v1/fhir/MedicationRequest", json=resource, headers=api("prescriber")
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    issues = response.get_json(force=True)["issue"]
    expressions = [e for issue in issues for e in issue["expression"]]
    assert any(e.endswith(".name[0].family") for e in expressions), issues
    assert order_count(app) == before


def test_live_preview_warns_about_the_name_and_the_regimen(as_user) -> None:
    client = as_user("prescriber")
    body = {
        "phases": TWENTY_PHASES,
        "start_date": "2026-12-01",
        "concentration_mcg_per_ml": 1000,
        "vial_volume_ml": 10,
        "container": "multiple-dose",
        "route": "IM",
        "days_supply": 90,
        "fills": 1,
        "label_check": {"first_name": "Ada", "last_name": "王"},
    }
    response = client.post("/plan/preview", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "data-label-warnings" in html
    assert "U+738B" in html and "prescription label" in html
    fine = dict(body, phases=TWENTY_PHASES[-2:])
    fine["label_check"] = {"first_name": "Şule", "last_name": "Yılmaz"}
    html = client.post("/plan/preview", json=fine).get_data(as_text=True)
    assert "data-label-warnings" not in html and "data-plan-result" in html
