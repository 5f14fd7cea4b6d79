"""Ingredient lots: receive into quarantine, release or reject, list stock (SPEC 2.6).

Which lots are "the active": a lot whose component is, case-insensitively, the name of an
active ingredient in any formulation (any version), or any component whose name contains
"cyanocobalamin" (the product's only drug, so its powder is held to the USP assay and LOD
specification even before a formulation names it). Only those lots need an assay and LOD
to be released; every lot needs a certificate of analysis reference.

Quantities are Decimal in the lot's own unit (mg, g or mL) and never go negative: batches
draw them with conditional UPDATEs (see :mod:`pharmacy.services.batches`), and the table
has a CHECK constraint as the last line of defence.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select

from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.domain.formulation import parse_decimal
from pharmacy.domain.lots import parse_expiry_text
from pharmacy.domain.units import json_decimal
from pharmacy.domain.worksheet import check_release
from pharmacy.extensions import db
from pharmacy.models import IngredientLot, User, now_utc
from pharmacy.services import audit
from pharmacy.services.errors import NotFound
from pharmacy.services.formulary import active_components
from pharmacy.services.paging import Cursor, Page, read_page
from pharmacy.services.settings import local_today
from pharmacy.services.tx import atomic

LOT_UNITS = ("mg", "g", "mL")
QUARANTINE = "quarantine"
RELEASED = "released"
REJECTED = "rejected"
RECALLED = "recalled"
ACTIVE_DRUG = "cyanocobalamin"

_TEXT_LIMITS = {"component": 80, "manufacturer": 120, "lot": 40, "coa_reference": 120}


def is_active_component(component: str, actives: set[str] | None = None) -> bool:
    """Tell whether lots of ``component`` are the active (see the module docstring).

    :param actives: :func:`active_components`, read once by a caller that asks for many lots.
    """
    name = (component or "").strip().casefold()
    return ACTIVE_DRUG in name or name in (active_components() if actives is None else actives)


def is_expired(lot: IngredientLot, today: date | None = None) -> bool:
    """Tell whether the lot's last day of use has passed (it may be used through that day)."""
    return lot.expiry_date < (today or local_today())


def is_usable(lot: IngredientLot, today: date | None = None) -> bool:
    """Tell whether a batch may draw from the lot: released, in date and with stock."""
    return lot.status == RELEASED and not is_expired(lot, today) and lot.quantity_on_hand > 0


def get_lot(lot_id: Any) -> IngredientLot:
    """Return the lot with this id.

    :raise NotFound: no such lot (also for ids that are not whole numbers).
    """
    lot = None
    if not isinstance(lot_id, bool):
        try:
            lot = db.session.get(IngredientLot, int(lot_id))
        except (TypeError, ValueError, OverflowError):
            lot = None
    if lot is None:
        raise NotFound(f"No ingredient lot {lot_id!r}.")
    return lot


def _lots_query(component: str | None, status: str | None) -> Select[Any]:
    query = select(IngredientLot)
    if component:
        query = query.where(func.lower(IngredientLot.component) == component.strip().lower())
    if status:
        query = query.where(IngredientLot.status == status)
    return query


def page_lots(
    component: str | None = None, status: str | None = None, cursor: Cursor | None = None
) -> Page[IngredientLot]:
    """Return one page of lots, newest received first, optionally of one component and status."""
    return read_page(_lots_query(component, status), IngredientLot.id, cursor or Cursor())


def usable_lots(component: str, today: date | None = None) -> list[IngredientLot]:
    """Return the released, in-date lots with stock of ``component``, first expiry first."""
    today = today or local_today()
    query = _lots_query(component, RELEASED).where(
        IngredientLot.expiry_date >= today, IngredientLot.quantity_on_hand > 0
    )
    lots = db.session.execute(query.order_by(IngredientLot.expiry_date, IngredientLot.id))
    return [lot for lot in lots.scalars() if is_usable(lot, today)]


@atomic
def receive_lot(data: dict, actor: User | None, today: date | None = None) -> IngredientLot:
    """Record a received lot in quarantine (SPEC ingredient lot body).

    Assay and LOD are optional here (a nonsterile excipient has none) but must be sensible
    numbers when given; the release specification is checked at release.

    :raise ValidationFailed: every field error at once.
    """
    if not isinstance(data, dict):
        raise ValidationFailed({"": "The lot must be a JSON object."})
    errors: dict[str, str] = {}
    texts: dict[str, str] = {}
    for field, limit in _TEXT_LIMITS.items():
        value = data.get(field)
        required = field != "coa_reference"
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors[field] = "This field is required."
            texts[field] = ""
            continue
        if not isinstance(value, str):
            errors[field] = "Enter some text."
            continue
        value = value.strip()
        if len(value) > limit:
            errors[field] = f"At most {limit} characters ({len(value)})."
            continue
        texts[field] = value

    expiry_text = data.get("expiry")
    expiry_date = None
    try:
        expiry_date = parse_expiry_text(expiry_text)
    except DomainError as exc:
        errors["expiry"] = exc.message
    else:
        if expiry_date < (today or local_today()):
            errors["expiry"] = (
                f"This lot expired on {expiry_date.isoformat()}; "
                "an expired lot cannot be received into stock."
            )

    quantity = _number(data.get("quantity"), "quantity", errors)
    if quantity is not None and quantity <= 0:
        errors["quantity"] = "The quantity must be more than 0."
    elif quantity is not None and quantity > MAX_QUANTITY:
        # The column is NUMERIC(14, 4); 2^63 used to overflow it (issue 13).
        errors["quantity"] = f"The quantity must be at most {MAX_QUANTITY:,}."
    elif quantity is not None and quantity != quantity.quantize(Decimal("0.0001")):
        errors["quantity"] = "Give the quantity to at most 4 decimals."
    unit = data.get("unit")
    if unit not in LOT_UNITS:
        errors["unit"] = f"Choose one of: {', '.join(LOT_UNITS)}."

    percents: dict[str, Decimal | None] = {}
    for field, label in (("assay_percent", "assay"), ("lod_percent", "loss on drying")):
        value = data.get(field)
        if value is None or value == "":
            percents[field] = None
            continue
        number = _number(value, field, errors)
        if number is not None and not Decimal(0) <= number < Decimal(1000):
            errors[field] = f"Enter the {label} as a percentage from 0."
            number = None
        if number is not None and field == "lod_percent" and number >= 100:
            errors[field] = "Loss on drying must be below 100 %."
            number = None
        percents[field] = number

    if errors:
        raise ValidationFailed(errors)
    lot = IngredientLot(
        component=texts["component"],
        manufacturer=texts["manufacturer"],
        lot=texts["lot"],
        expiry=str(expiry_text).strip(),  # parse_expiry_text accepted it: a string
        expiry_date=expiry_date,
        quantity_received=quantity,
        quantity_on_hand=quantity,
        unit=unit,
        assay_percent=percents["assay_percent"],
        lod_percent=percents["lod_percent"],
        coa_reference=texts["coa_reference"],
        status=QUARANTINE,
        received_dt=now_utc(),
        received_by_id=actor.id if actor else None,
    )
    db.session.add(lot)
    db.session.flush()
    audit.record(
        "ingredient_lot.received", "ingredient_lot", lot.id, actor=actor, after=_snapshot(lot)
    )
    db.session.commit()
    return lot


@atomic
def release_lot(lot_id: Any, actor: User | None, today: date | None = None) -> IngredientLot:
    """Release a quarantined lot after checking its specification (SPEC 2.5-2.6).

    :raise DomainError: field ``id``, no such lot; field ``expiry``, it has expired.
    :raise ConflictError: the lot is not in quarantine.
    :raise ValidationFailed: naming each failed spec (assay_percent, lod_percent,
        coa_reference).
    """
    lot = get_lot(lot_id)
    if lot.status != QUARANTINE:
        raise ConflictError(
            "status", f"Lot {lot.lot} is {lot.status}; only a lot in quarantine can be released."
        )
    if is_expired(lot, today):
        raise DomainError("expiry", f"Lot {lot.lot} expired on {lot.expiry_date.isoformat()}.")
    check_release(
        is_active_component(lot.component), lot.assay_percent, lot.lod_percent, lot.coa_reference
    )
    lot.status = RELEASED
    lot.released_dt = now_utc()
    lot.released_by_id = actor.id if actor else None
    audit.record(
        "ingredient_lot.released",
        "ingredient_lot",
        lot.id,
        actor=actor,
        before={"status": QUARANTINE},
        after={"status": RELEASED},
    )
    db.session.commit()
    return lot


@atomic
def reject_lot(lot_id: Any, reason: Any, actor: User | None) -> IngredientLot:
    """Reject a lot (in quarantine or released) with a reason; it can no longer be used.

    :raise DomainError: no such lot, or field ``reason`` empty.
    :raise ConflictError: already rejected or recalled.
    """
    lot = get_lot(lot_id)
    if not isinstance(reason, str) or not reason.strip():
        raise DomainError("reason", "Give a reason for rejecting the lot.")
    if lot.status not in (QUARANTINE, RELEASED):
        raise ConflictError("status", f"Lot {lot.lot} is already {lot.status}.")
    before = lot.status
    lot.status = REJECTED
    lot.status_reason = reason.strip()[:2000]
    audit.record(
        "ingredient_lot.rejected",
        "ingredient_lot",
        lot.id,
        actor=actor,
        before={"status": before},
        after={"status": REJECTED, "reason": lot.status_reason},
    )
    db.session.commit()
    return lot


def to_dict(
    lot: IngredientLot, today: date | None = None, actives: set[str] | None = None
) -> dict[str, Any]:
    """Return the API form of a lot (SPEC: lot with ``quantity_on_hand``); a list passes
    ``actives`` (:func:`active_components`) read once for its page."""
    return {
        "id": lot.id,
        "component": lot.component,
        "manufacturer": lot.manufacturer,
        "lot": lot.lot,
        "expiry": lot.expiry,
        "expiry_date": lot.expiry_date.isoformat(),
        "expired": is_expired(lot, today),
        "quantity_received": json_decimal(lot.quantity_received),
        "quantity_on_hand": json_decimal(lot.quantity_on_hand),
        "unit": lot.unit,
        "assay_percent": None if lot.assay_percent is None else json_decimal(lot.assay_percent),
        "lod_percent": None if lot.lod_percent is None else json_decimal(lot.lod_percent),
        "coa_reference": lot.coa_reference,
        "status": lot.status,
        "status_reason": lot.status_reason or None,
        "is_active": is_active_component(lot.component, actives),
        "received_at": lot.received_dt.isoformat() if lot.received_dt else None,
        "released_at": lot.released_dt.isoformat() if lot.released_dt else None,
    }


MAX_QUANTITY = Decimal(1_000_000_000)  # below NUMERIC(14, 4)'s 10^10


def _number(value: Any, field: str, errors: dict[str, str]) -> Decimal | None:
    try:
        return parse_decimal(value, field)
    except DomainError as exc:
        errors[field] = "This field is required." if value is None else exc.message
        return None


def _snapshot(lot: IngredientLot) -> dict[str, Any]:
    return {
        "component": lot.component,
        "manufacturer": lot.manufacturer,
        "lot": lot.lot,
        "expiry": lot.expiry,
        "quantity": lot.quantity_received,
        "unit": lot.unit,
        "assay_percent": lot.assay_percent,
        "lod_percent": lot.lod_percent,
        "coa_reference": lot.coa_reference,
        "status": lot.status,
    }
