"""The patient page at any length of history (SPEC 7.8, SPEC 9, issue 14): a fixed number of
statements, every list one page with links to older pages, the trend picture one window of
time with links to the windows before and after it, and only the orders in force followed up.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

import pytest

from pharmacy.models import Patient
from pharmacy.services import patient_therapy as therapy
from pharmacy.services.settings import local_today
from tests.factories_fills import make_patient, make_verified_order
from tests.factories_followup import add_observations, add_order_years, add_reports
from tests.web.test_continuity_queries import counting, writing

NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
PREV = re.compile(r'<a href="([^"]+)" rel="prev">')
RESULT_ROW = re.compile(r'<td class="num" title="([0-9.]+) pg/mL">')
REVIEW_ROW = re.compile(r'<tr data-review="(\d+)">')
ORDER_ROW = re.compile(r'<tr><td><a href="/orders/(\d+)">')


def _history(years: int, results: int, reports: int) -> dict:
    """A patient with ``years`` yearly renewed orders, ``results`` B12 results a fortnight
    apart and ``reports`` symptom reports a month apart, up to today."""
    today = local_today()
    patient = make_patient(dob=date(1950, 3, 1))
    orders = add_order_years(patient, years, today)
    add_observations(patient, [today - timedelta(days=14 * k) for k in range(results)])
    report_ids = add_reports(patient, [today - timedelta(days=30 * k) for k in range(reports)])
    return {
        "patient": patient.id,
        "orders": [o.rx_number for o in orders],
        "reports": report_ids,
    }


@pytest.fixture
def long_history(app) -> dict:
    with writing(app):
        return _history(years=9, results=90, reports=30)


def _section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def _link(pattern: re.Pattern[str], html: str) -> str | None:
    found = pattern.search(html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client, url: str, start: str, end: str, row: re.Pattern[str]) -> list[list[str]]:
    """Follow one list's ``next`` links from ``url``; return each page's rows, checking that
    every ``prev`` link opens the page before."""
    pages: list[list[str]] = []
    urls: list[str] = []
    while url:
        html = client.get(url).get_data(as_text=True)
        part = _section(html, start, end)
        pages.append(row.findall(part))
        if urls:
            back = _link(PREV, part)
            assert back is not None
            previous = client.get(back).get_data(as_text=True)
            assert row.findall(_section(previous, start, end)) == pages[-2]
        urls.append(url)
        url = _link(NEXT, part)
        assert len(pages) < 20
    return pages


def test_each_list_pages_back_losing_and_repeating_nothing(app, as_user, long_history):
    client = as_user("pharmacist")
    url = f"/patients/{long_history['patient']}"

    results = _walk(client, url, 'id="results"', 'id="reports"', RESULT_ROW)
    assert [len(p) for p in results] == [20, 20, 20, 20, 10]
    values = [float(v) for page in results for v in page]
    assert values == [420 + k for k in range(90)]  # newest (the first recorded) first

    orders = _walk(client, url, 'id="orders"', "</section>", ORDER_ROW)
    assert [rx for page in orders for rx in page] == long_history["orders"][::-1]

    reviews = _walk(client, url, 'id="reviews"', 'id="results"', REVIEW_ROW)
    assert [len(p) for p in reviews] == [9]  # nine reviews: one page, no links

    reports = _walk(client, url, 'id="reports"', "therapy-forms", re.compile(r"<li[^>]*><strong>"))
    assert [len(p) for p in reports] == [10, 10, 10]


def test_other_lists_keep_their_place(app, as_user, long_history):
    client = as_user("pharmacist")
    html = client.get(f"/patients/{long_history['patient']}").get_data(as_text=True)
    older_results = _link(NEXT, _section(html, 'id="results"', 'id="reports"'))
    assert older_results is not None and "#results" in older_results
    page = client.get(older_results).get_data(as_text=True)
    older_reports = _link(NEXT, _section(page, 'id="reports"', "therapy-forms"))
    assert older_reports is not None
    assert "results_before=" in older_reports and "reports_before=" in older_reports


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("results_before=x", "results_before"),
        ("reports_after=2026-02-30.4", "reports_after"),
        ("results_before=2026-01-01.5&results_after=2026-01-01.3", "results_after"),
        ("orders_before=abc", "orders_before"),
        ("reviews_after=-1", "reviews_after"),
        ("orders_before=99999999999", "orders_before"),
        ("trend_until=yesterday", "trend_until"),
        ("trend_until=1940-01-01", "trend_until"),
        ("trend_until=0001-01-01", "trend_until"),
    ],
)
def test_bad_patient_page_values_answer_422_naming_the_field(
    app, as_user, long_history, query, field
):
    response = as_user("pharmacist").get(f"/patients/{long_history['patient']}?{query}")
    assert response.status_code == 422
    assert f"{field}:" in response.get_data(as_text=True)


def _points(html: str) -> int:
    return html.count('class="trend-point')


def test_trend_draws_two_years_with_links_to_earlier_and_back(app, as_user, long_history):
    client = as_user("pharmacist")
    html = client.get(f"/patients/{long_history['patient']}").get_data(as_text=True)
    with app.app_context():
        today = local_today()
    start = today.replace(year=today.year - therapy.TREND_YEARS)
    drawn = sum(1 for k in range(90) if today - timedelta(days=14 * k) >= start)
    assert _points(html) == drawn < 90
    assert "Today" in html and "data-trend-later" not in html
    earlier = re.search(r'<a href="([^"]+)" rel="prev" data-trend-earlier>', html)
    assert earlier is not None
    before = client.get(earlier.group(1).replace("&amp;", "&")).get_data(as_text=True)
    until = start - timedelta(days=1)
    older_start = until.replace(year=until.year - therapy.TREND_YEARS)
    assert _points(before) == sum(
        1 for k in range(90) if older_start <= today - timedelta(days=14 * k) <= until
    )
    assert ">Today<" not in before
    later = re.search(r'<a href="([^"]+)" rel="next" data-trend-later>', before)
    assert later is not None
    assert "trend_until" not in later.group(1)  # back to the current window
    assert _points(client.get(later.group(1)).get_data(as_text=True)) == drawn


def test_only_orders_in_force_are_followed_up(app, as_user, long_history):
    html = as_user("pharmacist").get(f"/patients/{long_history['patient']}").get_data(as_text=True)
    followed = re.findall(r'<div class="therapy-order" id="followup-(\d+)">', html)
    # Each order was renewed by the next: only the latest is still in force.
    assert followed == [long_history["orders"][-1]]
    assert "Latest review: <strong>" in html


def test_at_most_a_few_orders_are_followed_up(app, as_user):
    with writing(app):
        patient = make_patient()
        rx = [make_verified_order(patient).rx_number for _ in range(therapy.FOLLOWED_MAX + 2)]
        patient_id = patient.id
    html = as_user("pharmacist").get(f"/patients/{patient_id}").get_data(as_text=True)
    followed = re.findall(r'<div class="therapy-order" id="followup-(\d+)">', html)
    assert followed == rx[::-1][: therapy.FOLLOWED_MAX]
    assert "data-more-orders" in html


@pytest.mark.parametrize("role", ["pharmacist", "prescriber"])
def test_statements_do_not_grow_with_the_history(app, as_user, role):
    with writing(app):
        short = _history(years=1, results=3, reports=2)["patient"]
        long = _history(years=9, results=120, reports=40)["patient"]
    client = as_user(role)
    counts = []
    for patient in (short, long):
        client.get(f"/patients/{patient}")  # warm the per-process caches
        with counting(app) as seen:
            response = client.get(f"/patients/{patient}")
        assert response.status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 30


def test_a_form_error_draws_the_patient_page_with_links_to_it(app, as_user, long_history):
    response = as_user("pharmacist").post(
        f"/patients/{long_history['patient']}/observations",
        data={"test": "b12", "value": "", "unit": "pg/mL", "effective_date": "2026-01-01"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    older = _link(NEXT, _section(html, 'id="results"', 'id="reports"'))
    assert older is not None
    assert older.startswith(f"/patients/{long_history['patient']}?results_before=")


def test_trend_windows_tile_back_and_forth():
    patient = Patient(first_name="A", last_name="B", dob=date(1950, 1, 1))
    today = date(2026, 11, 30)
    current = therapy.trend_window(patient, None, today)
    assert (current.start, current.end) == (date(2024, 11, 30), date(2027, 1, 29))
    windows = [current]
    for _ in range(3):
        windows.append(therapy.trend_window(patient, windows[-1].earlier, today))
    for newer, older in itertools.pairwise(windows):
        assert older.end == newer.start - timedelta(days=1)  # no gap, no overlap
        later = therapy.trend_window(patient, older.later, today)
        assert (later.start, later.end) == (newer.start, newer.end)
    assert therapy.trend_window(patient, date(2030, 1, 1), today) == current
