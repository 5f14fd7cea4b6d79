"""The dosing plan page (/plan/) and its live-preview fragment (/plan/preview)."""

from __future__ import annotations

import json
import re

import pytest

from tests.web.test_plan_api import EXAMPLE, OPTIONS

FORM = {
    "phases-0-dose_mcg": "1000",
    "phases-0-every": "1",
    "phases-0-unit": "day",
    "phases-0-count": "7",
    "phases-1-dose_mcg": "1000",
    "phases-1-every": "1",
    "phases-1-unit": "week",
    "phases-1-count": "4",
    "phases-2-dose_mcg": "1000",
    "phases-2-every": "1",
    "phases-2-unit": "month",
    "phases-2-count": "",
    "start_date": "2026-12-01",
    "concentration_mcg_per_ml": "1000",
    "vial_volume_ml": "10",
    "container": "multiple-dose",
    "route": "IM",
    "days_supply": "90",
    "fills": "1",
    "in_use_days": "28",
    "bud_days": "",
}


def dose_rows(html: str) -> int:
    return html.count("<tr data-dose>")


@pytest.mark.parametrize("username", ["prescriber", "technician", "pharmacist"])
def test_page_renders_for_allowed_roles(as_user, username):
    response = as_user(username).get("/plan/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "data-regimen-editor" in html
    assert 'name="phases-0-dose_mcg"' in html
    assert "Presets are conveniences, not advice" in html
    for key in ("high-dose", "label-dosing", "three-times-weekly", "neurological"):
        assert f'data-preset="{key}"' in html
    assert "js/regimen-editor.js" in html and "js/plan.js" in html
    assert "<script>" not in html and "style=" not in html


def test_admin_is_forbidden_and_anonymous_goes_to_sign_in(client, as_user):
    assert client.get("/plan/").status_code == 302
    assert as_user("admin").get("/plan/").status_code == 403


def test_post_without_js_shows_the_plan(as_user):
    response = as_user("prescriber").post("/plan/", data=FORM)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert dose_rows(html) == 12
    assert 'data-total="vials">3<' in html
    assert 'data-total="waste_ml">18 <' in html
    assert "<svg" in html and 'class="dose-mark"' in html
    assert "Inject 1 mL (1,000 mcg) intramuscularly" in html
    # The form keeps what was typed.
    assert 'name="phases-2-unit"' in html and 'value="2026-12-01"' in html


def test_post_with_vial_options_shows_comparison(as_user):
    data = dict(FORM, vial_options=["1|single-dose", "2|multiple-dose", "30|multiple-dose"])
    html = as_user("technician").post("/plan/", data=data).get_data(as_text=True)
    assert "data-options-table" in html
    assert "Recommended: 1 mL single-dose" in html
    assert html.count('class="recommended"') == 1


def test_bad_input_shows_field_errors_without_500(as_user):
    data = dict(
        FORM,
        **{
            "phases-1-count": "",
            "start_date": "soon",
            "days_supply": "0",
            "phases-0-dose_mcg": "abc",
        },
    )
    response = as_user("prescriber").post("/plan/", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Only the last phase may be open-ended." in html
    assert "Enter the start date as YYYY-MM-DD." in html
    assert "The days supply must be a whole number from 1 to 365." in html
    assert "Enter a number." in html
    assert html.count("has-error") >= 4
    assert dose_rows(html) == 0


def test_bad_vial_and_weekday_errors_land_on_fields(as_user):
    data = dict(
        FORM, **{"vial_volume_ml": "40", "phases-1-every": "2", "phases-1-weekdays": ["mon", "thu"]}
    )
    html = as_user("prescriber").post("/plan/", data=data).get_data(as_text=True)
    assert re.search(r'has-error[^>]*>\s*<label for="vial_volume_ml"', html)
    assert "Weekdays need a phase of once every 1 week" in html
    assert 'value="thu" checked' in html


def test_weekdays_of_a_daily_phase_are_ignored(as_user):
    # The checkboxes stay in the page (hidden) when the unit is not week.
    data = dict(FORM, **{"phases-0-weekdays": ["mon"]})
    response = as_user("prescriber").post("/plan/", data=data)
    assert response.status_code == 200


def test_empty_post_is_422_not_500(as_user):
    response = as_user("pharmacist").post("/plan/", data={})
    assert response.status_code == 422


def test_preview_fragment(as_user):
    response = as_user("prescriber").post("/plan/preview", json=EXAMPLE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert dose_rows(html) == 12
    assert html.count('class="dose-mark"') == 12
    assert "data-vial-table" in html and "data-sig" in html


def test_preview_with_options_highlights_recommendation(as_user):
    body = {k: v for k, v in EXAMPLE.items() if k not in ("vial_volume_ml", "container")}
    html = (
        as_user("prescriber")
        .post("/plan/preview", json=dict(body, vial_options=OPTIONS))
        .get_data(as_text=True)
    )
    assert "Recommended: 1 mL single-dose" in html
    assert "with the least waste" in html


def test_preview_422_carries_field_errors(as_user):
    bad = dict(EXAMPLE, start_date="2026-13-01", fills=0)
    response = as_user("prescriber").post("/plan/preview", json=bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    fields = json.loads(re.search(r'data-fields="([^"]*)"', html).group(1).replace("&#34;", '"'))
    assert set(fields) == {"start_date", "fills"}


def test_preview_malformed_json_is_400(as_user):
    response = as_user("prescriber").post(
        "/plan/preview", data="{oops", content_type="application/json"
    )
    assert response.status_code == 400


def test_preview_is_for_clinical_roles_only(as_user):
    assert as_user("admin").post("/plan/preview", json=EXAMPLE).status_code == 403


def test_preview_needs_csrf_header_when_enabled(app, as_user):
    app.config["WTF_CSRF_ENABLED"] = True
    client = as_user("prescriber")
    html = client.get("/plan/").get_data(as_text=True)
    token = html.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post("/plan/preview", json=EXAMPLE).status_code == 400
    assert (
        client.post("/plan/preview", json=EXAMPLE, headers={"X-CSRFToken": token}).status_code
        == 200
    )
