"""POST /api/v1/plan: the SPEC 2.3 worked example, every bad input as 422, and auth."""

from __future__ import annotations

import copy

import pytest

from tests.conftest import login_as

EXAMPLE = {
    "phases": [
        {"dose_mcg": 1000, "every": 1, "unit": "day", "count": 7},
        {"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4},
        {"dose_mcg": 1000, "every": 1, "unit": "month", "count": None},
    ],
    "start_date": "2026-12-01",
    "concentration_mcg_per_ml": 1000,
    "vial_volume_ml": 10,
    "container": "multiple-dose",
    "days_supply": 90,
    "fills": 1,
}
OPTIONS = [
    {"vial_volume_ml": 1, "container": "single-dose"},
    {"vial_volume_ml": 2, "container": "multiple-dose"},
    {"vial_volume_ml": 10, "container": "multiple-dose"},
    {"vial_volume_ml": 30, "container": "multiple-dose"},
]


def body(**changes):
    data = copy.deepcopy(EXAMPLE)
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}


def phase(index, **changes):
    phases = copy.deepcopy(EXAMPLE["phases"])
    phases[index].update(changes)
    return phases


def test_worked_example(client, api):
    response = client.post("/api/v1/plan", json=EXAMPLE, headers=api("prescriber"))
    assert response.status_code == 200
    plan = response.get_json()
    assert [d["date"] for d in plan["doses"]] == [
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
        "2026-12-05",
        "2026-12-06",
        "2026-12-07",
        "2026-12-14",
        "2026-12-21",
        "2026-12-28",
        "2027-01-04",
        "2027-02-04",
    ]
    assert plan["totals"]["doses"] == 12
    assert plan["totals"]["vials"] == 3
    assert plan["totals"]["waste_ml"] == 18
    vial_1 = plan["vials"][0]
    assert (vial_1["opened"], vial_1["doses"]) == ("2026-12-01", 10)
    assert [v["opened"] for v in plan["vials"][1:]] == ["2027-01-04", "2027-02-04"]
    for key in ("doses", "vials", "fills", "totals", "uncovered_doses", "warnings", "sig"):
        assert key in plan
    assert set(plan["doses"][0]) >= {
        "date",
        "dose_mcg",
        "volume_ml",
        "phase",
        "fill_number",
        "vial",
    }
    assert set(plan["vials"][0]) >= {
        "vial",
        "fill_number",
        "opened",
        "discard_by",
        "doses",
        "used_ml",
        "waste_ml",
    }
    assert set(plan["fills"][0]) >= {"fill_number", "dispense_date", "doses", "vials"}
    assert set(plan["totals"]) == {"doses", "vials", "dose_volume_ml", "waste_ml", "mcg"}
    assert plan["sig"].startswith("Inject 1 mL (1,000 mcg) intramuscularly once daily")


def test_vial_options_recommend_single_dose(client, api):
    data = body(vial_volume_ml=..., container=..., vial_options=OPTIONS)
    response = client.post("/api/v1/plan", json=data, headers=api("technician"))
    assert response.status_code == 200
    result = response.get_json()
    assert result["recommended"] == 0
    assert len(result["options"]) == 4
    single = result["options"][0]
    assert (single["totals"]["vials"], single["totals"]["waste_ml"]) == (12, 0)
    assert result["options"][2]["totals"]["waste_ml"] == 18


def test_in_use_days_defaults_to_pharmacy_setting(app, client, api):
    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from pharmacy.services.settings import get_settings

    with app.app_context(), write_intent():
        get_settings().default_in_use_days = 7
        db.session.commit()
    plan = client.post("/api/v1/plan", json=EXAMPLE, headers=api("pharmacist")).get_json()
    # A vial punctured on Dec 1 may be used for 7 days only: Dec 14 needs a new one.
    assert plan["vials"][0]["discard_by"] == "2026-12-07"
    assert plan["vials"][0]["doses"] == 7
    explicit = client.post("/api/v1/plan", json=body(in_use_days=28), headers=api("pharmacist"))
    assert explicit.get_json()["vials"][0]["doses"] == 10


BAD = [
    ("dose not a number", body(phases=phase(0, dose_mcg="lots")), "phases[0].dose_mcg"),
    ("every not a number", body(phases=phase(1, every="weekly")), "phases[1].every"),
    ("count not a number", body(phases=phase(0, count="seven")), "phases[0].count"),
    ("zero dose", body(phases=phase(0, dose_mcg=0)), "phases[0].dose_mcg"),
    ("negative dose", body(phases=phase(1, dose_mcg=-100)), "phases[1].dose_mcg"),
    ("zero every", body(phases=phase(0, every=0)), "phases[0].every"),
    ("count zero", body(phases=phase(1, count=0)), "phases[1].count"),
    ("open-ended not last", body(phases=phase(1, count=None)), "phases[1].count"),
    (
        "weekdays with day unit",
        body(phases=phase(0, weekdays=["mon", "wed"])),
        "phases[0].weekdays",
    ),
    ("unknown unit", body(phases=phase(2, unit="fortnight")), "phases[2].unit"),
    ("unknown weekday", body(phases=phase(1, weekdays=["funday"])), "phases[1].weekdays"),
    ("no phases", body(phases=[]), "phases"),
    ("start date not a date", body(start_date="next tuesday"), "start_date"),
    ("start date impossible", body(start_date="2026-02-30"), "start_date"),
    ("start date a number", body(start_date=20261201), "start_date"),
    ("days supply 0", body(days_supply=0), "days_supply"),
    ("days supply 366", body(days_supply=366), "days_supply"),
    ("days supply text", body(days_supply="ninety"), "days_supply"),
    ("fills 0", body(fills=0), "fills"),
    ("fills 14", body(fills=14), "fills"),
    ("concentration 0", body(concentration_mcg_per_ml=0), "concentration_mcg_per_ml"),
    ("concentration negative", body(concentration_mcg_per_ml=-5), "concentration_mcg_per_ml"),
    ("concentration too high", body(concentration_mcg_per_ml=100001), "concentration_mcg_per_ml"),
    ("concentration text", body(concentration_mcg_per_ml="strong"), "concentration_mcg_per_ml"),
    ("vial volume 0", body(vial_volume_ml=0), "vial_volume_ml"),
    ("vial volume negative", body(vial_volume_ml=-1), "vial_volume_ml"),
    ("multiple-dose over 30 mL", body(vial_volume_ml=31), "vial_volume_ml"),
    ("unknown container", body(container="jar"), "container"),
    ("in-use 29 days", body(in_use_days=29), "in_use_days"),
    ("in-use 0 days", body(in_use_days=0), "in_use_days"),
    ("bud days 0", body(bud_days=0), "bud_days"),
    ("unknown route", body(route="IV"), "route"),
    (
        "option over 30 mL",
        body(
            vial_volume_ml=...,
            container=...,
            vial_options=[
                {"vial_volume_ml": 1, "container": "single-dose"},
                {"vial_volume_ml": 50, "container": "multiple-dose"},
            ],
        ),
        "vial_options[1].vial_volume_ml",
    ),
    ("dose bigger than vial", body(vial_volume_ml=0.5), "phases[0].dose_mcg"),
    (
        "dose too small to measure",
        body(concentration_mcg_per_ml=100000, phases=phase(0, dose_mcg=100)),
        "phases[0].dose_mcg",
    ),
    ("boolean dose", body(phases=phase(0, dose_mcg=True)), "phases[0].dose_mcg"),
]


@pytest.mark.parametrize(("case", "data", "path"), BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_422_naming_the_field(client, api, case, data, path):
    response = client.post("/api/v1/plan", json=data, headers=api("prescriber"))
    assert response.status_code == 422, case
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert path in error["fields"], error["fields"]
    assert error["fields"][path]


def test_all_errors_reported_at_once(client, api):
    data = body(start_date="soon", days_supply=0, phases=phase(0, count=0))
    fields = client.post("/api/v1/plan", json=data, headers=api("prescriber")).get_json()["error"][
        "fields"
    ]
    assert {"start_date", "days_supply", "phases[0].count"} <= set(fields)


def test_malformed_json_is_400(client, api):
    response = client.post(
        "/api/v1/plan",
        data="{not json",
        headers={**api("prescriber"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


def test_json_that_is_not_an_object_is_422(client, api):
    response = client.post("/api/v1/plan", json=[1, 2], headers=api("prescriber"))
    assert response.status_code == 422


def test_no_token_is_401(client):
    response = client.post("/api/v1/plan", json=EXAMPLE)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_bad_token_is_401(client):
    response = client.post("/api/v1/plan", json=EXAMPLE, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


@pytest.mark.parametrize("username", ["prescriber", "technician", "pharmacist", "admin"])
def test_every_role_may_plan_with_a_token(client, api, username):
    assert client.post("/api/v1/plan", json=EXAMPLE, headers=api(username)).status_code == 200


def test_session_with_csrf_header_works(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    login_as(client, "prescriber")
    page = client.get("/plan/").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    without = client.post("/api/v1/plan", json=EXAMPLE)
    assert without.status_code == 403
    assert without.get_json()["error"]["code"] == "csrf_failed"
    response = client.post("/api/v1/plan", json=EXAMPLE, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.get_json()["totals"]["vials"] == 3
