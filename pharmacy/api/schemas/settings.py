"""``GET/PATCH /settings`` (SPEC 8.6): the pharmacy settings, validated like the settings page.

The PATCH model is built from the settings page's own form (:class:`SettingsForm`): each
editable field gets the page's type, range and length, so the API and the page cannot drift
apart when a setting is added.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import create_model
from wtforms.validators import DataRequired, Length, NumberRange

from pharmacy.admin.forms import SettingsForm
from pharmacy.api.schemas.base import Int, Num, Out, Strict, Text
from pharmacy.services.settings import EDITABLE


def _field_type(name: str) -> Any:
    unbound = getattr(SettingsForm, name)
    kind = unbound.field_class.__name__
    validators = unbound.kwargs.get("validators") or (
        unbound.args[1] if len(unbound.args) > 1 else []
    )
    low = high = None
    max_length = 2000
    required = False
    for validator in validators:
        if isinstance(validator, NumberRange):
            low, high = validator.min, validator.max
        elif isinstance(validator, Length) and validator.max and validator.max > 0:
            max_length = validator.max
        elif isinstance(validator, DataRequired):
            required = True
    if kind == "IntegerField":
        return Int(ge=low, le=high)
    if kind == "DecimalField":
        return Num(
            ge=None if low is None else Decimal(str(low)),
            le=None if high is None else Decimal(str(high)),
            decimal_places=unbound.kwargs.get("places", 2),
        )
    return Text(max_length, min_length=1 if required else 0)


SettingsPatch = create_model(  # type: ignore[call-overload]
    "SettingsPatch",
    __base__=Strict,
    __doc__="``PATCH /settings``: any of the editable settings.",
    **{name: (_field_type(name) | None, None) for name in EDITABLE if hasattr(SettingsForm, name)},
)


class SettingsOut(Out):
    """The pharmacy settings."""

    name: str
    timezone: str
