"""Two app servers on one PostgreSQL database (SPEC 8.4 and issue 13's "several app servers").

A pharmacy group runs two or more gunicorn hosts behind one load balancer. Sessions, sign-in
throttles and idempotency records live in PostgreSQL, so it does not matter which host a
request reaches: a session started on one works on the other, a sign-out on one ends it on
both, a throttle counts the attempts made on both, and one key sent to both makes one object.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import Batch, LoginThrottle, now_utc
from pharmacy.services import throttle
from pharmacy.services.settings import update_settings
from tests.conftest import issue_token, requires_pg
from tests.factories import PASSWORD
from tests.web.test_batches import stock

pytestmark = requires_pg

ROOT = Path(__file__).resolve().parent.parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Host:
    """One gunicorn server of the group, logging to a file."""

    def __init__(self, url: str, instance: Path) -> None:
        instance.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = instance / "gunicorn.log"
        env = dict(
            os.environ,
            DATABASE_URL=url,
            SECRET_KEY="two-servers-shared-secret",  # every host of a group shares both keys
            AUDIT_KEY="two-servers-shared-audit-key",
            PHARMACY_ENV="development",  # plain-HTTP cookies (no TLS proxy in the test)
            PHARMACY_INSTANCE=str(instance),
        )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(GUNICORN),
                    "--no-control-socket",
                    "--workers",
                    "2",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-3000:]}")
            try:
                requests.get(f"{self.base}/login", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def hosts(pg_app, tmp_path):
    """Return (app, url of host A, url of host B): two gunicorn servers on the test database."""
    url = pg_app.config["SQLALCHEMY_DATABASE_URI"]
    started: list[Host] = []
    try:
        for name in ("a", "b"):
            started.append(Host(url, tmp_path / name))
        for host in started:
            host.wait_ready()
        yield pg_app, started[0].base, started[1].base
    finally:
        for host in started:
            host.stop()


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, page[:2000]
    return match.group(1)


def _sign_in(base: str, username: str, password: str = PASSWORD) -> tuple[requests.Session, int]:
    browser = requests.Session()
    form = browser.get(f"{base}/login", timeout=10).text
    response = browser.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": _token(form)},
        allow_redirects=False,
        timeout=10,
    )
    return browser, response.status_code


def _at_home(browser: requests.Session, base: str) -> bool:
    response = browser.get(f"{base}/home", allow_redirects=False, timeout=10)
    return response.status_code == 200


def _moved_to(browser: requests.Session) -> requests.Session:
    """Return a new client holding ``browser``'s cookies (a load balancer switching hosts)."""
    other = requests.Session()
    other.cookies.update(browser.cookies)
    return other


def test_a_session_started_on_one_host_works_on_the_other_and_ends_on_both(hosts):
    _app, host_a, host_b = hosts
    on_a, status = _sign_in(host_a, "pharmacist")
    assert status == 302
    on_b = _moved_to(on_a)
    assert _at_home(on_a, host_a) and _at_home(on_b, host_b)
    # Sign out on B: the same cookie is dead on A too.
    home = on_b.get(f"{host_b}/home", timeout=10).text
    response = on_b.post(
        f"{host_b}/logout", data={"csrf_token": _token(home)}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302
    assert not _at_home(on_a, host_a)
    assert not _at_home(_moved_to(on_a), host_b)


def test_a_throttle_counts_attempts_on_both_hosts(hosts):
    app, host_a, host_b = hosts
    with app.app_context(), write_intent():
        update_settings(
            {"login_slowdown_after": 1, "login_lock_after": 2, "login_lock_minutes": 15},
            actor=None,
        )
    assert _sign_in(host_a, "technician", "wrong-password-1")[1] == 401
    time.sleep(1.2)  # past the one-second wait the first failure asks for
    assert _sign_in(host_b, "technician", "wrong-password-2")[1] == 401
    with app.app_context():
        assert throttle.attempts("technician", "127.0.0.1") == 2
        row = db.session.get(LoginThrottle, throttle.account_key("technician", "127.0.0.1"))
        assert row.locked_until_dt is not None
        assert row.locked_until_dt - now_utc() > timedelta(minutes=14)
    # One failure on each host paused the pair: the right password is refused on A ...
    browser = requests.Session()
    form = browser.get(f"{host_a}/login", timeout=10).text
    refused = browser.post(
        f"{host_a}/login",
        data={"username": "technician", "password": PASSWORD, "csrf_token": _token(form)},
        timeout=10,
    )
    assert refused.status_code == 401
    assert "Too many sign-in attempts" in refused.text


def test_one_idempotency_key_sent_to_both_hosts_makes_one_batch(hosts):
    app, host_a, host_b = hosts
    code, lots = stock(app)
    token = issue_token(app, "technician")
    body = {
        "formulation": code,
        "vials": 3,
        "compounded_at": (now_utc() - timedelta(hours=1)).isoformat(),
        "ingredient_lots": list(lots.values()),
    }

    def post(base: str, key: str) -> requests.Response:
        return requests.post(
            f"{base}/api/v1/batches",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            timeout=30,
        )

    first, again = post(host_a, "two-hosts-1"), post(host_b, "two-hosts-1")
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    # The same key sent to both hosts at once.
    results: dict[str, requests.Response] = {}
    threads = [
        threading.Thread(target=lambda b=b: results.__setitem__(b, post(b, "two-hosts-2")))
        for b in (host_a, host_b)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(r.status_code for r in results.values())
    assert statuses in ([201, 201], [201, 409]), [r.text for r in results.values()]
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Batch.id))).scalar_one() == 2
