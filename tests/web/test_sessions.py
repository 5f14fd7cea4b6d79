"""Server-side sessions, timeouts, password rules and sign-in throttling (SPEC 8.4)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from pharmacy.database import write_intent
from pharmacy.domain.errors import ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import UserSession
from tests.conftest import issue_token, login_as
from tests.factories import PASSWORD, user

START = datetime(2027, 1, 10, 15, tzinfo=UTC)
NEW_PASSWORD = "vial-label-printer-7"


def _signed_in(client) -> bool:
    return client.get("/home").status_code == 200


def _token_works(client, token: str) -> bool:
    response = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {token}"})
    return response.status_code == 200


def _second_client(app, username: str):
    other = app.test_client()
    login_as(other, username)
    return other


def test_a_copied_cookie_stops_working_after_sign_out(app, client, auth):
    assert auth.login("pharmacist").status_code == 302
    cookie = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert _signed_in(thief)
    assert auth.logout().status_code == 302
    assert not _signed_in(thief)
    assert not _signed_in(client)
    # Replaying the cookie as it was before sign-out does not bring it back either.
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert not _signed_in(replay)


def test_sign_out_ends_every_session_and_token_of_that_user(app, client, as_user):
    as_user("technician")
    laptop = _second_client(app, "technician")
    colleague = _second_client(app, "pharmacist")
    token = issue_token(app, "technician")
    assert _signed_in(laptop) and _token_works(client, token)
    assert client.post("/logout").status_code == 302
    assert not _signed_in(laptop)
    assert not _token_works(client, token)
    assert _signed_in(colleague)  # another user's session is untouched
    with app.app_context():
        reasons = db.session.execute(
            db.select(UserSession.ended_reason).where(UserSession.user_id == user("technician").id)
        ).scalars()
        assert set(reasons) == {"signed_out"}


def test_an_admin_password_reset_ends_sessions_and_tokens(app, client, as_user, auth):
    target = _second_client(app, "technician")
    token = issue_token(app, "technician")
    as_user("admin")
    with app.app_context():
        tech_id = user("technician").id
    response = client.post(
        f"/admin/users/{tech_id}",
        data={"role": "technician", "full_name": "Tom Alvarez", "password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert _signed_in(client)  # the admin's own session goes on
    assert not _signed_in(target)
    assert not _token_works(client, token)
    client.post("/logout")
    assert auth.login("technician", NEW_PASSWORD).status_code == 302


def test_deactivation_ends_sessions_and_tokens(app, client, as_user):
    target = _second_client(app, "prescriber")
    token = issue_token(app, "prescriber")
    assert _signed_in(target) and _token_works(client, token)
    as_user("admin")
    with app.app_context():
        prescriber_id = user("prescriber").id
    client.post(f"/admin/users/{prescriber_id}/active", data={"active": "0"})
    assert not _signed_in(target)
    assert not _token_works(client, token)
    # Reactivation does not revive what deactivation ended.
    client.post(f"/admin/users/{prescriber_id}/active", data={"active": "1"})
    assert not _signed_in(target)
    assert not _token_works(client, token)


def test_changing_your_password_ends_your_sessions_and_tokens(app, client, as_user, auth):
    as_user("pharmacist")
    other = _second_client(app, "pharmacist")
    token = issue_token(app, "pharmacist")
    assert client.get("/account/password").status_code == 200
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert not _signed_in(client)
    assert not _signed_in(other)
    assert not _token_works(client, token)
    assert auth.login("pharmacist", PASSWORD).status_code == 401
    assert auth.login("pharmacist", NEW_PASSWORD).status_code == 302


def test_a_password_change_needs_the_current_password(client, as_user):
    as_user("pharmacist")
    response = client.post(
        "/account/password",
        data={
            "current_password": "not-it-at-all",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 422
    assert b"not your current password" in response.data
    assert _signed_in(client)


def test_idle_sessions_end_after_30_minutes(client, auth):
    with time_machine.travel(START, tick=False) as clock:
        assert auth.login("pharmacist").status_code == 302
        for _ in range(4):  # active every 29 minutes: still signed in after ~2 hours
            clock.shift(timedelta(minutes=29))
            assert _signed_in(client)
        clock.shift(timedelta(minutes=30))
        assert not _signed_in(client)
        clock.shift(timedelta(seconds=1))
        assert not _signed_in(client)  # ended for good, not revived


def test_sessions_end_after_12_hours_however_busy(client, auth):
    with time_machine.travel(START, tick=False) as clock:
        assert auth.login("pharmacist").status_code == 302
        for _ in range(47):  # a request every 15 minutes for 11 h 45 min
            clock.shift(timedelta(minutes=15))
            assert _signed_in(client)
        clock.shift(timedelta(minutes=15))
        assert not _signed_in(client)


def test_timeouts_are_settings(app, client, auth):
    from pharmacy.services.settings import update_settings

    with app.app_context(), write_intent():
        update_settings({"session_idle_minutes": 5, "session_max_hours": 1}, actor=None)
    with time_machine.travel(START, tick=False) as clock:
        assert auth.login("pharmacist").status_code == 302
        clock.shift(timedelta(minutes=4))
        assert _signed_in(client)
        clock.shift(timedelta(minutes=5))
        assert not _signed_in(client)
        assert auth.login("pharmacist").status_code == 302
        for _ in range(14):
            clock.shift(timedelta(minutes=4))
            assert _signed_in(client)
        clock.shift(timedelta(minutes=4))  # 60 min after sign-in
        assert not _signed_in(client)


def test_timeouts_over_the_settings_api(client, api):
    headers = api("admin")
    body = client.get("/api/v1/settings", headers=headers).get_json()
    assert body["session_idle_minutes"] == 30 and body["session_max_hours"] == 12
    response = client.patch("/api/v1/settings", json={"session_idle_minutes": 10}, headers=headers)
    assert response.status_code == 200 and response.get_json()["session_idle_minutes"] == 10
    response = client.patch("/api/v1/settings", json={"session_max_hours": 0}, headers=headers)
    assert (
        response.status_code == 422
        and "session_max_hours" in response.get_json()["error"]["fields"]
    )


COMMON_LONG = "1qaz2wsx3edc"  # 12 characters, in zxcvbn's list of common passwords


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("dr.weak", "password", "at least 12 characters"),
        ("dr.weak", "12345678", "at least 12 characters"),
        ("dr.weak", "short-pass1", "at least 12 characters"),
        ("longusername1", "longusername1", "may not be the username"),
        ("longusername1", "LongUserName1", "may not be the username"),
        ("dr.weak", COMMON_LONG, "too common"),
        ("dr.weak", "qwerty123456", "too common"),
        ("dr.weak", "aaaaaaaaaaaaaaaa", "too common"),
    ],
)
def test_weak_passwords_are_refused(app, username, password, message):
    from pharmacy.services.users import create_user

    with app.app_context(), write_intent(), pytest.raises(ValidationFailed) as caught:
        create_user({"username": username, "role": "technician", "password": password}, actor=None)
    assert message in caught.value.errors["password"]


def test_the_password_pages_refuse_weak_passwords(app, client, as_user):
    as_user("admin")
    with app.app_context():
        tech_id = user("technician").id
    for weak in ("password", "12345678", "technician", COMMON_LONG):
        response = client.post(
            f"/admin/users/{tech_id}",
            data={"role": "technician", "full_name": "Tom Alvarez", "password": weak},
        )
        assert response.status_code == 422, weak
    as_user("pharmacist")
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": COMMON_LONG, "confirm": COMMON_LONG},
    )
    assert response.status_code == 422 and b"too common" in response.data


def test_the_common_password_list_comes_from_the_package():
    from pharmacy.domain.passwords import common_passwords

    words = common_passwords()
    assert len(words) > 20_000
    assert {"password", "12345678", COMMON_LONG} <= words


def _message(response) -> str:
    match = re.search(r'id="login-error">([^<]*)<', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.group(1)


def test_throttled_known_and_unknown_usernames_read_the_same(client, auth):
    with time_machine.travel(START, tick=False):
        for name in ("pharmacist", "no-such-user"):
            wrong = [_message(auth.login(name, "bad-password-1")) for _ in range(3)]
            assert set(wrong) == {"Wrong username or password."}
        known = auth.login("pharmacist", "bad-password-1")
        unknown = auth.login("no-such-user", "bad-password-1")
        assert known.status_code == unknown.status_code == 401
        assert (
            _message(known)
            == _message(unknown)
            == ("Too many sign-in attempts: wait 1 s and try again.")
        )
        # The API's token door counts on the same counters and answers alike.
        for name in ("pharmacist", "no-such-user"):
            response = client.post("/api/v1/tokens", auth=(name, "bad-password-1"))
            assert response.status_code == 401
            assert response.get_json()["error"]["message"].startswith("Too many sign-in attempts")


def test_nobody_elsewhere_can_lock_the_pharmacist_out(app, client, auth):
    attacker = app.test_client()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(12):  # an attacker hammering the account from another address
            attacker.post(
                "/login",
                data={"username": "pharmacist", "password": "guess-guess-1"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"},
            )
            clock.shift(timedelta(seconds=40))
        refused = attacker.post(
            "/login",
            data={"username": "pharmacist", "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
        assert refused.status_code == 401  # the attacker's address is paused ...
        assert auth.login("pharmacist").status_code == 302  # ... the pharmacist's is not


def test_one_address_trying_many_accounts_is_throttled(app, auth):
    with time_machine.travel(START, tick=False):
        codes = [auth.login(f"user-{n}", "guess-guess-1").status_code for n in range(25)]
        assert codes == [401] * 25
        response = auth.login("pharmacist")
        assert response.status_code == 401
        assert b"Too many sign-in attempts" in response.data
    with time_machine.travel(START + timedelta(minutes=16), tick=False):
        assert auth.login("pharmacist").status_code == 302


def test_staff_signing_in_all_day_from_one_counter_are_never_throttled(app, auth):
    with time_machine.travel(START, tick=False):
        for _ in range(30):
            assert auth.login("technician").status_code == 302
            assert auth.logout().status_code == 302


def test_a_form_posted_after_a_pause_keeps_the_session(client, auth):
    # The post refreshes the session's last-seen time inside its own write transaction (on
    # SQLite a second writer connection would wait on the request's own lock).
    with time_machine.travel(START, tick=False) as clock:
        assert auth.login("pharmacist").status_code == 302
        clock.shift(timedelta(minutes=20))
        response = client.post(
            "/account/password",
            data={"current_password": "not-it-at-all", "new_password": "x", "confirm": "x"},
        )
        assert response.status_code == 422
        clock.shift(timedelta(minutes=20))  # 40 min after sign-in, 20 after the post
        assert _signed_in(client)


def test_behind_a_proxy_the_throttle_counts_the_forwarded_address(sqlite_template, tmp_path):
    from pharmacy.services import throttle
    from tests.conftest import _make_app

    path = tmp_path / "proxied.sqlite3"
    shutil.copyfile(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path, TRUSTED_PROXIES=1)
    client = app.test_client()
    for address in ("198.51.100.7", "198.51.100.7", "203.0.113.9"):
        response = client.post(
            "/login",
            data={"username": "pharmacist", "password": "guess-guess-1"},
            headers={"X-Forwarded-For": address},
        )
        assert response.status_code == 401
    with app.app_context():
        assert throttle.attempts("pharmacist", "198.51.100.7") == 2
        assert throttle.attempts("pharmacist", "203.0.113.9") == 1
        assert throttle.attempts("pharmacist", "127.0.0.1") == 0
        db.engine.dispose()
