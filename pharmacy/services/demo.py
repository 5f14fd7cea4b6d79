"""The demo pharmacy: settings, one user per role, formulations, released stock.

``load_demo`` is idempotent: it adds only what is missing, so ``make run`` can call
it every time.
"""

from __future__ import annotations

from decimal import Decimal

from pharmacy.extensions import db
from pharmacy.services import audit
from pharmacy.services.settings import get_settings
from pharmacy.services.users import create_user, find_user

DEMO_PASSWORD = "demo-pass-1"

# username, role, full name, NPI (valid check digit), clinic, phone
DEMO_USERS = (
    ("prescriber", "prescriber", "Dr. Maya Chen", "1234567893", "Riverside Family Clinic",
     "555-0142"),
    ("technician", "technician", "Tom Alvarez", None, None, None),
    ("pharmacist", "pharmacist", "Priya Shah", None, None, None),
    ("admin", "admin", "Alex Morgan", None, None, None),
)


def _settings() -> bool:
    settings = get_settings()
    if settings.address:
        return False
    settings.name = "Northside Compounding Pharmacy"
    settings.address = "120 Elm Street, Springfield, IL 62701"
    settings.phone = "(217) 555-0100"
    settings.licence_number = "IL-PHR-054321"
    settings.timezone = "America/Chicago"
    settings.im_max_ml = Decimal("2.0")
    audit.record("settings.demo_loaded", "settings", 1, after={"name": settings.name})
    db.session.commit()
    return True


def _users() -> int:
    added = 0
    for username, role, full_name, npi, clinic, phone in DEMO_USERS:
        if find_user(username) is None:
            create_user({"username": username, "role": role, "full_name": full_name, "npi": npi,
                         "clinic": clinic, "phone": phone, "password": DEMO_PASSWORD}, actor=None)
            added += 1
    return added


def load_demo() -> list[str]:
    """Load whatever of the demo pharmacy is missing; return what was added."""
    done = []
    if _settings():
        done.append("pharmacy settings")
    if count := _users():
        done.append(f"{count} users")
    return done
