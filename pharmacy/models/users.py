"""Users, roles and API tokens."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from pharmacy.extensions import Model
from pharmacy.models.types import UTCDateTime, now_utc

ROLES = ("prescriber", "technician", "pharmacist", "admin")


# Checked when the username is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")


class User(UserMixin, Model):
    """A person who signs in: prescriber, technician, pharmacist or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    full_name: Mapped[str] = mapped_column(String(120), default="")
    npi: Mapped[str | None] = mapped_column(String(10))
    clinic: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    def set_password(self, password: str) -> None:
        """Hash ``password`` with Werkzeug's scrypt and keep only the hash."""
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        """Return whether ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def check_unknown_password(password: str) -> bool:
        """Spend as long as :meth:`check_password` for a username nobody has; return False."""
        check_password_hash(_DUMMY_HASH, password)
        return False

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active


class ApiToken(Model):
    """A bearer token; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    expires_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")
