"""A patient's lab results and symptom reports over the API come a page at a time, by the
date they describe (SPEC 9, issue 14): ``limit``, ``next`` and ``prev`` added, every field of
the contract kept, nothing lost or repeated across pages."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from tests.factories_fills import make_patient
from tests.factories_followup import add_observations, add_reports
from tests.web.test_continuity_queries import writing

FIRST = date(2020, 1, 6)
OBSERVATION_FIELDS = {
    "id",
    "patient_id",
    "test",
    "loinc",
    "value",
    "unit",
    "given_value",
    "given_unit",
    "reference_low",
    "reference_high",
    "reference_range_source",
    "flag",
    "effective_date",
    "lab",
    "source",
    "recorded_at",
}
REPORT_FIELDS = {"id", "patient_id", "date", "symptoms", "worse", "note", "source", "recorded_at"}


@pytest.fixture
def history(app) -> dict:
    """A patient with 57 B12 results (entered out of date order, two on some days), 5 MMA
    results and 23 symptom reports."""
    with writing(app):
        patient = make_patient()
        days = [FIRST + timedelta(days=20 * (k // 2 if k % 5 == 0 else k)) for k in range(57)]
        # Entered late: the oldest results are recorded last, so ids do not follow dates.
        b12 = add_observations(patient, days[10:]) + add_observations(patient, days[:10])
        mma = add_observations(patient, [FIRST + timedelta(days=90 * k) for k in range(5)], "mma")
        reports = add_reports(patient, [FIRST + timedelta(days=30 * k) for k in range(23)])
        return {"patient": patient.id, "b12": b12, "mma": mma, "reports": reports}


def _walk(client, url: str, headers: dict, key: str) -> list[list[dict]]:
    """Follow ``next`` links from ``url``; return each page's rows."""
    pages = []
    while url:
        body = client.get(url, headers=headers).get_json()
        pages.append(body[key])
        url = body["next"]
        assert len(pages) < 20
    return pages


def _order(row: dict, day: str) -> tuple[str, int]:
    return row[day], row["id"]


def test_results_page_back_in_time_each_page_oldest_first(app, client, api, history):
    headers = api("pharmacist")
    url = f"/api/v1/patients/{history['patient']}/observations?test=b12&limit=10"
    first = client.get(url, headers=headers).get_json()
    assert first["limit"] == 10 and first["prev"] is None
    assert "test=b12" in first["next"] and "limit=10" in first["next"]
    assert set(first["observations"][0]) == OBSERVATION_FIELDS
    pages = _walk(client, url, headers, "observations")
    assert [len(p) for p in pages] == [10, 10, 10, 10, 10, 7]
    seen = [row["id"] for page in pages for row in page]
    assert sorted(seen) == sorted(history["b12"])  # nothing lost, nothing repeated
    for page in pages:
        positions = [_order(row, "effective_date") for row in page]
        assert positions == sorted(positions)  # oldest first within a page
    for newer, older in itertools.pairwise(pages):
        assert _order(older[-1], "effective_date") < _order(newer[0], "effective_date")


def test_prev_links_come_back_to_the_same_pages(app, client, api, history):
    headers = api("technician")
    url = f"/api/v1/patients/{history['patient']}/observations?limit=20"
    first = client.get(url, headers=headers).get_json()
    second = client.get(first["next"], headers=headers).get_json()
    third = client.get(second["next"], headers=headers).get_json()
    last = client.get(third["next"], headers=headers).get_json()
    assert last["next"] is None and len(last["observations"]) == 62 - 60
    back = client.get(last["prev"], headers=headers).get_json()
    assert back["observations"] == third["observations"]
    back = client.get(back["prev"], headers=headers).get_json()
    assert back["observations"] == second["observations"]
    front = client.get(back["prev"], headers=headers).get_json()
    assert front["observations"] == first["observations"] and front["prev"] is None


def test_symptom_reports_page_the_same_way(app, client, api, history):
    headers = api("pharmacist")
    url = f"/api/v1/patients/{history['patient']}/symptom-reports?limit=5"
    first = client.get(url, headers=headers).get_json()
    assert set(first) == {"symptom_reports", "limit", "next", "prev"}
    assert set(first["symptom_reports"][0]) == REPORT_FIELDS
    pages = _walk(client, url, headers, "symptom_reports")
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    dates = [row["date"] for page in reversed(pages) for row in page]
    assert dates == [(FIRST + timedelta(days=30 * k)).isoformat() for k in range(23)]
    # Without a limit: the default page holds them all, oldest first, as before paging.
    whole = client.get(url.split("?")[0], headers=headers).get_json()
    assert whole["limit"] == 50 and whole["next"] is None and whole["prev"] is None
    assert [r["date"] for r in whole["symptom_reports"]] == dates


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("before=x", "before"),
        ("after=2024-13-01.5", "after"),
        ("before=2024-01-01.99999999999", "before"),
        ("before=2024-01-01.5&after=2024-01-01.3", "after"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
    ],
)
@pytest.mark.parametrize("path", ["observations", "symptom-reports"])
def test_bad_api_paging_values_answer_422_naming_the_field(
    app, client, api, history, path, query, field
):
    response = client.get(
        f"/api/v1/patients/{history['patient']}/{path}?{query}", headers=api("pharmacist")
    )
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_openapi_documents_the_paging(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in ("observations", "symptom-reports"):
        operation = doc["paths"][f"/patients/{{patient_id}}/{path}"]["get"]
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert {"before", "after", "limit"} <= names
        assert "422" in operation["responses"]
    schemas = doc["components"]["schemas"]
    for name in ("ObservationList", "SymptomReportList"):
        assert {"limit", "next", "prev"} <= set(schemas[name]["properties"])
