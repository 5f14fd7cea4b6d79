"""``GET /api/v1/openapi.json`` and ``GET /api/v1/docs``: the contract as a document (SPEC 8.2).

The document is assembled from the app's own routes and pydantic's JSON Schema of the models
each view records with :func:`~pharmacy.api.schemas.base.operation`: every rule under
``/api/v1`` is an operation (a route without recorded models still appears, with its
roles), so a new endpoint cannot be missing from it. Why not flask-openapi3 or spectree:
both want to own routing or validation (their own blueprint class, their own error format),
while the SPEC fixes our error shape and every helper adds routes to our blueprint; pydantic
already emits JSON Schema 2020-12, which OpenAPI 3.1 uses as is.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, jsonify, render_template
from pydantic import BaseModel

from pharmacy.access import public
from pharmacy.api.base import bp
from pharmacy.api.schemas.base import MAX_ID, Operation, operation, operation_of
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.roles import ALL_ROLES

API_PREFIX = "/api/v1"
_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")
_METHODS = ("get", "post", "put", "patch", "delete")
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    400: "Malformed JSON, or nested deeper than 32 levels",
    401: "No or bad token",
    403: "Role not allowed",
    404: "Unknown, or not yours",
    409: "State or stock conflict",
    413: "Body over 1 MiB",
    422: "Validation failure (field-level messages)",
}


class _Components:
    """Collect model schemas under ``components.schemas``; refer to them by ``$ref``."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {"Error": _schema_of(ErrorOut, self_ref=False)}

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, Any]:
        name = model.__name__
        if name not in self.schemas:
            schema = model.model_json_schema(
                mode=mode,  # type: ignore[arg-type]
                ref_template="#/components/schemas/{model}",
            )
            for def_name, definition in schema.pop("$defs", {}).items():
                self.schemas.setdefault(def_name, definition)
            self.schemas[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}


def _schema_of(model: type[BaseModel], *, self_ref: bool = True) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


def _summary(view: Any, spec: Operation | None) -> tuple[str, str]:
    doc = (view.__doc__ or "").strip()
    first, _, rest = doc.partition("\n")
    return (spec.summary if spec and spec.summary else first.strip()), rest.strip()


def _path_and_params(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def replace(match: re.Match) -> str:
        name, conv = match["name"], match["conv"]
        schema: dict[str, Any]
        if conv == "int":
            schema = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
        else:
            schema = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^/]+$"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _PARAM.sub(replace, rule), params


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    out = []
    for name, prop in schema.get("properties", {}).items():
        if "$ref" in prop:  # pragma: no cover - query models hold scalars only
            prop = defs[prop["$ref"].rsplit("/", 1)[-1]]
        prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
        out.append({"name": name, "in": "query", "required": False, "schema": prop})
    return out


def _response(status: int, target: Any, components: _Components) -> dict[str, Any]:
    description = _STATUS_TEXT.get(status, "Answer")
    if target is None:
        return {"description": description}
    if isinstance(target, str):
        if target in ("application/json", "application/fhir+json"):
            return {"description": description, "content": {target: {"schema": {}}}}
        return {
            "description": description,
            "content": {target: {"schema": {"type": "string", "format": "binary"}}},
        }
    media = "application/fhir+json" if target.__module__.endswith(".fhir") else "application/json"
    return {
        "description": description,
        "content": {media: {"schema": components.ref(target, "serialization")}},
    }


# OpenAPI links (3.1, "Link Object"): what a created resource leads to, so that a client (and
# schemathesis' stateful fuzzing in the suite) can follow an order to its verification, fills,
# checks and labels, and a batch to its release and sterility result.
_RX = {"rx_number": "$response.body#/rx_number"}
_FILL = {"fill_id": "$response.body#/id"}
_LOT = {"lot_number": "$response.body#/lot_number"}
_PRODUCES: dict[str, dict[str, tuple[str, ...]]] = {
    # operationId of the producer -> {target operationId: ...} through one parameter table
    "create_order": {
        "rx": (
            "get_order",
            "verify_order",
            "cancel_order",
            "create_fill",
            "follow_up",
            "create_review",
            "request_renewal",
            "read_medication_request",
        ),
        "patient": (
            "create_observation",
            "list_observations",
            "create_symptom_report",
            "list_symptom_reports",
        ),
    },
    "verify_order": {"rx": ("create_fill", "get_order", "cancel_order")},
    "create_fill": {
        "fill": (
            "get_fill",
            "check_fill",
            "dispense_fill",
            "void_fill",
            "print_fill",
            "fill_label_pdf",
            "fill_label_zpl",
            "fill_calendar_pdf",
        )
    },
    "check_fill": {"fill": ("dispense_fill", "void_fill", "get_fill")},
    "compound_batch": {
        "lot": ("get_batch", "release_batch", "reject_batch", "sterility_test"),
        "batch_lot": ("batch_labels_pdf", "print_batch"),
    },
    "sterility_test": {"lot": ("release_batch", "get_batch")},
    "create_formulation": {
        "code": (
            "get_formulation",
            "update_formulation",
            "activate_formulation",
            "retire_formulation",
        )
    },
    "receive_lot": {"lot_id": ("get_lot", "release_lot", "reject_lot")},
    "create_token": {"token": ("revoke_token",)},
}
_PARAMETERS: dict[str, dict[str, str]] = {
    "rx": _RX,
    "patient": {"patient_id": "$response.body#/patient/id"},
    "fill": _FILL,
    "lot": _LOT,
    "batch_lot": {"lot": "$response.body#/lot_number"},
    "code": {"code": "$response.body#/code"},
    "lot_id": {"lot_id": "$response.body#/id"},
    "token": {"token_id": "$response.body#/id"},
}


def _links(operation_id: str, known: set[str]) -> dict[str, Any]:
    """Return the Link Objects of ``operation_id``'s success response (to known operations)."""
    links: dict[str, Any] = {}
    for kind, targets in _PRODUCES.get(operation_id, {}).items():
        for target in targets:
            if target in known:
                links[target] = {"operationId": target, "parameters": dict(_PARAMETERS[kind])}
    return links


def build_document(app: Any) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of every ``/api/v1`` route of ``app``."""
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    error = {"$ref": "#/components/schemas/Error"}
    rules = sorted(
        (r for r in app.url_map.iter_rules() if r.rule.startswith(API_PREFIX + "/")),
        key=lambda r: r.rule,
    )
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        spec = operation_of(view)
        access = getattr(view, "access", None)
        path, path_params = _path_and_params(rule.rule[len(API_PREFIX) :])
        for method in sorted(m.lower() for m in rule.methods or ()):
            if method not in _METHODS:
                continue
            summary, description = _summary(view, spec)
            roles = sorted(access) if isinstance(access, frozenset) else []
            if roles and set(roles) != set(ALL_ROLES):
                description = (f"Roles: {', '.join(roles)}.\n\n" + description).strip()
            op: dict[str, Any] = {
                "operationId": rule.endpoint.removeprefix("api."),
                "summary": summary,
                "tags": [path.strip("/").split("/")[0]],
                "parameters": list(path_params),
                "responses": {},
            }
            if description:
                op["description"] = description
            if access == "public":
                op["security"] = [{"basic": []}] if method == "post" else []
            if spec and spec.query is not None:
                op["parameters"] += _query_params(spec.query)
            if spec and spec.creates:
                op["parameters"].append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "A repeat with the same key and body within 24 hours "
                        "answers the first response and creates nothing (SPEC 8.3).",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    }
                )
            if spec and spec.request is not None:
                op["requestBody"] = {
                    "required": spec.body_required,
                    "content": {
                        spec.request_media: {"schema": components.ref(spec.request, "validation")}
                    },
                }
            responses = dict(spec.responses) if spec else {200: None}
            for status, target in sorted(responses.items()):
                op["responses"][str(status)] = _response(status, target, components)
            if access != "public" or method == "post":
                op["responses"].setdefault("401", _error_response(401, error, path))
            if isinstance(access, frozenset) and set(access) != set(ALL_ROLES):
                op["responses"].setdefault("403", _error_response(403, error, path))
            if method in ("post", "put", "patch", "delete"):
                op["responses"].setdefault("400", _error_response(400, error, path))
                op["responses"].setdefault("413", _error_response(413, error, path))
                if spec is None or spec.request is not None:
                    op["responses"].setdefault("422", _error_response(422, error, path))
            # The SPEC's error statuses apply to every call (section 3); FHIR answers them
            # as an OperationOutcome.
            if path_params or path.startswith("/fhir/"):
                op["responses"].setdefault("404", _error_response(404, error, path))
            op["responses"].setdefault("422", _error_response(422, error, path))
            if method != "get":
                op["responses"].setdefault("409", _error_response(409, error, path))
            if spec and spec.links:
                status = next(iter(sorted(s for s in responses if s < 300)), 200)
                op["responses"][str(status)]["links"] = dict(spec.links)
            paths.setdefault(path, {})[method] = op
    known = {op["operationId"] for ops in paths.values() for op in ops.values()}
    for ops in paths.values():
        for op in ops.values():
            links = _links(op["operationId"], known)
            success = sorted(code for code in op["responses"] if code.startswith("2"))
            if links and success:
                op["responses"][success[0]].setdefault("links", {}).update(links)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "B12 compounding pharmacy API",
            "version": "2",
            "description": "Orders, formulations, stock, batches, fills, labels, final check, "
            "trace and recall, audit (SPEC section 3). Errors are "
            '`{"error": {"code", "message", "fields"}}`.',
        },
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
        "security": [{"bearer": []}],
    }


def _error_response(status: int, error: dict[str, Any], path: str = "") -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": error}}
    if path.startswith("/fhir/"):
        content["application/fhir+json"] = {"schema": {"type": "object"}}
    return {"description": _STATUS_TEXT.get(status, "Error"), "content": content}


def document() -> dict[str, Any]:
    """Return the current app's document (built once per app, on first use)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if "openapi" not in app.extensions:
        app.extensions["openapi"] = build_document(app)
    return app.extensions["openapi"]


@bp.get("/openapi.json")
@public
@operation(responses={200: "application/json"})
def openapi_json():
    """Return this OpenAPI 3.1 document (no authentication)."""
    return jsonify(document())


@bp.get("/docs")
@public
@operation(responses={200: "text/html"})
def api_docs():
    """Show the API as a readable page, built from the OpenAPI document (no CDN, no script)."""
    return render_template("api/docs.html", doc=document(), resolve=_resolver(document()))


def _resolver(doc: dict[str, Any]):
    schemas = doc["components"]["schemas"]

    def resolve(schema: dict[str, Any] | None) -> dict[str, Any]:
        seen = 0
        while schema and "$ref" in schema and seen < 5:
            schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
            seen += 1
        return schema or {}

    return resolve
