"""Sign-in, throttling, CSRF, cookies and security headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from pharmacy.database import write_intent
from pharmacy.extensions import db
from tests.factories import PASSWORD, user


@pytest.mark.parametrize("username", ["prescriber", "technician", "pharmacist", "admin"])
def test_each_role_signs_in_to_its_home(client, auth, username):
    response = auth.login(username)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/home")
    page = client.get("/home")
    assert f'data-home="{username}"'.encode() in page.data


def test_wrong_password_is_refused_with_a_message(client, auth):
    response = auth.login("pharmacist", "wrong-password")
    assert response.status_code == 401
    assert b"Wrong username or password." in response.data
    assert client.get("/home").status_code == 302


def test_unknown_user_gets_the_same_message(auth):
    response = auth.login("nobody", "whatever-pass")
    assert response.status_code == 401
    assert b"Wrong username or password." in response.data


def test_empty_form_names_the_fields(client):
    response = client.post("/login", data={"username": "", "password": ""})
    assert response.status_code == 422
    assert b"This field is required." in response.data


# The clock stands still (tick=False) and moves only when the test shifts it: the rule, not
# the machine's speed, decides each answer.
def test_repeated_failures_slow_then_pause(app, auth):
    from pharmacy.services import throttle

    with time_machine.travel(datetime(2027, 1, 10, 15, tzinfo=UTC), tick=False) as clock:
        for _ in range(3):
            assert auth.login("technician", "bad-password").status_code == 401
        # After three attempts the next one within the wait is refused without checking.
        response = auth.login("technician", PASSWORD)
        assert response.status_code == 401
        assert b"wait 1 s" in response.data
        with app.app_context():
            assert throttle.attempts("technician", "127.0.0.1") == 4
        clock.shift(timedelta(seconds=60))
        # The fifth attempt is allowed (its wait has passed) and pauses the pair for 15 min.
        assert auth.login("technician", "bad-password").status_code == 401
        clock.shift(timedelta(seconds=60))
        response = auth.login("technician", PASSWORD)
        assert response.status_code == 401
        assert b"wait 14 min" in response.data
        # The pause ends by time alone; the right password then clears the count.
        clock.shift(timedelta(minutes=15))
        assert auth.login("technician", PASSWORD).status_code == 302
        with app.app_context():
            assert throttle.attempts("technician", "127.0.0.1") == 0


def test_deactivated_user_cannot_sign_in_or_use_a_token(app, client, auth, api):
    headers = api("prescriber")
    assert client.get("/api/v1/tokens", headers=headers).status_code == 200
    with app.app_context(), write_intent():
        from pharmacy.services.users import set_active

        set_active(user("prescriber"), False, actor=user("admin"))
    response = auth.login("prescriber")
    assert response.status_code == 401
    assert b"deactivated" in response.data
    assert client.get("/api/v1/tokens", headers=headers).status_code == 401


def test_deactivation_ends_an_open_session(app, client, as_user):
    as_user("prescriber")
    assert client.get("/home").status_code == 200
    with app.app_context(), write_intent():
        from pharmacy.services.users import set_active

        set_active(user("prescriber"), False, actor=user("admin"))
    assert client.get("/home").status_code == 302


def test_next_parameter_only_redirects_within_the_site(client, auth):
    response = client.post(
        "/login?next=https://evil.example/x", data={"username": "pharmacist", "password": PASSWORD}
    )
    assert response.headers["Location"].endswith("/home")
    client.post("/logout")
    response = client.post(
        "/login?next=/admin/tokens", data={"username": "pharmacist", "password": PASSWORD}
    )
    assert response.headers["Location"].endswith("/admin/tokens")


def test_logout_requires_post_and_signs_out(client, as_user):
    as_user("pharmacist")
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/home").status_code == 302


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_httponly_and_lax(client, auth):
    response = auth.login("pharmacist")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure_and_secret_required(tmp_path, monkeypatch):
    from tests.conftest import _make_app

    app = _make_app(f"sqlite:///{tmp_path / 'p.sqlite3'}", tmp_path, PHARMACY_ENV="production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        _make_app(
            f"sqlite:///{tmp_path / 'q.sqlite3'}",
            tmp_path,
            PHARMACY_ENV="production",
            SECRET_KEY=None,
        )


def test_forms_need_a_csrf_token(tmp_path, sqlite_template):
    import shutil

    from tests.conftest import _make_app

    path = tmp_path / "csrf.sqlite3"
    shutil.copyfile(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/login", data={"username": "pharmacist", "password": PASSWORD})
    assert response.status_code == 400
    assert b"expired" in response.data
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": "pharmacist", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    # Session calls to the API need the X-CSRFToken header; bearer calls do not.
    assert client.get("/api/v1/tokens").status_code == 200
    assert client.delete("/api/v1/tokens/1").status_code == 403
    with app.app_context():
        db.engine.dispose()
