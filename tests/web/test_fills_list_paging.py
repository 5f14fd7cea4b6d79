"""The fills page pages its two work queues (awaiting check, ready to dispense) by id, each
with its own links, and shows a fixed number of recently dispensed fills (SPEC 9, issue 14)."""

from __future__ import annotations

import re

import pytest

from pharmacy.dispensing.views import OPEN_PAGE
from pharmacy.extensions import db
from pharmacy.models import Fill, FillAllocation, now_utc
from tests.factories_fills import make_batch, make_verified_order
from tests.web.test_continuity_queries import writing

FILL_LINK = re.compile(r'<a href="/fills/(\d+)">Rx')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
PREV = re.compile(r'<a href="([^"]+)" rel="prev">')
COUNTS = {"allocated": OPEN_PAGE + 17, "checked": 3, "dispensed": 25}


@pytest.fixture
def fills(app) -> dict[str, list[int]]:
    """Fills in each status, one allocation each; return their ids per status."""
    with writing(app):
        batch = make_batch(vials=500)
        order = make_verified_order(refills=200)
        ids: dict[str, list[int]] = {status: [] for status in COUNTS}
        k = 0
        for status, n in COUNTS.items():
            for _ in range(n):
                fill = Fill(
                    order_id=order.id,
                    fill_number=k,
                    status=status,
                    vials=1,
                    dispense_date=order.start_date,
                    plan={},
                    dispensed_dt=now_utc() if status == "dispensed" else None,
                )
                fill.allocations.append(FillAllocation(batch_id=batch.id, vials=1))
                db.session.add(fill)
                db.session.flush()
                ids[status].append(fill.id)
                k += 1
        db.session.commit()
    return ids


def _sections(html: str) -> list[tuple[list[int], str | None, str | None]]:
    """Return each section's fill ids and its next and previous links: awaiting, ready,
    dispensed."""
    parts = html.split('<section class="card fill-section">')[1:]
    return [
        ([int(i) for i in FILL_LINK.findall(part)], _link(NEXT, part), _link(PREV, part))
        for part in parts
    ]


def _link(pattern: re.Pattern[str], html: str) -> str | None:
    found = pattern.search(html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_awaiting_check_pages_forward_and_back_keeping_the_other_list(app, as_user, fills) -> None:
    client = as_user("pharmacist")
    newest_ready = max(fills["checked"])
    first = client.get(f"/fills/?ready_before={newest_ready}").get_data(as_text=True)
    (awaiting, next_url, prev_url), ready, dispensed = _sections(first)
    assert awaiting == sorted(fills["allocated"], reverse=True)[:OPEN_PAGE]
    assert f">{OPEN_PAGE}+<" in first  # more awaiting than one page
    assert prev_url is None
    # The ready list read its own key: the older ones, with a link back to the newest.
    assert ready[0] == sorted(fills["checked"], reverse=True)[1:]
    assert ready[1] is None and ready[2] is not None
    assert len(dispensed[0]) == 20 and dispensed[1] is None and dispensed[2] is None

    assert next_url is not None and "awaiting_before=" in next_url
    assert f"ready_before={newest_ready}" in next_url  # the other list keeps its place
    second = client.get(next_url).get_data(as_text=True)
    (rest, further, back_url), ready_again, _ = _sections(second)
    assert ready_again[0] == ready[0]
    assert sorted(awaiting + rest, reverse=True) == sorted(fills["allocated"], reverse=True)
    assert set(awaiting).isdisjoint(rest)
    assert further is None and back_url is not None
    back = client.get(back_url).get_data(as_text=True)
    assert _sections(back)[0][0] == awaiting


def test_each_list_shows_its_own_status_and_recent_dispensed_is_fixed(app, as_user, fills):
    html = as_user("technician").get("/fills/").get_data(as_text=True)
    awaiting, ready, dispensed = (ids for ids, _, _ in _sections(html))
    assert set(awaiting) <= set(fills["allocated"])
    assert ready == sorted(fills["checked"], reverse=True)
    assert dispensed == sorted(fills["dispensed"], reverse=True)[:20]


@pytest.mark.parametrize(
    "query", ["awaiting_before=x", "ready_after=-1", "awaiting_before=1&awaiting_after=2"]
)
def test_bad_keys_are_refused(app, as_user, query) -> None:
    assert as_user("pharmacist").get(f"/fills/?{query}").status_code == 422
