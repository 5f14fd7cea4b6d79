"""The technician's work lists page by (next fill allowed from, id): following the next
links, then the previous links back, lists every order exactly once in its section
(SPEC 9, issue 14)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from pharmacy.domain.bud import bud_covers
from pharmacy.extensions import db
from pharmacy.models import Order
from pharmacy.services import fills as fills_service
from pharmacy.services.settings import local_today
from tests.factories_fills import make_batch, make_formulation, make_verified_order
from tests.web.test_continuity_queries import writing

ROW_RX = re.compile(r'<td><a href="[^"]*">(\d+)</a></td>')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
PREV = re.compile(r'<a href="([^"]+)" rel="prev">')


@pytest.fixture
def open_orders(app) -> dict[str, set[str]]:
    """Open orders of every kind, many sharing a day; return the rx numbers per section."""
    with writing(app):
        make_batch(make_formulation(), vials=1000)
        today = local_today()
        expected: dict[str, set[str]] = {"fill": set(), "compound": set(), "neither": set()}
        for i in range(24):  # due, in stock: four orders a day over six days
            order = make_verified_order(start_date=today - timedelta(days=i % 6))
            expected["fill"].add(order.rx_number)
        for i in range(20):  # short of stock (no 10 mL multiple-dose batch), due or soon
            order = make_verified_order(
                vial_volume_ml=10,
                container="multiple-dose",
                start_date=today + timedelta(days=i % 10 - 4),
            )
            expected["compound"].add(order.rx_number)
        for i in range(16):  # a refill in stock but not due yet: on neither list
            order = make_verified_order(refills=2)
            # The stored state verification and a first fill would leave (SPEC 5.4).
            order.next_fill_number = 1
            order.next_fill_allowed_from = today + timedelta(days=3 + i % 2)
            order.next_fill_due_by = order.next_fill_allowed_from + timedelta(days=7)
            db.session.commit()
            expected["neither"].add(order.rx_number)
    return expected


def _keys(app) -> dict[str, tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(Order.rx_number, Order.next_fill_allowed_from, Order.id)
        ).all()
    return {rx: (day, order_id) for rx, day, order_id in rows}


def _sections(html: str) -> tuple[list[str], list[str]]:
    to_fill, to_compound = html.split('id="to-compound-head"', 1)
    return ROW_RX.findall(to_fill), ROW_RX.findall(to_compound)


def _walk(client, url: str, link: re.Pattern[str]) -> list[tuple[list[str], list[str], str]]:
    """Follow ``link`` from ``url`` to the end; return each page's sections and HTML."""
    pages = []
    seen_urls = set()
    while url:
        assert url not in seen_urls, f"the links loop back to {url}"
        seen_urls.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        pages.append((*_sections(html), html))
        found = link.search(html)
        url = found.group(1).replace("&amp;", "&") if found else ""
        assert len(pages) < 50
    return pages


def _check_pages(pages, expected: dict[str, set[str]], page_size: int) -> None:
    to_fill = [rx for fill, _, _ in pages for rx in fill]
    to_compound = [rx for _, compound, _ in pages for rx in compound]
    assert len(to_fill) == len(set(to_fill)), "an order is listed twice"
    assert len(to_compound) == len(set(to_compound)), "an order is listed twice"
    assert set(to_fill) == expected["fill"]
    assert set(to_compound) == expected["compound"]
    for fill, compound, _ in pages:
        assert len(fill) + len(compound) <= page_size


@pytest.mark.parametrize(("page_size", "factor"), [(7, 2), (50, 3)])
def test_next_then_previous_links_list_every_order_once(
    app, as_user, open_orders, monkeypatch, page_size, factor
):
    # Reading only twice a page's orders, a page can end up with none to list (16 orders
    # in a row are on neither list): the links still step over them.
    monkeypatch.setattr(fills_service, "WORKLIST_READ_FACTOR", factor)
    client = as_user("technician")

    start = (
        "/compounding/worklist" if page_size == 50 else f"/compounding/worklist?limit={page_size}"
    )
    forward = _walk(client, start, NEXT)
    _check_pages(forward, open_orders, page_size)
    assert PREV.search(forward[0][2]) is None  # the first page has no previous page
    if page_size == 50:
        assert len(forward) == 1
        return
    assert len(forward) >= 7
    # The longest-waiting orders come first: every page's orders come after the last page's.
    keys = _keys(app)
    bounds = [sorted(keys[rx] for rx in fill + compound) for fill, compound, _ in forward]
    bounds = [b for b in bounds if b]
    assert all(a[-1] < b[0] for a, b in pairwise(bounds))

    backward = _walk(client, PREV.search(forward[-1][2]).group(1).replace("&amp;", "&"), PREV)
    _check_pages([forward[-1], *backward], open_orders, page_size)
    assert PREV.search(backward[-1][2]) is None  # back at the start of the list


def test_fill_returns_to_the_same_page(app, as_user, open_orders):
    client = as_user("technician")
    first = client.get("/compounding/worklist?limit=7").get_data(as_text=True)
    second_url = NEXT.search(first).group(1).replace("&amp;", "&")
    html = client.get(second_url).get_data(as_text=True)
    assert f'name="next" value="{second_url.replace("&", "&amp;")}"' in html


@pytest.mark.parametrize(
    "query",
    [
        "after=yesterday",
        "after=2026-02-30.4",
        "before=2026-01-01.12345678901",
        "before=2026-01-01.-1",
        "after=2026-01-01.1&before=2026-01-02.1",
        "after=2026-W01-1.5",
        "limit=0",
        "limit=1000",
    ],
)
def test_bad_page_keys_are_refused(app, as_user, query):
    response = as_user("technician").get(f"/compounding/worklist?{query}")
    assert response.status_code == 422


def test_a_key_past_the_end_shows_an_empty_page_with_a_way_back(app, as_user, open_orders):
    client = as_user("technician")
    html = client.get("/compounding/worklist?after=2999-01-01.1").get_data(as_text=True)
    assert _sections(html) == ([], [])
    assert NEXT.search(html) is None
    back = PREV.search(html).group(1).replace("&amp;", "&")
    fill, compound = _sections(client.get(back).get_data(as_text=True))
    assert fill or compound


def test_vials_covering_a_date_match_the_bud_rule_batch_by_batch() -> None:
    """The shelf's sums over the tail of the BUD-ordered batches equal the plain rule."""
    zone = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 1, 3, 30, tzinfo=UTC)  # 22:30 the day before, local time
    batches = sorted(
        (
            SimpleNamespace(bud_dt=start + timedelta(hours=7 * i), vials_available=i % 4 + 1)
            for i in range(40)
        ),
        key=lambda b: b.bud_dt,
    )
    shelf = fills_service._Shelf(batches, zone)
    for offset in range(-2, 16):
        day = date(2026, 3, 1) + timedelta(days=offset)
        expected = sum(b.vials_available for b in batches if bud_covers(b.bud_dt, day, zone))
        assert shelf.vials_covering(day) == expected, day
    assert fills_service._Shelf([], zone).vials_covering(date(2026, 3, 1)) == 0
