"""Errors raised by the domain core.

Every error names the input field it concerns (a JSON path such as ``phases[1].count``),
so that a form can attach it to a field and the API can return it under ``fields``.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every rule violation the core reports.

    :param field: the input field at fault, as a dotted/indexed path (``""`` when none).
    :param message: a sentence a pharmacist can act on.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class ValidationFailed(DomainError):
    """Several field errors found at once (``errors`` maps field path to message)."""

    def __init__(self, errors: dict[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_field, first_message)
        self.errors = dict(errors)


class ConflictError(DomainError):
    """A request that is well formed but conflicts with the current state (HTTP 409)."""
