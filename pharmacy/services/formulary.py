"""Master formulation records: create, edit (versioned), retire and activate (SPEC 2.5).

A formulation ``code`` names a product; each row is one version of it. The current version
of a code is its highest ``version``. Editing a version that no batch used updates it in
place; editing a version a batch used adds ``version + 1`` and marks the old row
``superseded`` so that exactly one row per code is ``active`` or ``retired``; old batches
keep pointing at the version they were made from.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from pharmacy.domain.errors import ConflictError, DomainError
from pharmacy.domain.formulation import DEFAULT_IN_USE_DAYS, FormulationSpec, parse_formulation
from pharmacy.domain.units import json_decimal
from pharmacy.extensions import db
from pharmacy.models import Batch, Formulation, FormulationIngredient, User
from pharmacy.services import audit
from pharmacy.services.errors import NotFound
from pharmacy.services.tx import atomic

ACTIVE = "active"
RETIRED = "retired"
SUPERSEDED = "superseded"

_FIELDS = (
    "name",
    "drug",
    "concentration_mcg_per_ml",
    "vial_volume_ml",
    "container",
    "overfill_ml",
    "category",
    "sterilization",
    "sterility_tested",
    "nonsterile_components",
    "storage",
    "protect_from_light",
    "in_use_days",
    "gtin",
    "procedure",
    "equipment",
)


def current(code: str) -> Formulation | None:
    """Return the current (highest) version of ``code``, whatever its status."""
    if not isinstance(code, str) or not code.strip():
        return None
    return db.session.execute(
        select(Formulation)
        .where(Formulation.code == code.strip().upper())
        .order_by(Formulation.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def get_formulation(code: str) -> Formulation:
    """Return the current version of ``code`` (see :func:`current`).

    :raise NotFound: no formulation has this code.
    """
    formulation = current(code)
    if formulation is None:
        raise NotFound(f"No formulation {code!r}.")
    return formulation


def get_active(code: str) -> Formulation | None:
    """Return the current version of ``code`` if it is active (batches are made from it)."""
    formulation = current(code)
    return formulation if formulation is not None and formulation.status == ACTIVE else None


def list_formulations(include_retired: bool = False) -> list[Formulation]:
    """Return the current version of each code, active ones only unless asked otherwise."""
    statuses = (ACTIVE, RETIRED) if include_retired else (ACTIVE,)
    return list(
        db.session.execute(
            select(Formulation)
            .where(Formulation.status.in_(statuses))
            .order_by(Formulation.status, Formulation.vial_volume_ml, Formulation.code)
        ).scalars()
    )


def versions(code: str) -> list[Formulation]:
    """Return every version of ``code``, newest first."""
    return list(
        db.session.execute(
            select(Formulation).where(Formulation.code == code).order_by(Formulation.version.desc())
        ).scalars()
    )


def batch_count(formulation: Formulation) -> int:
    """Return how many batches were made from this version."""
    return db.session.execute(
        select(func.count()).select_from(Batch).where(Batch.formulation_id == formulation.id)
    ).scalar_one()


def to_spec(formulation: Formulation) -> FormulationSpec:
    """Return the stored version as the domain's checked spec (for worksheets and BUDs)."""
    return parse_formulation(to_body(formulation))


def to_body(formulation: Formulation) -> dict[str, Any]:
    """Return the SPEC formulation body of a stored version (Decimals kept exact)."""
    body: dict[str, Any] = {"code": formulation.code}
    for name in _FIELDS:
        body[name] = getattr(formulation, name)
    body["procedure"] = list(formulation.procedure or [])
    body["equipment"] = list(formulation.equipment or [])
    body["in_use_days"] = _in_use_days(formulation)
    body["ingredients"] = [
        {
            "component": item.component,
            "amount": item.amount,
            "unit": item.unit,
            "active": item.active,
        }
        for item in formulation.ingredients
    ]
    return body


@atomic
def create_formulation(data: dict, actor: User | None) -> Formulation:
    """Create version 1 of a new formulation code from a SPEC formulation body.

    :raise ValidationFailed: the body breaks a rule (every field error at once).
    :raise ConflictError: field ``code``, the code already exists (edit it instead).
    """
    spec = parse_formulation(data)
    if current(spec.code) is not None:
        raise ConflictError(
            "code", f"Formulation {spec.code} already exists; edit it to make a new version."
        )
    formulation = Formulation(
        code=spec.code, version=1, status=ACTIVE, created_by_id=actor.id if actor else None
    )
    _apply(formulation, spec)
    db.session.add(formulation)
    db.session.flush()
    audit.record(
        "formulation.created",
        "formulation",
        formulation.id,
        actor=actor,
        after=_snapshot(formulation),
    )
    db.session.commit()
    return formulation


@atomic
def update_formulation(code: str, data: dict, actor: User | None) -> Formulation:
    """Edit a formulation: in place when no batch used it, else as a new version.

    The body's ``code`` may be left out; if given it must be the same code.

    :raise DomainError: field ``code``, unknown code or a different code in the body.
    :raise ValidationFailed: the body breaks a rule.
    """
    existing = current(code)
    if existing is None:
        raise DomainError("code", f"No formulation {code!r}.")
    body = dict(data)
    body.setdefault("code", existing.code)
    if isinstance(body["code"], str) and body["code"].strip().upper() != existing.code:
        raise DomainError("code", "The code of a formulation cannot change; create a new one.")
    spec = parse_formulation(body)
    before = _snapshot(existing)
    if batch_count(existing):
        formulation = Formulation(
            code=existing.code,
            version=existing.version + 1,
            status=existing.status,
            created_by_id=actor.id if actor else None,
        )
        _apply(formulation, spec)
        existing.status = SUPERSEDED
        db.session.add(formulation)
        db.session.flush()
        audit.record(
            "formulation.versioned",
            "formulation",
            formulation.id,
            actor=actor,
            before=before,
            after=_snapshot(formulation),
        )
    else:
        formulation = existing
        _apply(formulation, spec)
        db.session.flush()
        audit.record(
            "formulation.updated",
            "formulation",
            formulation.id,
            actor=actor,
            before=before,
            after=_snapshot(formulation),
        )
    db.session.commit()
    return formulation


@atomic
def set_status(code: str, status: str, actor: User | None) -> Formulation:
    """Retire or re-activate the current version of ``code``.

    :raise DomainError: unknown code or status.
    :raise ConflictError: it already has that status.
    """
    if status not in (ACTIVE, RETIRED):
        raise DomainError("status", "Choose active or retired.")
    formulation = current(code)
    if formulation is None:
        raise DomainError("code", f"No formulation {code!r}.")
    if formulation.status == status:
        raise ConflictError("status", f"Formulation {formulation.code} is already {status}.")
    before = formulation.status
    formulation.status = status
    audit.record(
        "formulation.retired" if status == RETIRED else "formulation.activated",
        "formulation",
        formulation.id,
        actor=actor,
        before={"status": before},
        after={"status": status},
    )
    db.session.commit()
    return formulation


def to_dict(formulation: Formulation) -> dict[str, Any]:
    """Return the API form of a formulation version (SPEC formulation body plus its state)."""
    data: dict[str, Any] = {
        "id": formulation.id,
        "code": formulation.code,
        "version": formulation.version,
        "status": formulation.status,
        "name": formulation.name,
        "drug": formulation.drug,
        "concentration_mcg_per_ml": json_decimal(formulation.concentration_mcg_per_ml),
        "vial_volume_ml": json_decimal(formulation.vial_volume_ml),
        "container": formulation.container,
        "overfill_ml": json_decimal(formulation.overfill_ml),
        "category": formulation.category,
        "sterilization": formulation.sterilization,
        "sterility_tested": formulation.sterility_tested,
        "nonsterile_components": formulation.nonsterile_components,
        "storage": formulation.storage,
        "protect_from_light": formulation.protect_from_light,
        "in_use_days": _in_use_days(formulation),
        "gtin": formulation.gtin,
        "procedure": list(formulation.procedure or []),
        "equipment": list(formulation.equipment or []),
        "ingredients": [
            {
                "component": item.component,
                "amount": None if item.amount is None else json_decimal(item.amount),
                "unit": item.unit,
                "active": item.active,
            }
            for item in formulation.ingredients
        ],
        "created_at": formulation.created_dt.isoformat() if formulation.created_dt else None,
    }
    return data


def active_components() -> set[str]:
    """Return the casefolded names of every formulation's active ingredient (any version)."""
    names = db.session.execute(
        select(FormulationIngredient.component).where(FormulationIngredient.active.is_(True))
    ).scalars()
    return {name.strip().casefold() for name in names}


def known_components() -> list[str]:
    """Return every component named by a formulation, for pick lists (first spelling wins)."""
    seen: dict[str, str] = {}
    for name in db.session.execute(
        select(FormulationIngredient.component).order_by(FormulationIngredient.id)
    ).scalars():
        seen.setdefault(name.strip().casefold(), name.strip())
    return sorted(seen.values(), key=str.casefold)


def _in_use_days(formulation: Formulation) -> int | None:
    """Return the in-use days, None for single-dose vials (the column holds the default)."""
    return formulation.in_use_days if formulation.container == "multiple-dose" else None


def _apply(formulation: Formulation, spec: FormulationSpec) -> None:
    """Copy a checked spec onto a row, replacing its ingredient lines."""
    for name in _FIELDS:
        value = getattr(spec, name)
        setattr(formulation, name, list(value) if isinstance(value, tuple) else value)
    if spec.in_use_days is None:
        # The column is NOT NULL; single-dose rows keep the default, which nothing reads.
        formulation.in_use_days = DEFAULT_IN_USE_DAYS
    formulation.ingredients = [
        FormulationIngredient(
            position=index,
            component=item.component,
            amount=item.amount,
            unit=item.unit,
            active=item.active,
        )
        for index, item in enumerate(spec.ingredients)
    ]


def _snapshot(formulation: Formulation) -> dict[str, Any]:
    """Return what the audit trail keeps of a version."""
    data = to_body(formulation)
    data["version"] = formulation.version
    data["status"] = formulation.status
    return data
