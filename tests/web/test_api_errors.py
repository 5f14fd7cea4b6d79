"""The API's error shape, token issue and revocation."""

from __future__ import annotations

import base64

from flask import Blueprint

from pharmacy.api.body import json_body
from tests.factories import PASSWORD


def _basic(username, password=PASSWORD):
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_token_issue_with_basic_credentials(client):
    response = client.post("/api/v1/tokens", headers=_basic("prescriber"))
    assert response.status_code == 201
    assert set(response.json) >= {"token", "expires_at"}
    token = response.json["token"]
    assert (
        client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_token_issue_refuses_bad_credentials(client):
    response = client.post("/api/v1/tokens", headers=_basic("prescriber", "nope-nope"))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert client.post("/api/v1/tokens").status_code == 401


def test_bad_or_missing_bearer_is_401(client):
    assert client.get("/api/v1/tokens").status_code == 401
    response = client.get("/api/v1/tokens", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert set(response.json["error"]) == {"code", "message", "fields"}
    response = client.get("/api/v1/tokens", headers={"Authorization": "Token abc"})
    assert response.status_code == 401


def test_owner_revokes_and_others_cannot(client, api):
    mine = client.get("/api/v1/tokens", headers=api("technician")).json["tokens"][0]["id"]
    other = client.delete(f"/api/v1/tokens/{mine}", headers=api("prescriber"))
    assert other.status_code == 404
    assert client.delete(f"/api/v1/tokens/{mine}", headers=api("technician")).status_code == 200
    assert client.get("/api/v1/tokens", headers=api("technician")).status_code == 401


def test_admin_lists_and_revokes_anyones_token(client, api):
    api("prescriber")
    listing = client.get("/api/v1/tokens", headers=api("admin")).json["tokens"]
    prescriber_token = next(t for t in listing if t["user"] == "prescriber")
    response = client.delete(f"/api/v1/tokens/{prescriber_token['id']}", headers=api("admin"))
    assert response.status_code == 200 and response.json["revoked_at"]


def test_unknown_route_and_wrong_method_are_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    response = client.put("/api/v1/tokens")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"


def test_html_errors_are_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"<h1>Not found</h1>" in response.data


def test_malformed_json_is_400_and_a_non_object_is_422(tmp_path, sqlite_template):
    import shutil

    from tests.conftest import _make_app

    path = tmp_path / "j.sqlite3"
    shutil.copyfile(sqlite_template, path)
    app = _make_app(f"sqlite:///{path}", tmp_path)
    probe = Blueprint("probe", __name__)

    @probe.post("/api/v1/_probe")
    def echo():
        return json_body()

    echo.access = "public"
    app.register_blueprint(probe)
    client = app.test_client()
    response = client.post("/api/v1/_probe", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"
    response = client.post("/api/v1/_probe", json=[1, 2])
    assert response.status_code == 422
    assert client.post("/api/v1/_probe", json={"a": 1}).json == {"a": 1}
