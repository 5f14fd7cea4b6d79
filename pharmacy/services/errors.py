"""Errors the services raise besides the domain's rule violations."""

from __future__ import annotations


class NotFound(LookupError):
    """A record that does not exist, or that the caller may not see (the same answer).

    The web layer maps it to 404 once (``pharmacy.errors``): JSON under ``/api``, a page elsewhere.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
