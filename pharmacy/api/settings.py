"""``GET/PATCH /api/v1/settings`` (SPEC 8.6): the pharmacy settings for the admin, audited."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import jsonify

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.body import json_body
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.settings import SettingsOut, SettingsPatch
from pharmacy.domain.errors import ValidationFailed
from pharmacy.domain.units import json_decimal
from pharmacy.roles import ADMIN
from pharmacy.services import settings as service


def settings_to_dict() -> dict:
    """Return the editable settings as JSON values."""
    current = service.get_settings()
    out = {}
    for name in service.EDITABLE:
        value = getattr(current, name)
        out[name] = json_decimal(value) if hasattr(value, "as_tuple") else value
    return out


@bp.get("/settings")
@api_roles(ADMIN)
@operation(responses={200: SettingsOut})
def get_settings():
    """Return the pharmacy settings."""
    return jsonify(settings_to_dict())


@bp.patch("/settings")
@api_roles(ADMIN)
@operation(request=SettingsPatch, responses={200: SettingsOut, 422: ErrorOut})
def patch_settings():
    """Change some settings (validated like the settings page); the change is audited."""
    changes = validate(SettingsPatch, json_body()).model_dump(exclude_unset=True)
    errors = {}
    if "timezone" in changes and changes["timezone"] not in available_timezones():
        errors["timezone"] = "Use an IANA time zone name such as America/New_York."
    current = service.get_settings()
    slowdown = changes.get("login_slowdown_after", getattr(current, "login_slowdown_after", None))
    lock = changes.get("login_lock_after", getattr(current, "login_lock_after", None))
    if slowdown is not None and lock is not None and lock <= slowdown:
        errors["login_lock_after"] = "Lock only after more failures than the slow-down starts at."
    for name, value in changes.items():
        if value is None:
            errors[name] = "This setting cannot be empty."
    if errors:
        raise ValidationFailed(errors)
    service.update_settings(changes, api_user())
    return jsonify(settings_to_dict())
