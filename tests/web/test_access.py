"""Walk every registered route with every role and anonymously.

Each view declares who may use it (``view.access``, set by ``role_required``,
``api_roles`` or ``public``). Anonymous HTML requests go to sign-in, anonymous API
requests get 401, a role outside the declaration gets 403, and an allowed role gets
neither (a 404 for the made-up ids here is fine). Nothing may answer 500.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from tests.conftest import ROLES, issue_token, login_as

SKIP_ENDPOINTS = {"static"}
DUMMY = {"int": "999999", "default": "NOPE-0"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        args = {
            name: DUMMY["int"] if isinstance(conv, IntegerConverter) else DUMMY["default"]
            for name, conv in rule._converters.items()
        }
        url = rule.build(args, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, url, method


def test_every_view_declares_its_roles(app):
    missing = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint not in SKIP_ENDPOINTS and not hasattr(view, "access")
    ]
    assert missing == [], "views without role_required/api_roles/public: " + ", ".join(missing)


def test_every_route_answers_each_role_as_declared(app):
    tokens = {role: issue_token(app, role) for role in ROLES}
    clients = {role: app.test_client() for role in ROLES}
    anonymous = app.test_client()
    problems: list[str] = []

    for endpoint, url, method in _routes(app):
        access = app.view_functions[endpoint].access
        is_api = url.startswith("/api/")
        kwargs = {"json": {}} if is_api and method != "GET" else {}

        response = anonymous.open(url, method=method, **kwargs)
        if response.status_code >= 500:
            problems.append(f"anonymous {method} {url}: {response.status_code}")
        elif access == "public":
            pass
        elif is_api and response.status_code != 401:
            problems.append(f"anonymous {method} {url}: {response.status_code}, expected 401")
        elif not is_api and not (
            response.status_code == 302 and "/login" in response.headers.get("Location", "")
        ):
            problems.append(f"anonymous {method} {url}: {response.status_code}, expected sign-in")

        for role in ROLES:
            if is_api:
                response = clients[role].open(
                    url,
                    method=method,
                    headers={"Authorization": f"Bearer {tokens[role]}"},
                    **kwargs,
                )
            else:
                login_as(clients[role], role)
                response = clients[role].open(url, method=method, data={})
                if endpoint == "auth.logout":
                    # Signing out ends every session and API token of the user (SPEC 8.4).
                    tokens[role] = issue_token(app, role)
            status = response.status_code
            if status >= 500:
                problems.append(f"{role} {method} {url}: {status}")
            elif access == "public":
                pass  # e.g. POST /api/v1/tokens answers 401 to missing Basic credentials
            elif access == "authenticated":
                if status in (401, 403):
                    problems.append(f"{role} {method} {url}: {status}, expected access")
            elif role in access and status in (401, 403):
                problems.append(
                    f"{role} {method} {url}: {status}, expected access ({sorted(access)})"
                )
            elif role not in access and status != 403:
                problems.append(f"{role} {method} {url}: {status}, expected 403 ({sorted(access)})")

    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "role, allowed",
    [
        ("prescriber", False),
        ("technician", False),
        ("pharmacist", True),
        ("admin", True),
    ],
)
def test_audit_api_is_for_pharmacists_and_admins(app, client, api, role, allowed):
    response = client.get("/api/v1/audit", headers=api(role))
    assert response.status_code == (200 if allowed else 403)
