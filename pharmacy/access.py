"""The decorators that guard every view.

Each guarded view carries ``view.access``: the set of roles allowed in (after the
pharmacist-is-also-a-technician rule), or ``"public"``. A test walks every route
with every role and checks the answer against it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

from pharmacy.extensions import login_manager
from pharmacy.roles import expand


def role_required(*roles: str) -> Callable:
    """Guard an HTML view: anonymous users go to sign-in, other roles get 403."""
    allowed = expand(roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.access = allowed  # type: ignore[attr-defined]
        return wrapped

    return decorator


def public(view: Callable) -> Callable:
    """Mark a view as open to everyone (sign-in page, static help)."""
    view.access = "public"  # type: ignore[attr-defined]
    return view
