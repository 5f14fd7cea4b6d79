"""Time the answers to hostile bodies on every API operation and print the worst (SPEC 8.1).

Run from the repo root: ``.venv/bin/python bench/bench_bad_input.py``. Posts ``1e999999`` (as a
number and as a string), a 10,000-digit number and 2,000-deep JSON into every field of every
operation's body (or as the whole body), on a fresh migrated SQLite database, and prints the
slowest answers. Each must be a 4xx; before the typed door ``1e999999`` took about 26 s.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HUGE = "1e999999"
DIGITS = "9" * 10_000
DEEP = "[" * 2000 + "]" * 2000


def main() -> None:
    folder = tempfile.mkdtemp(prefix="bench-bad-input-")
    os.environ["PHARMACY_INSTANCE"] = folder
    from flask_migrate import upgrade

    from pharmacy.app import create_app
    from pharmacy.database import write_intent
    from pharmacy.services.tokens import issue_token
    from tests.factories import USERS, make_user
    from tests.web.test_bad_input import _fields_of, _operations, _role_for

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
            "WTF_CSRF_ENABLED": False,
        }
    )
    tokens = {}
    with app.app_context():
        upgrade()
        with write_intent():
            for username, (role, full_name, npi) in USERS.items():
                user = make_user(username, role, full_name=full_name, npi=npi, clinic="Clinic")
                tokens.setdefault(role, issue_token(user)[0])
    client = app.test_client()
    timings: list[tuple[float, int, str]] = []
    # The same hostile bodies as tests/web/test_bad_input.py (which asserts the statuses):
    # numeric strings only where the schema holds a number, since "1e999999" is fine text.
    for method, url, op in _operations(client):
        if method == "get":
            continue
        bodies = [DEEP, HUGE, DIGITS]
        for field, numeric in _fields_of(client, op):
            bodies += [f'{{"{field}": {HUGE}}}', f'{{"{field}": {DIGITS}}}']
            bodies.append(f'{{"{field}": {DEEP}}}')
            if numeric:
                bodies += [f'{{"{field}": "{HUGE}"}}', f'{{"{field}": "{DIGITS}"}}']
        headers = {
            "Authorization": f"Bearer {tokens[_role_for(op)]}",
            "Content-Type": "application/json",
        }
        for body in bodies:
            start = time.perf_counter()
            response = client.open(url, method=method.upper(), data=body, headers=headers)
            elapsed = time.perf_counter() - start
            label = f"{method.upper()} {url} {body[:28]!r}"
            timings.append((elapsed, response.status_code, label))
            if not 400 <= response.status_code < 500:
                raise SystemExit(f"not a 4xx: {response.status_code} {label}")
    timings.sort(reverse=True)
    print(f"hostile bodies: {len(timings)} requests, every answer a 4xx")
    print(f"worst: {timings[0][0] * 1000:.1f} ms  ({timings[0][1]}) {timings[0][2]}")
    for elapsed, status, label in timings[1:5]:
        print(f"       {elapsed * 1000:.1f} ms  ({status}) {label}")


if __name__ == "__main__":
    main()
