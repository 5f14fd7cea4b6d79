"""Transaction boundary shared by the services."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from pharmacy.extensions import db

F = TypeVar("F", bound=Callable)


def atomic(func: F) -> F:
    """Roll the session back when the use case raises, then re-raise.

    Services commit once on success; on failure nothing half-written may stay in the
    session, because a view goes on to render a form or flash a message with it.
    """

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise

    return wrapper  # type: ignore[return-value]
