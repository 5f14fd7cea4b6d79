"""The stock page pages its two lists (batches, ingredient lots) first expiry first, each by
its own position while the other keeps its place, in date by default and expired on request;
what expires soon comes from queries of its own, bounded and counted (SPEC 9, issue 14)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from pharmacy.extensions import db
from pharmacy.models import Batch, IngredientLot, now_utc
from pharmacy.services.batches import EXPIRING_ROWS, STOCK_PAGE
from pharmacy.services.settings import local_today
from tests import factories_stock as stock
from tests.web.test_continuity_queries import writing

# Reads today (directly or through the app): `make test` runs it again at fixed dates.
pytestmark = pytest.mark.date_sensitive

BATCH_LINK = re.compile(r'<a href="/compounding/batches/([^"]+)"><strong>')
LOT_LINK = re.compile(r'<a href="/compounding/lots/(\d+)"><strong>')
EXPIRING_BATCH = re.compile(r'<a href="/compounding/batches/([^"]+)">[^<]+</a>')
EXPIRING_LOT = re.compile(r'<a href="/compounding/lots/(\d+)">[^<]+</a>')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
PREV = re.compile(r'<a href="([^"]+)" rel="prev">')

IN_DATE_BATCHES = 2 * STOCK_PAGE + 7
EXPIRING_BATCHES = EXPIRING_ROWS + 2  # more than the expiring list shows
EXPIRED_BATCHES = STOCK_PAGE + 5
IN_DATE_LOTS = STOCK_PAGE + 9
EXPIRING_LOTS = 3
EXPIRED_LOTS = STOCK_PAGE + 3


@pytest.fixture
def shelf(app) -> dict[str, list]:
    """Batches and lots on hand, in date and expired, with BUDs and expiry days shared by
    several rows (the id decides their order), and stock that is not on hand.

    Return each list's rows first expiry first: batch lot numbers, lot ids.
    """
    with writing(app):
        now, today = now_utc(), local_today()
        formulation = stock.make_formulation()
        batches: list[Batch] = []

        def batch(bud, **fields) -> Batch:
            row = Batch(
                lot_number=f"SP{len(batches):04d}",
                formulation_id=formulation.id,
                vials=20,
                vials_available=fields.pop("vials_available", 7),
                compounded_dt=now - timedelta(days=3),
                bud_dt=bud,
                bud_limited_by="usp797",
                bud_rule="",
                status=fields.pop("status", "released"),
                **fields,
            )
            batches.append(row)
            return row

        for n in range(IN_DATE_BATCHES):
            # Within 30 days first, then later; three at a time share a BUD to the microsecond.
            days = 1 + n // 3 if n < EXPIRING_BATCHES else 40 + n // 3
            batch(now + timedelta(days=days, hours=2, microseconds=123457))
        for n in range(EXPIRED_BATCHES):
            batch(now - timedelta(days=2 + n // 4))
        batch(now + timedelta(days=2), vials_available=0)  # used up
        batch(now + timedelta(days=2), status="rejected")
        batch(now - timedelta(days=5), status="recalled")
        db.session.add_all(batches)

        lots: list[IngredientLot] = []

        def lot(expiry, **fields) -> IngredientLot:
            row = IngredientLot(
                component="Cyanocobalamin",
                manufacturer="Fagron",
                lot=f"SL{len(lots):04d}",
                expiry=expiry.isoformat(),
                expiry_date=expiry,
                quantity_received=Decimal(10),
                quantity_on_hand=fields.pop("quantity_on_hand", Decimal(4)),
                unit="g",
                assay_percent=Decimal("99.1"),
                lod_percent=Decimal("7.5"),
                coa_reference="COA",
                status=fields.pop("status", "released"),
                received_dt=now - timedelta(days=400),
            )
            lots.append(row)
            return row

        for n in range(IN_DATE_LOTS):
            days = 2 + 5 * n if n < EXPIRING_LOTS else 60 + n // 2
            lot(today + timedelta(days=days))
        for n in range(EXPIRED_LOTS):
            lot(today - timedelta(days=1 + n // 2))
        lot(today + timedelta(days=3), quantity_on_hand=Decimal(0))
        lot(today + timedelta(days=3), status="rejected")
        db.session.add_all(lots)
        db.session.commit()

        def batch_order(rows):
            return [b.lot_number for b in sorted(rows, key=lambda b: (b.bud_dt, b.id))]

        def lot_order(rows):
            return [x.id for x in sorted(rows, key=lambda x: (x.expiry_date, x.id))]

        on_hand = [b for b in batches if b.vials_available and b.status == "released"]
        lots_on_hand = [x for x in lots if x.quantity_on_hand and x.status == "released"]
        return {
            "batches": batch_order(b for b in on_hand if b.bud_dt > now),
            "expired_batches": batch_order(b for b in on_hand if b.bud_dt <= now),
            "lots": lot_order(x for x in lots_on_hand if x.expiry_date >= today),
            "expired_lots": lot_order(x for x in lots_on_hand if x.expiry_date < today),
        }


def _section(html: str, name: str) -> str:
    return html.split(f' id="{name}">', 1)[1].split("</section>", 1)[0]


def _list(html: str, name: str) -> tuple[list, str | None, str | None]:
    """Return a list's rows (batch lot numbers or lot ids) and its next and prev links."""
    part = _section(html, name)
    if name == "batches":
        rows: list = BATCH_LINK.findall(part)
    else:
        rows = [int(i) for i in LOT_LINK.findall(part)]
    return rows, _link(NEXT, part), _link(PREV, part)


def _link(pattern: re.Pattern[str], html: str) -> str | None:
    found = pattern.search(html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client, url: str, name: str, other: str) -> tuple[list[list], list[str]]:
    """Follow a list's next links from ``url`` to its end, then its prev links back to the
    start; check the other list never moves. Return the pages read forward and the urls."""
    html = client.get(url).get_data(as_text=True)
    kept = _list(html, other)[0]
    pages, urls = [], [url]
    while True:
        rows, next_url, prev_url = _list(html, name)
        assert (prev_url is None) == (len(pages) == 0)
        pages.append(rows)
        assert _list(html, other)[0] == kept  # the other list keeps its place
        if next_url is None:
            break
        assert len(rows) == STOCK_PAGE
        urls.append(next_url)
        html = client.get(next_url).get_data(as_text=True)
    back = []
    while prev_url is not None:
        html = client.get(prev_url).get_data(as_text=True)
        rows, _, prev_url = _list(html, name)
        assert _list(html, other)[0] == kept
        back.append(rows)
    assert back == pages[-2::-1]  # the same pages, in reverse
    return pages, urls


def test_batches_page_forward_and_back_while_lots_keep_their_place(app, as_user, shelf):
    client = as_user("technician")
    first = client.get("/compounding/stock").get_data(as_text=True)
    lots, lots_next, _ = _list(first, "lots")
    assert lots == shelf["lots"][:STOCK_PAGE]
    assert lots_next is not None and "lots_after=" in lots_next

    pages, urls = _walk(client, lots_next, "batches", "lots")
    assert [row for page in pages for row in page] == shelf["batches"]  # none lost or repeated
    assert len(pages) == 3
    # Each batches link keeps the lots' position, and names its section.
    lots_position = re.search(r"lots_after=([^&#]+)", lots_next).group(1)
    assert all(f"lots_after={lots_position}" in url for url in urls)
    assert all(url.endswith("#batches") for url in urls[1:])


def test_lots_page_forward_and_back_while_batches_keep_their_place(app, as_user, shelf):
    client = as_user("pharmacist")
    first = client.get("/compounding/stock").get_data(as_text=True)
    batches_next = _list(first, "batches")[1]
    assert batches_next is not None
    later = client.get(batches_next).get_data(as_text=True)
    assert _list(later, "batches")[0] == shelf["batches"][STOCK_PAGE : 2 * STOCK_PAGE]

    pages, urls = _walk(client, batches_next, "lots", "batches")
    assert [row for page in pages for row in page] == shelf["lots"]
    assert all("batches_after=" in url for url in urls)


def test_expired_stock_pages_and_keeps_the_filter(app, as_user, shelf):
    client = as_user("pharmacist")
    html = client.get("/compounding/stock?show=expired").get_data(as_text=True)
    assert 'id="expiring"' not in html
    assert "Expired batches with vials left" in html

    pages, urls = _walk(client, "/compounding/stock?show=expired", "batches", "lots")
    assert [row for page in pages for row in page] == shelf["expired_batches"]
    assert all("show=expired" in url for url in urls)
    pages, urls = _walk(client, "/compounding/stock?show=expired", "lots", "batches")
    assert [row for page in pages for row in page] == shelf["expired_lots"]
    assert all("show=expired" in url for url in urls)


def test_expiring_soon_is_read_on_its_own(app, as_user, shelf):
    client = as_user("technician")
    first = client.get("/compounding/stock").get_data(as_text=True)
    second_url = _list(first, "batches")[1]
    # Wherever the lists stand, the expiring section is the same: the first to expire.
    for html in (first, client.get(second_url).get_data(as_text=True)):
        expiring = _section(html, "expiring")
        assert EXPIRING_BATCH.findall(expiring) == shelf["batches"][:EXPIRING_ROWS]
        assert [int(i) for i in EXPIRING_LOT.findall(expiring)] == shelf["lots"][:EXPIRING_LOTS]
        assert f'<span class="count">{EXPIRING_BATCHES + EXPIRING_LOTS}</span>' in html
        assert f"The first {EXPIRING_ROWS} of {EXPIRING_BATCHES} batches expiring" in expiring
        assert "ingredient lots expiring" not in expiring  # all of them are shown


def test_a_page_past_the_end_links_back(app, as_user, shelf):
    client = as_user("technician")
    last = shelf["lots"][-1]
    with app.app_context():
        expiry = db.session.get(IngredientLot, last).expiry_date
    html = client.get(f"/compounding/stock?lots_after={expiry}.{last}").get_data(as_text=True)
    rows, next_url, prev_url = _list(html, "lots")
    assert rows == [] and next_url is None and prev_url is not None
    assert "No more ingredient lots this way." in html
    back = _list(client.get(prev_url).get_data(as_text=True), "lots")[0]
    assert back[-1] == last


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lots_after=x", "lots_after"),
        ("lots_before=2026-02-30.4", "lots_before"),
        ("lots_after=2026-01-01.99999999999", "lots_after"),
        ("batches_after=2026-01-01.5", "batches_after"),  # a day, not a moment
        ("batches_before=2026-01-01T25:00:00Z.5", "batches_before"),
        ("batches_after=2026-01-01T10:00:00.12Z.5", "batches_after"),
        (
            "batches_after=2026-01-01T10:00:00Z.1&batches_before=2026-01-02T10:00:00Z.1",
            "batches_after",
        ),
        ("lots_after=2026-01-01.1&lots_before=2026-01-02.1", "lots_after"),
    ],
)
def test_bad_positions_are_refused_naming_the_field(app, as_user, query, field):
    response = as_user("technician").get(f"/compounding/stock?{query}")
    assert response.status_code == 422
    assert field in response.get_data(as_text=True)
