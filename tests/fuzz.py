"""Fuzz every operation of ``/api/v1/openapi.json`` with schemathesis (SPEC 8.2).

Shared by the SQLite run (``tests/web/test_fuzz.py``) and the PostgreSQL run
(``tests/pg/test_fuzz_pg.py``). Each operation is called as a role it allows, with a fixed seed
and a bounded number of examples; the checks are: no server error, the status code and
content type are documented, and the body conforms to the documented schema.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

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


class Tally:
    """Count the operations and examples a run made, to print at the end."""

    def __init__(self) -> None:
        self.operations: set[str] = set()
        self.examples = 0

    def report(self, config, label: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and self.examples:
            reporter.write_line(
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
