"""Users: sign-in with throttling, password changes, and the admin's user management."""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import select

from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.npi import validate_npi
from pharmacy.domain.passwords import MIN_LENGTH as MIN_PASSWORD_LENGTH
from pharmacy.domain.passwords import password_problem
from pharmacy.extensions import db
from pharmacy.models import User, now_utc
from pharmacy.roles import ALL_ROLES, PRESCRIBER
from pharmacy.services import audit, throttle
from pharmacy.services.errors import NotFound
from pharmacy.services.sessions import end_all_sessions
from pharmacy.services.tx import atomic

WRONG_CREDENTIALS = "Wrong username or password."


class AuthError(Exception):
    """Sign-in refused; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _public(user: User) -> dict:
    return {
        "username": user.username,
        "role": user.role,
        "full_name": user.full_name,
        "npi": user.npi,
        "clinic": user.clinic,
        "phone": user.phone,
        "active": user.active,
    }


def find_user(username: str) -> User | None:
    """Return the user called ``username`` (case-insensitive), if any."""
    return db.session.execute(
        select(User).where(db.func.lower(User.username) == username.strip().lower())
    ).scalar_one_or_none()


def get_user(user_id: int) -> User:
    """Return the user with ``user_id``.

    :raise NotFound: no such user.
    """
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


def throttle_message(wait_seconds: int) -> str:
    """Return the one message every throttled sign-in gets, known username or not."""
    if wait_seconds >= 120:
        return f"Too many sign-in attempts: wait {math.ceil(wait_seconds / 60)} min and try again."
    return f"Too many sign-in attempts: wait {wait_seconds} s and try again."


def authenticate(
    username: str, password: str, *, address: str = "unknown", now: datetime | None = None
) -> User:
    """Return the user if the password is right (SPEC 8.4).

    Failures are counted by account and by client ``address``
    (:mod:`pharmacy.services.throttle`); a throttled attempt is refused without a password
    check, with the same message for known and unknown usernames.

    :raise AuthError: wrong credentials, throttled or deactivated.
    """
    now = now or now_utc()
    username = (username or "")[:200]
    wait = throttle.check_attempt(username, address, now=now)
    if wait:
        raise AuthError(throttle_message(wait))
    user = find_user(username)
    if user is None:
        User.check_unknown_password(password or "")
    if user is None or not user.check_password(password or ""):
        throttle.attempt_failed(username, address, now=now)
        raise AuthError(WRONG_CREDENTIALS)
    throttle.attempt_succeeded(username, address)
    if not user.active:
        raise AuthError("This account has been deactivated; ask an administrator.")
    return user


def _password_problem(password: str | None, username: str) -> str | None:
    if not password:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    return password_problem(password, username)


@atomic
def change_password(user: User, current: str, new: str, *, now: datetime) -> User:
    """Change ``user``'s own password; every session and API token of theirs ends.

    :raise ValidationFailed: the current password is wrong or the new one breaks the rules.
    """
    errors: dict[str, str] = {}
    if not user.check_password(current or ""):
        errors["current_password"] = "That is not your current password."
    problem = _password_problem(new, user.username)
    if problem:
        errors["new_password"] = problem
    elif user.check_password(new):
        errors["new_password"] = "Choose a password different from the current one."
    if errors:
        raise ValidationFailed(errors)
    user.set_password(new)
    end_all_sessions(user, now=now, reason="password_changed")
    audit.record("user.password_changed", "user", user.id, actor=user)
    db.session.commit()
    return user


def _check_fields(data: dict, creating: bool) -> dict:
    """Validate a user's fields; return cleaned values or raise ValidationFailed."""
    errors: dict[str, str] = {}
    clean: dict = {}
    if creating:
        username = (data.get("username") or "").strip()
        if (
            not username
            or len(username) > 64
            or not all(c.isalnum() or c in "._-" for c in username)
        ):
            errors["username"] = "Use 1-64 letters, digits, dots, dashes or underscores."
        elif find_user(username) is not None:
            errors["username"] = "That username is taken."
        clean["username"] = username
    role = data.get("role")
    if role is not None or creating:
        if role not in ALL_ROLES:
            errors["role"] = f"Role must be one of: {', '.join(ALL_ROLES)}."
        clean["role"] = role
    for key, limit in (("full_name", 120), ("clinic", 120), ("phone", 40)):
        if key in data:
            value = (data.get(key) or "").strip()
            if len(value) > limit:
                errors[key] = f"At most {limit} characters."
            clean[key] = value
    effective_role = clean.get("role") or data.get("current_role")
    npi = (data.get("npi") or "").strip()
    if npi:
        try:
            clean["npi"] = validate_npi(npi)
        except DomainError as exc:
            errors["npi"] = exc.message
    elif "npi" in data or creating:
        clean["npi"] = None
    if effective_role == PRESCRIBER:
        if not (clean.get("full_name") or data.get("current_full_name")):
            errors["full_name"] = "A prescriber needs a full name (it is printed on labels)."
        if not npi and not data.get("current_npi"):
            errors.setdefault("npi", "A prescriber needs an NPI.")
    password = data.get("password")
    if creating or password:
        username = clean.get("username") or data.get("current_username") or ""
        problem = _password_problem(password, username)
        if problem:
            errors["password"] = problem
        clean["password"] = password
    if errors:
        raise ValidationFailed(errors)
    return clean


@atomic
def create_user(data: dict, actor: User | None) -> User:
    """Create a user from ``data`` (username, role, password, full_name, npi, clinic, phone)."""
    clean = _check_fields(data, creating=True)
    user = User(
        username=clean["username"],
        role=clean["role"],
        full_name=clean.get("full_name", ""),
        npi=clean.get("npi"),
        clinic=clean.get("clinic") or None,
        phone=clean.get("phone") or None,
    )
    user.set_password(clean["password"])
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", "user", user.id, actor=actor, after=_public(user))
    db.session.commit()
    return user


@atomic
def update_user(user: User, data: dict, actor: User | None) -> User:
    """Change a user's role, details or password; audit the change."""
    data = dict(
        data,
        current_role=user.role,
        current_full_name=user.full_name,
        current_npi=user.npi,
        current_username=user.username,
    )
    clean = _check_fields(data, creating=False)
    before = _public(user)
    for key in ("role", "full_name"):
        if clean.get(key):
            setattr(user, key, clean[key])
    for key in ("npi", "clinic", "phone"):
        if key in clean:
            setattr(user, key, clean[key] or None)
    if clean.get("password"):
        # A reset ends every session and API token the old password opened (SPEC 8.4).
        user.set_password(clean["password"])
        end_all_sessions(user, now=now_utc(), reason="password_reset")
    after = _public(user)
    if clean.get("password"):
        after["password"] = "reset"
    audit.record("user.updated", "user", user.id, actor=actor, before=before, after=after)
    db.session.commit()
    return user


@atomic
def set_active(user: User, active: bool, actor: User | None) -> User:
    """Activate or deactivate ``user``; deactivation also revokes their tokens."""
    if actor is not None and actor.id == user.id and not active:
        raise DomainError("active", "You cannot deactivate your own account.")
    before = {"active": user.active}
    user.active = active
    if not active:
        end_all_sessions(user, now=now_utc(), reason="deactivated")
    audit.record(
        "user.activated" if active else "user.deactivated",
        "user",
        user.id,
        actor=actor,
        before=before,
        after={"active": active},
    )
    db.session.commit()
    return user


def list_users() -> list[User]:
    """Return every user, by role then username."""
    return list(db.session.execute(select(User).order_by(User.role, User.username)).scalars())
