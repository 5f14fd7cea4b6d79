"""Admin pages: users, settings, tokens."""

from __future__ import annotations

from decimal import Decimal

from pharmacy.extensions import db
from pharmacy.models import AuditEvent, PharmacySettings, User
from tests.factories import PASSWORD, user

NEW_PRESCRIBER = {
    "username": "dr.lee",
    "role": "prescriber",
    "full_name": "Dr. Ana Lee",
    "npi": "1245319599",
    "clinic": "Hill Clinic",
    "phone": "555-0101",
    "password": "long-enough-1",
}


def _events(app, action):
    with app.app_context():
        return db.session.execute(db.select(AuditEvent).filter_by(action=action)).scalars().all()


def test_admin_adds_a_prescriber_who_can_sign_in(app, client, as_user, auth):
    as_user("admin")
    response = client.post("/admin/users/new", data=NEW_PRESCRIBER)
    assert response.status_code == 302
    assert _events(app, "user.created")[-1].after["username"] == "dr.lee"
    client.post("/logout")
    assert auth.login("dr.lee", "long-enough-1").status_code == 302


def test_wrong_npi_check_digit_is_named(app, client, as_user):
    as_user("admin")
    response = client.post("/admin/users/new", data=dict(NEW_PRESCRIBER, npi="1245319590"))
    assert response.status_code == 422
    assert b"check digit is wrong" in response.data
    with app.app_context():
        assert db.session.execute(db.select(User).filter_by(username="dr.lee")).scalar() is None


def test_prescriber_needs_an_npi_and_duplicate_usernames_are_refused(client, as_user):
    as_user("admin")
    response = client.post("/admin/users/new", data=dict(NEW_PRESCRIBER, npi=""))
    assert response.status_code == 422 and b"A prescriber needs an NPI." in response.data
    response = client.post("/admin/users/new", data=dict(NEW_PRESCRIBER, username="pharmacist"))
    assert response.status_code == 422 and b"That username is taken." in response.data
    response = client.post("/admin/users/new", data=dict(NEW_PRESCRIBER, password="short"))
    assert response.status_code == 422 and b"at least 12 characters" in response.data


def test_admin_resets_a_password_and_changes_a_role(app, client, as_user, auth):
    as_user("admin")
    with app.app_context():
        tech_id = user("technician").id
    response = client.post(
        f"/admin/users/{tech_id}",
        data={
            "role": "pharmacist",
            "full_name": "Tom Alvarez",
            "npi": "",
            "clinic": "",
            "phone": "",
            "password": "brand-new-pass",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        changed = user("technician")
        assert changed.role == "pharmacist"
        assert changed.check_password("brand-new-pass")
    event = _events(app, "user.updated")[-1]
    assert event.before["role"] == "technician" and event.after["role"] == "pharmacist"
    assert event.after["password"] == "reset"


def test_admin_deactivates_and_reactivates(app, client, as_user):
    as_user("admin")
    with app.app_context():
        target = user("prescriber2").id
        me = user("admin").id
    assert client.post(f"/admin/users/{target}/active", data={"active": "0"}).status_code == 302
    with app.app_context():
        assert user("prescriber2").active is False
    client.post(f"/admin/users/{target}/active", data={"active": "1"})
    with app.app_context():
        assert user("prescriber2").active is True
    response = client.post(f"/admin/users/{me}/active", data={"active": "0"}, follow_redirects=True)
    assert b"cannot deactivate your own account" in response.data


# SPEC 7.2 default lab reference ranges (the settings page posts them all).
REFERENCE_RANGES = {
    "ref_b12_low_pg_ml": "200",
    "ref_b12_high_pg_ml": "900",
    "ref_mma_low_nmol_l": "0",
    "ref_mma_high_nmol_l": "400",
    "ref_homocysteine_low_umol_l": "0",
    "ref_homocysteine_high_umol_l": "15",
    "ref_hemoglobin_low_g_dl": "12",
    "ref_hemoglobin_high_g_dl": "17.5",
    "ref_mcv_low_fl": "80",
    "ref_mcv_high_fl": "100",
}


def test_settings_are_saved_and_audited(app, client, as_user):
    as_user("admin")
    page = client.get("/admin/settings")
    assert page.status_code == 200
    data = {
        "name": "Main Street Compounding",
        "address": "1 Main St",
        "phone": "555-0199",
        "licence_number": "LIC-1",
        "timezone": "America/Chicago",
        "rx_label_width_in": "4",
        "rx_label_height_in": "2",
        "vial_label_width_in": "2.25",
        "vial_label_height_in": "1.25",
        "batch_label_width_in": "4",
        "batch_label_height_in": "2",
        "max_dose_mcg": "1000",
        "im_max_ml": "1.5",
        "sc_max_ml": "1",
        "min_dose_volume_ml": "0.1",
        "default_in_use_days": "28",
        "refill_elapsed_percent": "75",
        "expiring_within_days": "30",
        "monitoring_interval_months": "3",
        "rx_valid_days": "180",
        "lapse_grace_days": "10",
        "max_backdate_days": "7",
        "max_compounded_age_days": "30",
        "sterility_incubation_days": "14",
        "login_slowdown_after": "3",
        "login_lock_after": "5",
        "login_lock_minutes": "15",
        "token_hours": "12",
        "session_idle_minutes": "30",
        "session_max_hours": "12",
        **REFERENCE_RANGES,
    }
    assert client.post("/admin/settings", data=data).status_code == 302
    with app.app_context():
        settings = db.session.get(PharmacySettings, 1)
        assert settings.name == "Main Street Compounding"
        assert settings.im_max_ml == Decimal("1.50")
        assert (settings.rx_valid_days, settings.lapse_grace_days) == (180, 10)
    event = _events(app, "settings.updated")[-1]
    assert Decimal(event.after["im_max_ml"]) == Decimal("1.5")

    bad = dict(data, timezone="Mars/Olympus", im_max_ml="lots", login_lock_after="2")
    response = client.post("/admin/settings", data=bad)
    assert response.status_code == 422
    assert b"IANA time zone" in response.data
    assert b"Lock only after more failures" in response.data
    with app.app_context():
        assert db.session.get(PharmacySettings, 1).timezone == "America/Chicago"


def test_tokens_page_creates_lists_and_revokes(app, client, as_user):
    as_user("technician")
    response = client.post("/admin/tokens", data={"label": "label printer"})
    assert response.status_code == 200
    secret = response.get_data(as_text=True).split('id="new-token">')[1].split("<")[0]
    assert (
        client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 200
    )
    listing = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"}).json
    token_id = listing["tokens"][0]["id"]
    client.post("/admin/tokens", data={"revoke": str(token_id)})
    assert (
        client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 401
    )


def test_users_cli_add(runner, app):
    result = runner.invoke(
        args=[
            "users",
            "add",
            "dr.cli",
            "--role",
            "prescriber",
            "--password",
            "cli-password-1",
            "--full-name",
            "Dr. Cli",
            "--npi",
            "1234567893",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Added prescriber dr.cli." in result.output
    result = runner.invoke(
        args=[
            "users",
            "add",
            "dr.bad",
            "--role",
            "prescriber",
            "--password",
            "cli-password-1",
            "--full-name",
            "Dr. Bad",
            "--npi",
            "1234567890",
        ]
    )
    assert result.exit_code == 2
    assert "npi: This NPI's check digit is wrong" in result.output
    with app.app_context():
        assert user("dr.cli").check_password("cli-password-1")


def test_demo_load_is_idempotent(runner, app):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "already loaded" in second.output
    with app.app_context():
        assert db.session.get(PharmacySettings, 1).address


def test_unused_password_constant_is_the_template_password():
    assert PASSWORD == "b12-test-pass"
