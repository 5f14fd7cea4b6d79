"""Fuzz every operation of ``/api/v1/openapi.json`` with schemathesis (SPEC 8.2).

Shared by the SQLite run (``tests/web/test_fuzz.py``) and the PostgreSQL run
(``tests/pg/test_fuzz_pg.py``). Each operation is called as a role it allows, with a fixed seed
and a bounded number of examples; the checks are: no server error, the status code and
content type are documented, and the body conforms to the documented schema.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine, text

from tests.conftest import issue_token

EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # a fixed seed: the same examples every run
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


SUMMARY = pytest.StashKey[list[str]]()


def summary_lines(config) -> list[str]:
    """Return the lines printed after the run (``pytest_terminal_summary`` in conftest)."""
    if SUMMARY not in config.stash:
        config.stash[SUMMARY] = []
    return config.stash[SUMMARY]


class Tally:
    """Count the operations and examples a run made, to print at the end."""

    def __init__(self) -> None:
        self.operations: set[str] = set()
        self.examples = 0

    def report(self, config, label: str) -> None:
        if self.examples:
            summary_lines(config).append(
                f"schemathesis ({label}): {len(self.operations)} operations, "
                f"{self.examples} examples, no server error, every response conforms"
            )


def role_for(operation) -> str:
    """Return a role the operation allows (from the 'Roles:' line of its description)."""
    text = operation.definition.raw.get("description", "")
    if text.startswith("Roles:"):
        roles = text.split(".", 1)[0].removeprefix("Roles: ").split(", ")
        for role in ("pharmacist", "prescriber", "admin", "technician"):
            if role in roles:
                return role
    return "pharmacist"


def tokens_for(app) -> dict[str, str]:
    """Return a bearer token per role."""
    return {
        role: issue_token(app, role) for role in ("prescriber", "technician", "pharmacist", "admin")
    }


def call_and_check(case, tokens: dict[str, str], tally: Tally) -> None:
    """Call the operation as an allowed role and run the checks."""
    role = role_for(case.operation)
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    if case.operation.path == "/tokens" and case.operation.method.lower() != "get":
        headers = {}
    response = case.call(headers=headers)
    tally.operations.add(f"{case.operation.method.upper()} {case.operation.path}")
    tally.examples += 1
    case.validate_response(response, checks=CHECKS)


def fuzz_every_operation(app) -> Tally:
    """Fuzz each operation of the app's document in turn; return what ran."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tokens = tokens_for(app)
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ_SETTINGS
        @given(case=operation.as_strategy())
        def run(case) -> None:
            call_and_check(case, tokens, tally)

        run()
    return tally


# --- Stateful: follow the OpenAPI links ----------------------------------------------------
# The stateless run above mostly meets 404s past the first step (a random Rx number names no
# order). Here schemathesis follows the document's links: an order it created is verified,
# filled, checked, labelled, dispensed or voided; a batch is tested, released or rejected. The
# bodies of the two roots that need a consistent pharmacy (an order a formulation can make, a
# batch from released lots) come from the suite's factories, so the chains go deep; every
# later body is generated.
STATEFUL_SETTINGS = settings(
    # The database outlives each scenario, so a scenario cannot be replayed to shrink it:
    # generate only, and report the failing calls as they happened.
    phases=[Phase.generate],
    max_examples=40,
    stateful_step_count=10,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class StatefulTally(Tally):
    """Also count the successful answers per operation: the chains reached them."""

    def __init__(self) -> None:
        super().__init__()
        self.succeeded: dict[str, int] = {}

    def report(self, config, label: str) -> None:
        if self.examples:
            summary_lines(config).append(
                f"schemathesis stateful ({label}): {self.examples} calls over "
                f"{len(self.operations)} operations following links; successes: "
                + ", ".join(f"{op} x{n}" for op, n in sorted(self.succeeded.items()))
            )


def _linked_operations(document: dict) -> list[str]:
    """Return the operationIds that produce links or are their targets."""
    names: set[str] = set()
    for operations in document["paths"].values():
        for op in operations.values():
            for response in op["responses"].values():
                for link in response.get("links", {}).values():
                    names |= {op["operationId"], link["operationId"]}
    return sorted(names)


def database_snapshot(app) -> tuple[Callable[[], None], Callable[[], None]]:
    """Snapshot the app's database (SQLite file or PostgreSQL database); return a function
    that puts it back and one that removes the snapshot. Every scenario starts from the same
    pharmacy: Hypothesis insists that the same choices lead to the same answers."""
    from pharmacy.extensions import db

    def disconnect() -> None:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    with app.app_context():
        url = db.engine.url
    disconnect()
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        saved = path.with_name(path.name + ".snapshot")
        shutil.copyfile(path, saved)

        def restore_file() -> None:
            disconnect()
            shutil.copyfile(saved, path)

        return restore_file, lambda: saved.unlink(missing_ok=True)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    saved_name = f"{url.database}_snap"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{saved_name}" TEMPLATE "{url.database}"'))

    def restore_database() -> None:
        disconnect()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{url.database}" TEMPLATE "{saved_name}"'))

    def drop_snapshot() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{saved_name}" WITH (FORCE)'))
        admin.dispose()

    return restore_database, drop_snapshot


def fuzz_statefully(app, seed_bodies: dict) -> StatefulTally:
    """Run schemathesis' state machine over the linked operations of the app's document;
    ``seed_bodies`` maps an operationId to a function returning a valid body for it."""
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(
        operation_id=_linked_operations(document)
    )
    tokens = tokens_for(app)
    tally = StatefulTally()

    restore, drop_snapshot = database_snapshot(app)

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            restore()

        def before_call(self, case) -> None:
            make = seed_bodies.get(case.operation.definition.raw.get("operationId"))
            if make is not None:
                case.body = make()
            # Generated credentials would stop every chain at its first step: sign in as a
            # role the operation allows (the stateless run covers bad credentials).
            if case.operation.path == "/tokens" and case.operation.method.lower() != "get":
                return
            # A malformed Idempotency-Key is refused before anything else (the stateless run
            # tries those); here it would only cut the chains short.
            case.headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() != "idempotency-key"
            }
            case.headers["Authorization"] = f"Bearer {tokens[role_for(case.operation)]}"

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            name = f"{case.operation.method.upper()} {case.operation.path}"
            tally.operations.add(name)
            tally.examples += 1
            if response.status_code < 300:
                tally.succeeded[name] = tally.succeeded.get(name, 0) + 1
            case.validate_response(response, checks=CHECKS)

    try:
        Machine.run(settings=STATEFUL_SETTINGS)
    finally:
        restore()
        drop_snapshot()
    return tally


def stateful_seed(app) -> dict:
    """Stock for the stateful run: a formulation, released lots of its ingredients and a
    released batch to fill from; valid order and batch bodies, each order a new patient."""
    from datetime import timedelta
    from itertools import count

    from pharmacy.database import write_intent
    from pharmacy.extensions import db
    from pharmacy.models import Formulation
    from tests import clock
    from tests.factories_fills import make_batch
    from tests.factories_orders import order_body
    from tests.web.test_batches import stock

    code, lots = stock(app)
    with app.app_context(), write_intent():
        formulation = db.session.execute(db.select(Formulation).filter_by(code=code)).scalar_one()
        make_batch(formulation, vials=200)
    numbers = count(1)

    def order() -> dict:
        n = next(numbers)
        return order_body(
            patient__first_name=f"Fuzz{n}", patient__last_name="Stateful", patient__mrn=f"SF-{n}"
        )

    def batch() -> dict:
        moment = clock.now() - timedelta(hours=1)
        return {
            "formulation": code,
            "vials": 2,
            "compounded_at": moment.isoformat(),
            "ingredient_lots": list(lots.values()),
        }

    # Approving without reasons needs an order with no warning (SPEC 5.2), which these are.
    return {
        "create_order": order,
        "compound_batch": batch,
        "verify_order": lambda: {"decision": "approve"},
    }


def assert_links_followed(tally) -> None:
    """Orders and batches were created and the links led to them (real Rx and lot numbers:
    a generated one names nothing and answers 404)."""
    assert tally.succeeded.get("POST /orders", 0) >= 1
    assert tally.succeeded.get("POST /batches", 0) >= 1
    assert any("{rx_number}" in op for op in tally.succeeded), tally.succeeded
    assert any("{lot_number}" in op for op in tally.succeeded), tally.succeeded
