"""A batch's page lists the live fills holding its vials a page at a time, newest first,
with next and previous links, in a fixed number of statements (SPEC 9, issue 14)."""

from __future__ import annotations

import re

import pytest

from pharmacy.extensions import db
from pharmacy.models import Fill, FillAllocation, FillVial
from pharmacy.services.paging import DEFAULT_LIMIT
from tests.factories_fills import make_batch, make_patient, make_verified_order
from tests.web.test_continuity_queries import counting, writing

FILL_LINK = re.compile(r'<a href="/fills/(\d+)">Rx')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
PREV = re.compile(r'<a href="([^"]+)" rel="prev">')


def _add_fills(batch_id: int, n: int, first_serial: int, *, status: str = "dispensed") -> list[int]:
    """Give ``n`` fills (each its own order and patient) one vial of the batch each."""
    ids = []
    for k in range(n):
        order = make_verified_order(make_patient())
        fill = Fill(
            order_id=order.id,
            fill_number=0,
            status=status,
            vials=1,
            dispense_date=order.start_date,
            plan={},
        )
        allocation = FillAllocation(batch_id=batch_id, vials=1)
        allocation.vial_rows.append(
            FillVial(batch_id=batch_id, serial=first_serial + k, returned=status == "voided")
        )
        fill.allocations.append(allocation)
        db.session.add(fill)
        db.session.flush()
        ids.append(fill.id)
    db.session.commit()
    return ids


@pytest.fixture
def busy(app) -> dict:
    """A batch of 100 vials: 60 held by live fills, one returned by a voided fill."""
    with writing(app):
        batch = make_batch(vials=100)
        live = _add_fills(batch.id, DEFAULT_LIMIT + 10, 1)
        voided = _add_fills(batch.id, 1, DEFAULT_LIMIT + 11, status="voided")
        return {"lot": batch.lot_number, "id": batch.id, "live": live, "voided": voided}


def _link(pattern: re.Pattern[str], html: str) -> str | None:
    found = pattern.search(html)
    return found.group(1).replace("&amp;", "&") if found else None


def _fills(html: str) -> list[int]:
    return [int(i) for i in FILL_LINK.findall(html)]


def test_fills_page_forward_and_back_losing_and_repeating_nothing(app, as_user, busy):
    client = as_user("pharmacist")
    first = client.get(f"/compounding/batches/{busy['lot']}").get_data(as_text=True)
    newest = sorted(busy["live"], reverse=True)
    assert _fills(first) == newest[:DEFAULT_LIMIT]
    assert _link(PREV, first) is None
    next_url = _link(NEXT, first)
    assert next_url is not None and "before=" in next_url
    # The shelf still lists every free serial: the voided fill's vial is back on it.
    shelf = re.search(r'On the shelf: <span class="serials">#([^<]+)</span>', first)
    assert shelf is not None and shelf.group(1).startswith(f"{DEFAULT_LIMIT + 11}")

    second = client.get(next_url).get_data(as_text=True)
    assert _fills(second) == newest[DEFAULT_LIMIT:]
    assert not set(busy["voided"]) & set(_fills(first) + _fills(second))
    assert _link(NEXT, second) is None
    back_url = _link(PREV, second)
    assert back_url is not None
    assert _fills(client.get(back_url).get_data(as_text=True)) == newest[:DEFAULT_LIMIT]


@pytest.mark.parametrize(
    ("query", "field"),
    [("before=x", "before"), ("after=-1", "after"), ("before=99999999999", "before")],
)
def test_bad_batch_paging_values_answer_422_naming_the_field(app, as_user, busy, query, field):
    response = as_user("pharmacist").get(f"/compounding/batches/{busy['lot']}?{query}")
    assert response.status_code == 422
    assert f"{field}:" in response.get_data(as_text=True)


def test_statements_do_not_grow_with_the_fills_of_the_batch(app, as_user):
    with writing(app):
        few = make_batch(vials=100)
        _add_fills(few.id, 2, 1)
        many = make_batch(vials=100)
        _add_fills(many.id, 40, 1)
        lots = few.lot_number, many.lot_number
    client = as_user("pharmacist")
    counts = []
    for lot in lots:
        client.get(f"/compounding/batches/{lot}")  # warm the per-process caches
        with counting(app) as seen:
            assert client.get(f"/compounding/batches/{lot}").status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 20


def test_a_form_error_draws_the_batch_page_with_links_to_it(app, as_user, busy):
    response = as_user("pharmacist").post(
        f"/compounding/batches/{busy['lot']}/sterility", data={"result": ""}
    )
    assert response.status_code == 422
    next_url = _link(NEXT, response.get_data(as_text=True))
    assert next_url is not None
    assert next_url.startswith(f"/compounding/batches/{busy['lot']}?before=")
