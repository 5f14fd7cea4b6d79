"""Configuration read from the environment."""

from __future__ import annotations

import os


class Config:
    """Defaults; ``create_app`` overlays the environment and test settings."""

    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    # The audit chain's HMAC key (SPEC 8.5): kept outside the database, required outside
    # development and tests. Losing it means the chain can no longer be verified.
    AUDIT_KEY: str | None = os.environ.get("AUDIT_KEY")
    # development | production | testing. Development relaxes SECRET_KEY and secure cookies.
    PHARMACY_ENV: str = os.environ.get("PHARMACY_ENV", "production")
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # a counter shift is long; the token lives as long as the session
    # How many reverse proxies (load balancer, nginx) stand in front of the app and set
    # X-Forwarded-For: sign-in throttling counts by the client address they report.
    TRUSTED_PROXIES: int = int(os.environ.get("TRUSTED_PROXIES") or 0)
    MAX_CONTENT_LENGTH = 1024 * 1024  # SPEC 8.1: larger bodies get 413
    API_PAGE_SIZE = 50
    # Seconds a label printer may take to accept a connection and each write (SPEC 6.4).
    PRINTER_TIMEOUT_SECONDS: float = float(os.environ.get("PRINTER_TIMEOUT_SECONDS") or 5)
