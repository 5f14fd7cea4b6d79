"""Settings over the API (SPEC 8.6): admin only, validated like the settings page, audited."""

from __future__ import annotations

from pharmacy.extensions import db
from pharmacy.models import AuditEvent


def test_admin_reads_and_patches_settings(app, client, api):
    current = client.get("/api/v1/settings", headers=api("admin"))
    assert current.status_code == 200
    assert {"name", "timezone", "max_dose_mcg", "im_max_ml"} <= set(current.get_json())
    response = client.patch(
        "/api/v1/settings",
        json={"name": "Riverside Pharmacy", "im_max_ml": "2.5"},
        headers=api("admin"),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["name"] == "Riverside Pharmacy"
    assert response.get_json()["im_max_ml"] == 2.5
    with app.app_context():
        event = (
            db.session.execute(
                db.select(AuditEvent)
                .filter_by(action="settings.updated")
                .order_by(AuditEvent.id.desc())
            )
            .scalars()
            .first()
        )
        assert event is not None and event.after["name"] == "Riverside Pharmacy"


def test_settings_are_validated_like_the_page(client, api):
    headers = api("admin")
    cases = [
        ({"max_dose_mcg": 0}, "max_dose_mcg"),
        ({"max_dose_mcg": "1e999999"}, "max_dose_mcg"),
        ({"im_max_ml": 11}, "im_max_ml"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "A\u0000"}, "name"),
        ({"login_lock_after": 2, "login_slowdown_after": 3}, "login_lock_after"),
        ({"unknown": 1}, "unknown"),
        ({"rx_valid_days": 0}, "rx_valid_days"),
        ({"rx_valid_days": 731}, "rx_valid_days"),
        ({"lapse_grace_days": -1}, "lapse_grace_days"),
    ]
    for body, field in cases:
        response = client.patch("/api/v1/settings", json=body, headers=headers)
        assert response.status_code == 422, body
        assert field in response.get_json()["error"]["fields"], (body, response.get_json())


def test_continuity_settings_are_editable(client, api):
    headers = api("admin")
    assert {"rx_valid_days", "lapse_grace_days"} <= set(
        client.get("/api/v1/settings", headers=headers).get_json()
    )
    response = client.patch(
        "/api/v1/settings", json={"rx_valid_days": 180, "lapse_grace_days": 14}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["rx_valid_days"], response.get_json()["lapse_grace_days"]) == (
        180,
        14,
    )


def test_only_the_admin_sees_settings(client, api):
    for role in ("prescriber", "technician", "pharmacist"):
        assert client.get("/api/v1/settings", headers=api(role)).status_code == 403
        assert client.patch("/api/v1/settings", json={}, headers=api(role)).status_code == 403


def test_patient_data_is_not_cached(client, api):
    for url in ("/api/v1/orders", "/api/v1/batches", "/api/v1/settings"):
        response = client.get(url, headers=api("admin" if "settings" in url else "pharmacist"))
        assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    static = client.get("/static/css/app.css")
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()
