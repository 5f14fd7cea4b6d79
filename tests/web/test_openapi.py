"""``/api/v1/openapi.json`` and the API page (SPEC 8.2)."""

from __future__ import annotations

import re

import schemathesis


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield method.lower(), re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[7:])


def test_document_is_openapi_31_without_auth_and_lists_every_operation(client, app):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    assert len(list(schemathesis.openapi.from_dict(doc).get_all_operations())) > 30
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert set(_api_rules(app)) == documented


def test_document_describes_bodies_and_creating_posts(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    batch = doc["paths"]["/batches"]["post"]
    body = batch["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/BatchIn"}
    schema = doc["components"]["schemas"]["BatchIn"]
    assert schema["additionalProperties"] is False
    assert {"formulation", "vials", "compounded_at", "ingredient_lots"} <= set(schema["properties"])
    assert "Idempotency-Key" in {p["name"] for p in batch["parameters"]}
    assert set(batch["responses"]) >= {"201", "400", "401", "403", "409", "413", "422"}
    phase = doc["components"]["schemas"]["PhaseIn"]["properties"]["count"]["anyOf"][0]
    assert phase["maximum"] == 10_000
    fill = doc["paths"]["/fills/{fill_id}"]["get"]["parameters"][0]
    assert fill["schema"]["maximum"] == 2**31 - 1


def test_api_page_is_bundled_and_readable(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    assert "<code>/api/v1/batches</code>" in html and "ingredient_lots" in html
    assert "<script>" not in html and 'src="http' not in html and 'href="http' not in html
    assert "style=" not in html
