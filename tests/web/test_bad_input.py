"""Bad input never answers 5xx (issue 13, SPEC 8.1): one test per defect class of the issue.

Each of these answered 500 (or took seconds) before the typed door: huge exponents and
10,000-digit numbers, 2,000-deep JSON, NUL and unpaired surrogates, ids and pages above
2^31-1, ``Infinity``, lot quantities of 2^63, FHIR scalars where lists belong, 5,000-digit
numbers on the plan page, ``vials=²``, settings posted without a field, ``Basic é``.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import login_as
from tests.factories_orders import order_body

HUGE_EXPONENT = "1e999999"
LONG_DIGITS = "9" * 10_000
DEEP = "[" * 2000 + "]" * 2000
DUMMY = {"int": "999999", "default": "X"}


def _role_for(op: dict) -> str:
    text = op.get("description", "")
    if text.startswith("Roles:"):
        roles = text.split(".", 1)[0].removeprefix("Roles: ").split(", ")
        for role in ("pharmacist", "prescriber", "admin", "technician"):
            if role in roles:
                return role
    return "pharmacist"


def _operations(client) -> list[tuple[str, str, dict]]:
    doc = client.get("/api/v1/openapi.json").get_json()
    out = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            url = "/api/v1" + path
            for param in op["parameters"]:
                if param["in"] == "path":
                    kind = "int" if param["schema"]["type"] == "integer" else "default"
                    url = url.replace("{" + param["name"] + "}", DUMMY[kind])
            out.append((method, url, op))
    return out


def _numeric(param: dict) -> bool:
    options = param["schema"].get("anyOf", [param["schema"]])
    return param["in"] == "query" and any(o.get("type") in ("integer", "number") for o in options)


def _fields_of(client, op: dict) -> list[tuple[str, bool]]:
    """Return the body's top-level fields, each with whether it holds a number."""
    body = op.get("requestBody")
    if not body:
        return [("x", True)]
    schema = next(iter(body["content"].values()))["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    doc = client.get("/api/v1/openapi.json").get_json()
    props = doc["components"]["schemas"][name].get("properties", {})
    out = []
    for field, prop in props.items():
        options = prop.get("anyOf", [prop])
        out.append((field, any(o.get("type") in ("integer", "number") for o in options)))
    return out or [("x", True)]


def test_every_operation_refuses_huge_numbers_and_deep_json(client, api):
    """1e999999, a 10,000-digit number (raw and as text) and 2,000-deep JSON: 4xx everywhere."""
    tried = 0
    for method, url, op in _operations(client):
        if method == "get":
            for param in (p for p in op["parameters"] if _numeric(p)):
                for bad in (HUGE_EXPONENT, LONG_DIGITS):
                    response = client.get(
                        url, query_string={param["name"]: bad}, headers=api(_role_for(op))
                    )
                    assert 400 <= response.status_code < 500, (url, param["name"])
                    tried += 1
            continue
        headers = {**api(_role_for(op)), "Content-Type": "application/json"}
        bodies = [DEEP, HUGE_EXPONENT, LONG_DIGITS]
        for field, numeric in _fields_of(client, op):
            bodies += [
                f'{{"{field}": {HUGE_EXPONENT}}}',
                f'{{"{field}": {LONG_DIGITS}}}',
                f'{{"{field}": {DEEP}}}',
            ]
            if numeric:  # as text too: a numeric string is read by the same bounded rules
                bodies += [f'{{"{field}": "{HUGE_EXPONENT}"}}', f'{{"{field}": "{LONG_DIGITS}"}}']
        for body in bodies:
            response = client.open(url, method=method.upper(), data=body, headers=headers)
            assert 400 <= response.status_code < 500, (method, url, body[:40])
            tried += 1
    assert tried > 300


def test_deep_json_is_400_before_any_view(client, api):
    response = client.post(
        "/api/v1/orders",
        data=DEEP,
        headers={**api("prescriber"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "deeper than 32" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ('{"patient": {"first_name": "A\\u0000n"}}', 422),
        ('{"patient": {"first_name": "A\\ud800n"}}', 422),
        ('{"concentration_mcg_per_ml": Infinity}', 422),
        ('{"concentration_mcg_per_ml": NaN}', 422),
        ('{"days_supply": -Infinity}', 422),
        ('{"days_supply": 1e999999}', 422),
    ],
)
def test_nul_surrogates_and_non_finite_numbers_are_refused(client, api, raw, status):
    response = client.post(
        "/api/v1/orders",
        data=raw,
        headers={**api("prescriber"), "Content-Type": "application/json"},
    )
    assert response.status_code == status
    assert set(response.get_json()["error"]) == {"code", "message", "fields"}


def test_order_fields_name_the_bad_number(client, api):
    body = order_body(days_supply="1e999999", refills=LONG_DIGITS)
    body["phases"][0]["count"] = HUGE_EXPONENT
    response = client.post("/api/v1/orders", json=body, headers=api("prescriber"))
    assert response.status_code == 422
    assert {"days_supply", "refills", "phases[0].count"} <= set(
        response.get_json()["error"]["fields"]
    )


def test_body_over_one_mebibyte_is_413(client, api):
    body = json.dumps({"notes": "x" * (1024 * 1024)})
    response = client.post(
        "/api/v1/orders",
        data=body,
        headers={**api("prescriber"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_ids_and_pages_beyond_32_bits(client, api):
    headers = api("pharmacist")
    assert client.get("/api/v1/fills/99999999999", headers=headers).status_code == 404
    assert client.get("/api/v1/ingredient-lots/99999999999", headers=headers).status_code == 404
    assert (
        client.post(
            "/api/v1/fills/99999999999/check", json={"scans": []}, headers=headers
        ).status_code
        == 404
    )
    page = client.get("/api/v1/orders?before=99999999999999999999", headers=headers)
    assert page.status_code == 422 and "before" in page.get_json()["error"]["fields"]
    limit = client.get("/api/v1/audit?limit=1e999999", headers=headers)
    assert limit.status_code == 422 and "limit" in limit.get_json()["error"]["fields"]
    recall = client.post(
        "/api/v1/recalls", json={"ingredient_lot": 2**31, "reason": "x"}, headers=headers
    )
    assert recall.status_code == 422 and "ingredient_lot" in recall.get_json()["error"]["fields"]
    batch = client.post(
        "/api/v1/batches",
        json={
            "formulation": "X",
            "vials": 1,
            "compounded_at": "2026-01-01T10:00",
            "ingredient_lots": [99999999999],
        },
        headers=api("technician"),
    )
    assert batch.status_code == 422
    assert "ingredient_lots[0]" in batch.get_json()["error"]["fields"]


def test_pages_with_huge_or_odd_page_numbers(client):
    login_as(client, "pharmacist")
    for page in ("99999999999999999999", "²", "-1", "1e999999"):
        for url in ("/orders/", "/admin/audit", "/compounding/batches"):
            for name in ("page", "before", "after"):
                response = client.get(f"{url}?{name}={page}")
                assert response.status_code in (200, 302), (url, name, page)


def test_lot_quantity_of_two_to_the_63(client, api):
    body = {
        "component": "Cyanocobalamin",
        "manufacturer": "M",
        "lot": "L1",
        "expiry": "2099-01",
        "quantity": 2**63,
        "unit": "mg",
        "assay_percent": 99,
        "lod_percent": 5,
    }
    response = client.post("/api/v1/ingredient-lots", json=body, headers=api("technician"))
    assert response.status_code == 422
    assert "quantity" in response.get_json()["error"]["fields"]


def test_fhir_scalars_where_lists_belong(client, api):
    resource = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "dosageInstruction": {"text": "x"},
        "contained": "Patient",
        "note": "hi",
    }
    response = client.post(
        "/api/v1/fhir/MedicationRequest",
        data=json.dumps(resource),
        headers={**api("prescriber"), "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 422
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    where = {e for issue in outcome["issue"] for e in issue["expression"]}
    assert {"MedicationRequest.dosageInstruction", "MedicationRequest.contained"} <= where


def test_fhir_huge_exponent_string_is_refused_at_once(client, api):
    resource = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "dosageInstruction": [{"timing": {"repeat": {"count": "1e999999"}}}],
    }
    response = client.post(
        "/api/v1/fhir/MedicationRequest", json=resource, headers=api("prescriber")
    )
    assert response.status_code == 422


def test_formulation_huge_exponent_string_is_a_field_error(client, api):
    response = client.post(
        "/api/v1/formulations", json={"category": "1e999999"}, headers=api("pharmacist")
    )
    assert response.status_code == 422
    assert "category" in response.get_json()["error"]["fields"]


def test_basic_auth_that_is_not_base64_is_401(client):
    response = client.post("/api/v1/tokens", headers={"Authorization": "Basic é"})
    assert response.status_code == 401
    assert client.get("/api/v1/orders", headers={"Authorization": "Basic é"}).status_code == 401


def test_batch_vials_superscript_two(client, api):
    response = client.post(
        "/api/v1/batches",
        json={
            "formulation": "X",
            "vials": "²",
            "compounded_at": "2026-01-01T10:00",
            "ingredient_lots": [1],
        },
        headers=api("technician"),
    )
    assert response.status_code == 422 and "vials" in response.get_json()["error"]["fields"]


PLAN_FORM = {
    "phases-0-dose_mcg": "1000",
    "phases-0-every": "1",
    "phases-0-unit": "day",
    "phases-0-count": "7",
    "start_date": "2026-01-05",
    "concentration_mcg_per_ml": "1000",
    "vial_volume_ml": "10",
    "container": "multiple-dose",
    "route": "IM",
    "days_supply": "30",
    "fills": "1",
}


@pytest.mark.parametrize(
    "field",
    [
        "phases-0-dose_mcg",
        "phases-0-count",
        "concentration_mcg_per_ml",
        "days_supply",
        "fills",
        "in_use_days",
        "bud_days",
    ],
)
def test_plan_page_with_5000_digit_numbers_shows_a_form_error(client, field):
    login_as(client, "pharmacist")
    response = client.post("/plan/", data={**PLAN_FORM, field: "9" * 5000})
    assert response.status_code in (200, 422)
    assert "Something went wrong" not in response.get_data(as_text=True)


def test_settings_posted_without_a_field(client):
    login_as(client, "admin")
    response = client.post(
        "/admin/settings",
        data={
            "name": "P",
            "address": "A",
            "phone": "1",
            "timezone": "America/New_York",
            "rx_label_width_in": "3",
            "rx_label_height_in": "2",
            "vial_label_width_in": "2",
            "vial_label_height_in": "1",
            "batch_label_width_in": "4",
            "batch_label_height_in": "2",
            "max_dose_mcg": "5000",
            "im_max_ml": "3",
            "sc_max_ml": "1",
            "min_dose_volume_ml": "0.05",
            "default_in_use_days": "28",
            "refill_elapsed_percent": "75",
            "expiring_within_days": "30",
            "monitoring_interval_months": "3",
            "max_backdate_days": "7",
            "max_compounded_age_days": "30",
            "sterility_incubation_days": "14",
            "login_slowdown_after": "3",
            "login_lock_after": "10",
            "login_lock_minutes": "15",
            "token_hours": "24",
            "session_idle_minutes": "30",
            "session_max_hours": "12",
        },
    )  # no licence_number
    assert response.status_code in (302, 422)


def test_nul_in_a_form_field_is_a_form_error(client):
    login_as(client, "technician")
    response = client.post(
        "/compounding/lots/receive",
        data={
            "component": "Cyano\x00cobalamin",
            "manufacturer": "M",
            "lot": "L1",
            "expiry": "2099-01",
            "quantity": "10",
            "unit": "mg",
        },
    )
    assert response.status_code in (200, 422)
    assert "control character" in response.get_data(as_text=True)


def test_query_text_with_nul_is_refused(client, api):
    response = client.get("/api/v1/audit", query_string={"actor": "a\x00b"}, headers=api("admin"))
    assert response.status_code == 422
