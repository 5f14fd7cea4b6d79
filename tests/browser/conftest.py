"""Browser fixtures: the app served from a thread, and Debian's Chromium through Playwright.

Each test module gets its own server on a freshly migrated SQLite database with the
demo pharmacy loaded. Playwright drives /usr/bin/chromium (never ``playwright install``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser

# Base URL -> the Flask app serving it, for tests that create rows in the live database.
LIVE_APPS: dict = {}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """Serve the app with the demo pharmacy on 127.0.0.1 (random port); yield its base URL."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    folder = tmp_path_factory.mktemp("live")
    os.environ["PHARMACY_INSTANCE"] = str(folder)
    from flask_migrate import upgrade

    from pharmacy.app import create_app
    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from pharmacy.services.demo import load_demo

    app = create_app(
        {
            "TESTING": False,
            "PHARMACY_ENV": "testing",
            "SECRET_KEY": "browser-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'live.sqlite3'}",
        }
    )
    with app.app_context():
        upgrade()
        with write_intent():
            load_demo()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    base_app = app
    LIVE_APPS[base] = app
    yield base
    LIVE_APPS.pop(base, None)
    server.shutdown()
    thread.join(5)
    with base_app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def live_app(live_server):
    """Return the Flask app behind ``live_server`` (use its app context to create rows)."""
    return LIVE_APPS[live_server]


@pytest.fixture(scope="session")
def browser():
    """Launch Debian's Chromium once per session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """Return a fresh page (own cookies) with the live server as base URL."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors  # tests may assert no JavaScript errors happened
    yield pg
    context.close()


def login(page, username: str, password: str | None = None) -> None:
    """Sign in through the login page as a demo user."""
    from pharmacy.services.demo import DEMO_PASSWORD

    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password or DEMO_PASSWORD)
    page.click("button[type=submit]")
