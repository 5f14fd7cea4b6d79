"""A trace is read a page of fills at a time, the CSV streams every fill, and neither runs
more SQL as a lot reaches more fills (SPEC 9)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import now_utc
from pharmacy.services import fills as fills_service
from pharmacy.services import trace as trace_service
from tests.factories import user
from tests.factories_fills import (
    make_batch,
    make_formulation,
    make_ingredient_lot,
    make_patient,
    make_verified_order,
)

# Allocates fills today: `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive

MANY = 23  # fills the busy lot reaches: more than two pages of ten, not a multiple of ten
FEW = 2


@pytest.fixture
def lots(app):
    """Two ingredient lots: one reaching FEW fills, one reaching MANY over two batches."""
    with app.app_context(), write_intent():
        formulation = make_formulation()
        few, many = make_ingredient_lot(), make_ingredient_lot()
        soon = now_utc() + timedelta(days=20)
        # First expiry first out: the few-fill batch is used up before the others are touched.
        small = make_batch(formulation, vials=FEW, bud_dt=soon, ingredient_lots=[few])
        first = make_batch(
            formulation, vials=10, bud_dt=soon + timedelta(days=5), ingredient_lots=[many]
        )
        second = make_batch(
            formulation, vials=20, bud_dt=soon + timedelta(days=9), ingredient_lots=[many]
        )
        tech = user("technician")
        patients = [make_patient(first_name=f"Pat{i}", last_name="Lot") for i in range(4)]
        rx: dict[str, list[str]] = {"few": [], "many": []}
        for i in range(FEW + MANY):
            order = make_verified_order(
                patients[i % 4], prescriber=("prescriber", "prescriber2")[i % 2]
            )
            fills_service.allocate_fill(order, tech, fills_service.local_today())
            rx["few" if i < FEW else "many"].append(order.rx_number)
        data = {
            "few": few.id,
            "many": many.id,
            "small": small.lot_number,
            "second": second.lot_number,
            "first": first.lot_number,
            "rx": rx,
        }
        db.session.remove()
    return data


def _statements(app, client, url: str, headers=None):
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url, headers=headers)
        response.get_data()  # a streamed body runs its statements while it is read
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), response


def _query(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


def test_trace_json_pages_with_next_and_prev(client, api, lots):
    headers = api("pharmacist")
    url = f"/api/v1/trace?ingredient_lot={lots['many']}&limit=10"
    pages = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append(body)
        url = body["next"]
    assert [len(p["fills"]) for p in pages] == [10, 10, MANY - 20]
    ids = [f["id"] for p in pages for f in p["fills"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == MANY
    assert sorted(f["rx_number"] for p in pages for f in p["fills"]) == sorted(lots["rx"]["many"])
    first, middle, last = pages
    assert first["prev"] is None and last["next"] is None
    assert _query(first["next"]) == {
        "ingredient_lot": str(lots["many"]),
        "limit": "10",
        "before": str(first["fills"][-1]["id"]),
    }
    # Back from the last page opens the middle one again, then the first.
    back = client.get(last["prev"], headers=headers).get_json()
    assert [f["id"] for f in back["fills"]] == [f["id"] for f in middle["fills"]]
    top = client.get(back["prev"], headers=headers).get_json()
    assert [f["id"] for f in top["fills"]] == [f["id"] for f in first["fills"]]
    assert top["prev"] is None
    # The contract's fields are all there; the whole trace is counted on every page.
    for key in ("query", "batches", "fills", "fills_to_pull", "patients", "prescribers"):
        assert key in first
    assert first["ingredient_lot"]["id"] == lots["many"]
    assert [b["lot_number"] for b in first["batches"]] == [lots["first"], lots["second"]]
    assert first["totals"] == {"fills": MANY, "fills_to_pull": MANY}
    assert first["limit"] == 10
    # Allocated fills are open: all of them are to pull, whatever the page.
    assert len(last["fills_to_pull"]) == MANY
    fill = first["fills"][0]
    assert set(fill) >= {
        "id", "rx_number", "fill_number", "status", "dispense_date", "dispensed_at", "vials",
        "batch_lots", "serials", "patient", "prescriber",
    }  # fmt: skip
    assert fill["batch_lots"] == [lots["second"]] and fill["vials"] == 1
    assert fill["serials"] == [{"batch_lot": lots["second"], "serials": [MANY - 10]}]
    # Patients and prescribers are those of the page's fills, each once.
    names = [p["name"] for p in first["patients"]]
    assert len(names) == len(set(names)) == 4


def test_trace_batch_lot_is_paged_too(client, api, lots):
    headers = api("pharmacist")
    body = client.get(f"/api/v1/trace?batch_lot={lots['second']}&limit=5", headers=headers)
    body = body.get_json()
    assert len(body["fills"]) == 5 and body["totals"]["fills"] == MANY - 10
    assert _query(body["next"])["batch_lot"] == lots["second"]
    default = client.get(f"/api/v1/trace?batch_lot={lots['second']}", headers=headers).get_json()
    assert len(default["fills"]) == MANY - 10 and default["next"] is None
    assert default["limit"] == trace_service.PAGE_LIMIT


@pytest.mark.parametrize("chunk", [1000, 7, MANY])
def test_csv_streams_every_fill(client, api, lots, monkeypatch, chunk):
    monkeypatch.setattr(trace_service, "CSV_CHUNK", chunk)
    response = client.get(
        f"/api/v1/trace?ingredient_lot={lots['many']}&format=csv&limit=3",
        headers=api("pharmacist"),
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    text = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == MANY
    assert [r["rx_number"] for r in rows] == lots["rx"]["many"]  # oldest first
    assert text.count("\r\n") == MANY + 1
    assert {r["batch_lots"] for r in rows} == {lots["first"], lots["second"]}


def test_empty_trace_csv_is_the_header(app, client, api):
    with app.app_context(), write_intent():
        lot = make_ingredient_lot().id
        db.session.remove()
    response = client.get(
        f"/api/v1/trace?ingredient_lot={lot}&format=csv", headers=api("pharmacist")
    )
    assert response.get_data(as_text=True).splitlines() == [",".join(trace_service.CSV_COLUMNS)]
    body = client.get(f"/api/v1/trace?ingredient_lot={lot}", headers=api("pharmacist")).get_json()
    assert body["fills"] == [] and body["next"] is None and body["totals"]["fills"] == 0


def test_trace_page_shows_a_page_of_fills_with_links(as_user, lots):
    client = as_user("pharmacist")
    first = client.get(f"/compounding/trace?ingredient_lot={lots['many']}&limit=10")
    html = first.get_data(as_text=True)
    assert first.status_code == 200
    assert html.count('<span class="badge status-allocated">') >= 10
    assert 'rel="next"' in html and 'rel="prev"' not in html
    assert f'<span class="tile-value">{MANY}</span>' in html
    assert "on this page" in html and "not only this page, is stored with the recall" in html
    href = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(href).get_data(as_text=True)
    assert 'rel="next"' in second and 'rel="prev"' in second
    whole = client.get(f"/compounding/trace?ingredient_lot={lots['many']}").get_data(as_text=True)
    assert 'rel="next"' not in whole
    assert all(rx in whole for rx in lots["rx"]["many"])


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/trace?ingredient_lot={many}&limit=10",
        "/api/v1/trace?ingredient_lot={many}",
        "/api/v1/trace?ingredient_lot={many}&format=csv",
        "/compounding/trace?ingredient_lot={many}&limit=10",
        "/compounding/trace?ingredient_lot={many}",
        "/api/v1/trace?batch_lot={lot}&limit=10",
    ],
)
def test_statements_do_not_grow_with_the_fills_a_lot_reached(app, client, api, as_user, lots, url):
    if url.startswith("/compounding"):
        as_user("pharmacist")
        headers = None
    else:
        headers = api("pharmacist")
    counts = []
    for lot, batch in (("few", "small"), ("many", "second")):
        target = url.replace("{many}", str(lots[lot])).replace("{lot}", lots[batch])
        n, response = _statements(app, client, target, headers)
        assert response.status_code == 200
        counts.append(n)
    assert counts[0] == counts[1], (
        f"{url}: {counts[0]} statements for {FEW} fills, {counts[1]} for {MANY}"
    )


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("before=0", "before"),
        ("before=-4", "before"),
        ("before=99999999999", "before"),
        ("after=x", "after"),
        ("before=5&after=3", "after"),
    ],
)
def test_bad_paging_values_are_4xx_naming_the_field(client, api, as_user, lots, query, field):
    for fmt in ("", "&format=csv"):
        response = client.get(
            f"/api/v1/trace?ingredient_lot={lots['many']}&{query}{fmt}", headers=api("pharmacist")
        )
        assert response.status_code == 422, (query, response.status_code)
        assert field in response.get_json()["error"]["fields"]
    page = as_user("pharmacist").get(f"/compounding/trace?ingredient_lot={lots['many']}&{query}")
    assert page.status_code == 422
    assert field.capitalize() in page.get_data(as_text=True)


def test_openapi_documents_the_trace_paging(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/trace"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert {"ingredient_lot", "batch_lot", "format", "before", "after", "limit"} <= names
    body = op["responses"]["200"]["content"]["application/json"]["schema"]
    text = str(spec)
    assert "TracePageOut" in str(body) and "totals" in text and "next" in text


def test_fills_to_pull_are_bounded_and_counted(client, api, as_user, lots, monkeypatch):
    monkeypatch.setattr(trace_service, "PULL_LIMIT", 5)
    body = client.get(
        f"/api/v1/trace?ingredient_lot={lots['many']}&limit=3", headers=api("pharmacist")
    ).get_json()
    ids = [f["id"] for f in body["fills_to_pull"]]
    assert len(ids) == 5 and ids == sorted(ids, reverse=True)
    assert body["totals"]["fills_to_pull"] == MANY
    assert {f["rx_number"] for f in body["fills_to_pull"]} <= set(lots["rx"]["many"])
    html = as_user("pharmacist").get(f"/compounding/trace?ingredient_lot={lots['many']}")
    assert f"the latest 5 of {MANY}" in html.get_data(as_text=True)
