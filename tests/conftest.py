"""Fixtures shared by every test.

Databases are built by the migrations, never by ``create_all``. SQLite: one template
file per session (migrated, with one user per role), copied for each test.
PostgreSQL (``TEST_DATABASE_URL``): a template database per session, cloned with
``CREATE DATABASE ... TEMPLATE`` for each test and dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.factories import PASSWORD, USERS

ROLES = ("prescriber", "technician", "pharmacist", "admin")

# --- The clock -------------------------------------------------------------------------
# ``pytest --today=2028-02-29`` runs the whole session as if the system clock read that
# date (time-machine moves ``time.time``, ``datetime.now`` and ``date.today`` for every
# thread; the clock keeps ticking from there). A bare date means 15:00 UTC that day, which
# is the same calendar date from Hawaii to UTC; a full ISO datetime picks the instant.
# ``make test`` runs the tests marked ``date_sensitive`` at several such dates.

DEFAULT_HOUR_UTC = 15
_TRAVELLER = pytest.StashKey[time_machine.travel]()


def pytest_addoption(parser):
    parser.addoption(
        "--today",
        metavar="YYYY-MM-DD[THH:MM+00:00]",
        default=None,
        help="travel the whole session to this date (time-machine); default: the real date",
    )


def _destination(value: str) -> datetime:
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise pytest.UsageError(f"--today: {exc}") from None
    return datetime.combine(day, time(DEFAULT_HOUR_UTC), tzinfo=UTC)


def pytest_configure(config):
    value = config.getoption("--today")
    if value:
        traveller = time_machine.travel(_destination(value), tick=True)
        traveller.start()
        config.stash[_TRAVELLER] = traveller


def pytest_unconfigure(config):
    traveller = config.stash.get(_TRAVELLER, None)
    if traveller is not None:
        traveller.stop()


def pytest_terminal_summary(terminalreporter, config):
    """Print what the fuzzers ran (tests/fuzz.py), after the results."""
    from tests.fuzz import SUMMARY

    lines = config.stash.get(SUMMARY, [])
    if lines:
        terminalreporter.section("fuzzing")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_report_header(config):
    value = config.getoption("--today")
    if value:
        return f"clock: travelled to {_destination(value).isoformat()} (--today={value})"
    return "clock: the real date (pass --today=YYYY-MM-DD to run on another day)"


def _test_config(database_uri: str, instance: Path) -> dict:
    return {
        "TESTING": True,
        "PHARMACY_ENV": "testing",
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "WTF_CSRF_ENABLED": False,
        "PHARMACY_INSTANCE": str(instance),
    }


def _make_app(database_uri: str, instance: Path, **overrides):
    os.environ["PHARMACY_INSTANCE"] = str(instance)
    from pharmacy.app import create_app

    config = _test_config(database_uri, instance)
    config.update(overrides)
    return create_app(config)


def _seed_users(app) -> None:
    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from tests.factories import make_user

    with app.app_context(), write_intent():
        for username, (role, full_name, npi) in USERS.items():
            make_user(
                username,
                role,
                full_name=full_name,
                npi=npi,
                clinic="Riverside Clinic" if role == "prescriber" else None,
            )
        db.session.remove()


def _migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        from pharmacy.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Return a migrated SQLite file with the test users, built once per session."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite3"
    app = _make_app(f"sqlite:///{path}", folder)
    _migrate(app)
    _seed_users(app)
    with app.app_context():
        from pharmacy.extensions import db

        db.engine.dispose()
    return path


@pytest.fixture
def app(sqlite_template, tmp_path):
    """Return an app on a fresh copy of the migrated SQLite template."""
    path = tmp_path / "test.sqlite3"
    shutil.copyfile(sqlite_template, path)
    application = _make_app(f"sqlite:///{path}", tmp_path)
    yield application
    with application.app_context():
        from pharmacy.extensions import db

        db.session.remove()
        db.engine.dispose()


PG_URL = os.environ.get("TEST_DATABASE_URL")
requires_pg = pytest.mark.skipif(
    not PG_URL,
    reason="PostgreSQL tests need TEST_DATABASE_URL (e.g. "
    "postgresql+psycopg://root@127.0.0.1:5432/test); .ci/run sets it",
)


def _admin_engine():
    url = make_url(PG_URL)
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)


@contextmanager
def empty_pg_database():
    """Yield the URL of a new, empty PostgreSQL database (dropped afterwards), for tests that
    migrate version-1 data themselves; skip when ``TEST_DATABASE_URL`` is not set."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL; .ci/run sets it")
    name = f"b12_v1_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory):
    """Create a migrated PostgreSQL template database for this run; drop it at the end."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL; .ci/run sets it")
    name = f"b12_tmpl_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name)
    folder = tmp_path_factory.mktemp("pg-template")
    app = _make_app(url.render_as_string(hide_password=False), folder)
    _migrate(app)
    _seed_users(app)
    with app.app_context():
        from pharmacy.extensions import db

        db.engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_app(pg_template, tmp_path):
    """Return an app on a fresh PostgreSQL database cloned from the template; drop it after."""
    name = f"b12_t_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    url = make_url(PG_URL).set(database=name)
    application = _make_app(url.render_as_string(hide_password=False), tmp_path)
    yield application
    with application.app_context():
        from pharmacy.extensions import db

        db.session.remove()
        db.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def client(app):
    """Return a test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Return a CLI runner for ``flask --app wsgi`` commands."""
    return app.test_cli_runner()


class Auth:
    """Sign a test client in as a template user, through the real sign-in form."""

    def __init__(self, client) -> None:
        self.client = client

    def login(self, username: str = "pharmacist", password: str = PASSWORD):
        return self.client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client) -> Auth:
    """Return a helper that signs ``client`` in and out."""
    return Auth(client)


def login_as(client, username: str) -> None:
    """Sign ``client`` in as ``username`` without the password round trip (fast)."""
    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from pharmacy.models import User, now_utc
    from pharmacy.services.sessions import start_session

    with client.application.app_context(), write_intent():
        user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one()
        user_id = user.id
        session_id = start_session(user, now=now_utc()).id
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session["_sid"] = session_id  # the server-side session row (SPEC 8.4)


@pytest.fixture
def as_user(client):
    """Return ``sign_in(username)`` that signs ``client`` in quickly and returns it."""

    def sign_in(username: str):
        login_as(client, username)
        return client

    return sign_in


def issue_token(app, username: str) -> str:
    """Return a live bearer token for ``username`` (issued by the service)."""
    from pharmacy.database import write_intent
    from pharmacy.services.tokens import issue_token as issue
    from tests.factories import user

    with app.app_context(), write_intent():
        secret, _ = issue(user(username))
    return secret


@pytest.fixture
def api(app, client):
    """Return ``headers(username)``: an Authorization header dict for that user."""
    cache: dict[str, dict] = {}

    def headers(username: str) -> dict:
        if username not in cache:
            cache[username] = {"Authorization": f"Bearer {issue_token(app, username)}"}
        return cache[username]

    return headers
