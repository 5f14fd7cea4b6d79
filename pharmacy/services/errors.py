"""Errors the services raise besides the domain's rule violations."""

from __future__ import annotations

from werkzeug.exceptions import NotFound as HttpNotFound


class NotFound(HttpNotFound):
    """A record that does not exist: any caller that does not catch it answers 404."""

    def __str__(self) -> str:
        return str(self.description)
