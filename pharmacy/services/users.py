"""Users: sign-in with throttling, and the admin's user management."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from pharmacy.auth.roles import ALL_ROLES, PRESCRIBER
from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.npi import validate_npi
from pharmacy.extensions import db
from pharmacy.models import User, now_utc
from pharmacy.services import audit
from pharmacy.services.settings import get_settings
from pharmacy.services.tx import atomic

# Checked when the username is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")

MIN_PASSWORD_LENGTH = 8


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


def authenticate(username: str, password: str, now: datetime | None = None) -> User:
    """Return the user if the password is right; throttle and lock after repeated failures.

    After ``login_slowdown_after`` failures each further try must wait longer
    (1 s, 2 s, 4 s ...); after ``login_lock_after`` the account locks for
    ``login_lock_minutes``. A right password resets the count.

    :raise AuthError: wrong credentials, throttled, locked or deactivated.
    """
    now = now or now_utc()
    settings = get_settings()
    user = find_user(username or "")
    if user is None:
        from werkzeug.security import check_password_hash

        check_password_hash(_DUMMY_HASH, password or "")
        raise AuthError("Wrong username or password.")
    if user.locked_until_dt and user.locked_until_dt > now:
        minutes = max(1, int((user.locked_until_dt - now).total_seconds() // 60) + 1)
        raise AuthError(
            f"This account is locked after repeated failed sign-ins. Try again in {minutes} min."
        )
    if user.locked_until_dt and user.locked_until_dt <= now:
        # The lock has run its course: start counting failures afresh.
        user.failed_logins = 0
        user.locked_until_dt = None
    if user.failed_logins >= settings.login_slowdown_after and user.last_failed_dt:
        wait = min(30, 2 ** (user.failed_logins - settings.login_slowdown_after))
        ready = user.last_failed_dt + timedelta(seconds=wait)
        if now < ready:
            seconds = max(1, int((ready - now).total_seconds() + 0.999))
            raise AuthError(f"Too many failed sign-ins: wait {seconds} s and try again.")
    if not user.check_password(password or ""):
        user.failed_logins += 1
        user.last_failed_dt = now
        if user.failed_logins >= settings.login_lock_after:
            user.locked_until_dt = now + timedelta(minutes=settings.login_lock_minutes)
            audit.record(
                "user.locked",
                "user",
                user.id,
                actor=None,
                after={"failed_logins": user.failed_logins},
            )
        db.session.commit()
        raise AuthError("Wrong username or password.")
    if not user.active:
        raise AuthError("This account has been deactivated; ask an administrator.")
    if user.failed_logins or user.locked_until_dt or db.session.is_modified(user):
        user.failed_logins = 0
        user.locked_until_dt = None
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
        if not password or len(password) < MIN_PASSWORD_LENGTH:
            errors["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
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
        data, current_role=user.role, current_full_name=user.full_name, current_npi=user.npi
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
        user.set_password(clean["password"])
        user.failed_logins = 0
        user.locked_until_dt = None
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
        for token in user.tokens:
            if token.revoked_dt is None:
                token.revoked_dt = now_utc()
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
