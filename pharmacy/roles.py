"""The four roles and who passes a check for them (SPEC section 1).

Read by the web layer (``pharmacy.access`` guards views with them) and by the services.
"""

from __future__ import annotations

PRESCRIBER = "prescriber"
TECHNICIAN = "technician"
PHARMACIST = "pharmacist"
ADMIN = "admin"
ALL_ROLES = (PRESCRIBER, TECHNICIAN, PHARMACIST, ADMIN)
PHARMACY_STAFF = (TECHNICIAN, PHARMACIST)
CLINICAL = (PRESCRIBER, TECHNICIAN, PHARMACIST)

# SPEC section 1: a pharmacist can do everything a technician can.
IMPLIED = {PHARMACIST: {TECHNICIAN}}


def expand(roles: tuple[str, ...] | list[str]) -> frozenset[str]:
    """Return every role that passes a check for ``roles``."""
    return frozenset(r for r in ALL_ROLES if r in roles or IMPLIED.get(r, set()) & set(roles))


def role_allows(role: str, roles: tuple[str, ...] | list[str]) -> bool:
    """Return whether a user with ``role`` passes a check for ``roles``."""
    return role in expand(roles)
