"""Plain factory functions for tests: ``make_x(**overrides)`` builds and commits one row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import User

PASSWORD = "b12-test-pass"  # passes SPEC 8.4: 12+ characters, not common

# username -> (role, full name, NPI). The template database holds these users.
USERS = {
    "prescriber": ("prescriber", "Dr. Maya Chen", "1234567893"),
    "prescriber2": ("prescriber", "Dr. Omar Haddad", "1245319599"),
    "technician": ("technician", "Tom Alvarez", None),
    "pharmacist": ("pharmacist", "Priya Shah", None),
    "admin": ("admin", "Alex Morgan", None),
}


def make_user(username: str, role: str, password: str = PASSWORD, **fields) -> User:
    """Create and commit a user (scrypt-hashed password)."""
    user = User(
        username=username, role=role, full_name=fields.pop("full_name", username.title()), **fields
    )
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def user(username: str) -> User:
    """Return one of the template users by username."""
    return db.session.execute(db.select(User).filter_by(username=username)).scalar_one()


@contextmanager
def writing(app) -> Iterator[None]:
    """Run a block in an app context whose transactions begin as writers."""
    with app.app_context(), write_intent():
        yield
        db.session.remove()
