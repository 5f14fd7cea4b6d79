"""Compounded batches: plan and record a batch, sterility test, release, reject (SPEC 2.4-2.5).

:func:`compound_batch` is one transaction: it checks the request, builds the worksheet from
the formulation's current active version and the active lot's certificate of analysis,
draws every worksheet amount from its ingredient lot with a conditional UPDATE
(``quantity_on_hand >= amount``), numbers the batch and stores it with its BUD; if any
step fails nothing is written.

What is drawn: the worksheet's ``weigh`` amount converted to the lot's unit and rounded up
to the column's 0.0001, so stock is never over-stated. The q.s. vehicle draws the whole
batch volume: an upper bound of what "q.s. to volume" can use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_CEILING, Decimal
from typing import Any, cast

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from labels.worksheet import CHECKS, WorksheetDocument, WorksheetRow, render_worksheet
from pharmacy.database import rows_updated
from pharmacy.domain.bud import Bud, Expiry, beyond_use
from pharmacy.domain.dates import check_compounded_at, check_sterility_completed
from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.domain.formulation import FormulationSpec
from pharmacy.domain.lots import DEFAULT_BATCH_PREFIX, batch_lot_number, next_batch_sequence
from pharmacy.domain.units import json_decimal, plain_decimal
from pharmacy.domain.worksheet import Coa, WorksheetLine, convert_amount, worksheet
from pharmacy.extensions import db
from pharmacy.models import (
    Batch,
    BatchComponent,
    Fill,
    FillAllocation,
    FillVial,
    Formulation,
    IngredientLot,
    Order,
    Patient,
    User,
    now_utc,
)
from pharmacy.services import audit
from pharmacy.services import formulary as formulary_service
from pharmacy.services import lots as lot_service
from pharmacy.services.errors import NotFound
from pharmacy.services.paging import (
    Cursor,
    DateKey,
    MomentKey,
    Page,
    read_page,
    read_stretch,
)
from pharmacy.services.settings import get_settings, pharmacy_zone
from pharmacy.services.tx import atomic

QUARANTINE = "quarantine"
RELEASED = "released"
REJECTED = "rejected"
RECALLED = "recalled"
PENDING = "pending"
PASSED = "passed"
FAILED = "failed"

MAX_VIALS = 10000
DRAW_QUANTUM = Decimal("0.0001")  # the ingredient_lots.quantity_on_hand scale
LOT_NUMBER_ATTEMPTS = 5


@dataclass(frozen=True)
class Draw:
    """One worksheet line and the lot it is drawn from, in the lot's unit."""

    line: WorksheetLine
    lot: IngredientLot
    amount: Decimal  # in lot.unit


@dataclass(frozen=True)
class BatchPlan:
    """A checked batch request: what would be compounded, weighed and drawn, and its BUD."""

    formulation: Formulation
    spec: FormulationSpec
    vials: int
    compounded_dt: datetime
    draws: tuple[Draw, ...]
    bud: Bud


def parse_moment(value: Any, field: str, what: str) -> datetime | None:
    """Read an ISO 8601 date-time; without an offset it is pharmacy local time (aware UTC out).

    :param what: what the time is, for the message (``the compounding time``).
    :return: None for a missing or empty value.
    :raise DomainError: ``field``, not a date-time.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise DomainError(
                field, f"Enter {what} as an ISO date-time, e.g. 2026-12-01T09:30."
            ) from None
    else:
        raise DomainError(field, f"Enter {what} as an ISO date-time.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=pharmacy_zone())
    return moment.astimezone(UTC)


def parse_compounded_at(value: Any, now: datetime | None = None) -> datetime:
    """Read ``compounded_at`` (ISO 8601; without an offset it is pharmacy local time).

    :raise DomainError: field ``compounded_at``, not a date-time, in the future or longer
        ago than the settings allow (SPEC 5.3).
    """
    now = now or now_utc()
    moment = parse_moment(value, "compounded_at", "the compounding time")
    if moment is None:
        return now
    problem = check_compounded_at(moment, now, max_age_days=get_settings().max_compounded_age_days)
    if problem is not None:
        raise problem
    return moment


def plan_batch(data: dict, now: datetime | None = None) -> BatchPlan:
    """Check a batch request and work out its worksheet, draws and BUD, writing nothing.

    :raise ValidationFailed: bad fields (``formulation``, ``vials``, ``compounded_at``,
        ``ingredient_lots``), all found at once where they are independent.
    :raise ConflictError: field ``ingredient_lots``, a lot that is not released, has
        expired, or holds less than the batch needs.
    :raise DomainError: a rule of the core (e.g. the active lot has no assay).
    """
    if not isinstance(data, dict):
        raise ValidationFailed({"": "The batch must be a JSON object."})
    now = now or now_utc()
    errors: dict[str, str] = {}

    code = data.get("formulation")
    formulation = None
    if not isinstance(code, str) or not code.strip():
        errors["formulation"] = "Choose a formulation (its code)."
    else:
        formulation = formulary_service.current(code)
        if formulation is None:
            errors["formulation"] = f"No formulation {code.strip()!r}."
        elif formulation.status != formulary_service.ACTIVE:
            errors["formulation"] = f"Formulation {formulation.code} is retired."
            formulation = None

    vials = data.get("vials")
    if isinstance(vials, str) and vials.strip().isdigit():
        vials = int(vials.strip())
    if isinstance(vials, bool) or not isinstance(vials, int):
        errors["vials"] = "Enter the number of vials (a whole number of at least 1)."
        vials = None
    elif not 1 <= vials <= MAX_VIALS:
        errors["vials"] = f"A batch has 1 to {MAX_VIALS} vials."
        vials = None

    compounded_dt = None
    try:
        compounded_dt = parse_compounded_at(data.get("compounded_at"), now)
    except DomainError as exc:
        errors[exc.field] = exc.message

    lot_ids = data.get("ingredient_lots")
    lots: list[IngredientLot] = []
    if not isinstance(lot_ids, list) or not lot_ids:
        errors["ingredient_lots"] = "List one ingredient lot id for each ingredient."
    else:
        seen: set[int] = set()
        for raw in lot_ids:
            try:
                lot = lot_service.get_lot(raw)
            except NotFound as exc:
                errors["ingredient_lots"] = exc.message
                break
            if lot.id in seen:
                errors["ingredient_lots"] = f"Lot {lot.lot} (id {lot.id}) is listed twice."
                break
            seen.add(lot.id)
            lots.append(lot)

    if errors:
        raise ValidationFailed(errors)
    # No errors: each of these was read.
    assert formulation is not None and vials is not None and compounded_dt is not None

    spec = formulary_service.to_spec(formulation)
    by_component = _match_lots(spec, lots)
    local_day = compounded_dt.astimezone(pharmacy_zone()).date()
    for lot in by_component.values():
        if lot.status != lot_service.RELEASED:
            raise ConflictError(
                "ingredient_lots",
                f"Lot {lot.lot} ({lot.component}) is {lot.status}; only released lots can be used.",
            )
        if lot.expiry_date < local_day:
            raise ConflictError(
                "ingredient_lots",
                f"Lot {lot.lot} ({lot.component}) expired on {lot.expiry_date.isoformat()}.",
            )

    active_lot = by_component[spec.active.component.casefold()]
    if active_lot.assay_percent is None or active_lot.lod_percent is None:
        raise DomainError(
            "ingredient_lots",
            f"Active lot {active_lot.lot} has no assay or loss on drying recorded.",
        )
    lines = worksheet(spec, vials, active_coa=Coa(active_lot.assay_percent, active_lot.lod_percent))

    draws = []
    for line in lines:
        lot = by_component[line.component.casefold()]
        try:
            amount = convert_amount(line.weigh, line.unit, lot.unit)
        except DomainError as exc:
            raise DomainError("ingredient_lots", f"Lot {lot.lot}: {exc.message}") from None
        amount = amount.quantize(DRAW_QUANTUM, rounding=ROUND_CEILING)
        if amount > lot.quantity_on_hand:
            raise ConflictError(
                "ingredient_lots",
                f"Lot {lot.lot} ({lot.component}) has {plain_decimal(lot.quantity_on_hand)} {lot.unit} "
                f"on hand; this batch needs {plain_decimal(amount)} {lot.unit}.",
            )
        draws.append(Draw(line, lot, amount))

    expiries = [Expiry(lot.lot, lot.expiry_date) for lot in by_component.values()]
    bud = beyond_use(spec.preparation, compounded_dt, expiries, pharmacy_zone())
    return BatchPlan(formulation, spec, vials, compounded_dt, tuple(draws), bud)


@atomic
def compound_batch(data: dict, actor: User | None, now: datetime | None = None) -> Batch:
    """Record a compounded batch and draw its ingredients, all or nothing.

    :raise ValidationFailed, DomainError, ConflictError: see :func:`plan_batch`; also a
        ConflictError when another batch took the stock first.
    """
    plan = plan_batch(data, now)
    for draw in plan.draws:
        result = db.session.execute(
            update(IngredientLot)
            .where(
                IngredientLot.id == draw.lot.id,
                IngredientLot.status == lot_service.RELEASED,
                IngredientLot.quantity_on_hand >= draw.amount,
            )
            .values(quantity_on_hand=IngredientLot.quantity_on_hand - draw.amount)
            .execution_options(synchronize_session=False)
        )
        if rows_updated(result) != 1:
            raise ConflictError(
                "ingredient_lots",
                f"Lot {draw.lot.lot} ({draw.lot.component}) no longer holds "
                f"{plain_decimal(draw.amount)} {draw.lot.unit}; another batch drew it first.",
            )
    batch = _insert_batch(plan, actor)
    for position, draw in enumerate(plan.draws):
        batch.components.append(
            BatchComponent(
                position=position,
                ingredient_lot_id=draw.lot.id,
                component=draw.line.component,
                required=draw.line.required,
                weigh=draw.line.weigh,
                unit=draw.line.unit,
                drawn=draw.amount,
            )
        )
    db.session.flush()
    audit.record(
        "batch.compounded",
        "batch",
        batch.lot_number,
        actor=actor,
        after={
            "formulation": plan.formulation.code,
            "version": plan.formulation.version,
            "vials": batch.vials,
            "compounded_at": batch.compounded_dt,
            "bud": batch.bud_dt,
            "bud_limited_by": batch.bud_limited_by,
            "draws": [
                {
                    "ingredient_lot_id": d.lot.id,
                    "lot": d.lot.lot,
                    "amount": d.amount,
                    "unit": d.lot.unit,
                }
                for d in plan.draws
            ],
        },
    )
    db.session.commit()
    return batch


def _insert_batch(plan: BatchPlan, actor: User | None) -> Batch:
    """Insert the batch under the next lot number of its day, retrying on a clash."""
    day = plan.compounded_dt.astimezone(pharmacy_zone()).date()
    stem = f"{DEFAULT_BATCH_PREFIX}{day:%y%m%d}-"
    for _ in range(LOT_NUMBER_ATTEMPTS):
        existing = db.session.execute(
            select(Batch.lot_number).where(Batch.lot_number.like(f"{stem}%"))
        ).scalars()
        lot_number = batch_lot_number(
            DEFAULT_BATCH_PREFIX, day, next_batch_sequence(existing, DEFAULT_BATCH_PREFIX, day)
        )
        batch = Batch(
            lot_number=lot_number,
            formulation_id=plan.formulation.id,
            vials=plan.vials,
            vials_available=plan.vials,
            compounded_dt=plan.compounded_dt,
            bud_dt=plan.bud.at,
            bud_limited_by=plan.bud.limited_by,
            bud_rule=plan.bud.rule[:160],
            status=QUARANTINE,
            sterility_test=PENDING if plan.spec.sterility_tested else None,
            compounded_by_id=actor.id if actor else None,
            created_dt=now_utc(),
        )
        savepoint = db.session.begin_nested()
        db.session.add(batch)
        try:
            db.session.flush()
        except IntegrityError:
            # Another counter numbered a batch of the same day between our read and insert.
            savepoint.rollback()
            continue
        savepoint.commit()
        return batch
    raise ConflictError("lot_number", "Could not number the batch; please try again.")


def get_batch(lot_number: str) -> Batch:
    """Return the batch with this lot number (case-insensitive input).

    :raise NotFound: no such batch.
    """
    batch = None
    if isinstance(lot_number, str) and lot_number.strip():
        batch = db.session.execute(
            select(Batch).where(Batch.lot_number == lot_number.strip().upper())
        ).scalar_one_or_none()
    if batch is None:
        raise NotFound(f"No batch {lot_number!r}.")
    return batch


BATCH_STATUSES = (QUARANTINE, RELEASED, "rejected", "recalled")


def list_batches(
    status: str | None = None,
    formulation: str | None = None,
    *,
    compounded_from: date | None = None,
    compounded_to: date | None = None,
    cursor: Cursor | None = None,
) -> Page[Batch]:
    """Return one page of batches, newest first, filtered by status, formulation code and
    the local compounding date range.

    Each batch's formulation, worksheet lines and their lots come in three more statements
    for the whole page (the page used to load each batch's worksheet on its own).

    :raise DomainError: an unknown status.
    """
    query = select(Batch)
    if status:
        if status not in BATCH_STATUSES:
            raise DomainError("status", "Status must be one of " + ", ".join(BATCH_STATUSES) + ".")
        query = query.where(Batch.status == status)
    if formulation:
        code = formulation.strip().upper()
        query = query.where(
            Batch.formulation_id.in_(select(Formulation.id).where(Formulation.code == code))
        )
    zone = pharmacy_zone()
    if compounded_from is not None:
        start = datetime.combine(compounded_from, time.min, zone)
        query = query.where(Batch.compounded_dt >= start)
    if compounded_to is not None:
        end = datetime.combine(compounded_to + timedelta(days=1), time.min, zone)
        query = query.where(Batch.compounded_dt < end)
    query = query.options(
        selectinload(Batch.formulation).selectinload(Formulation.ingredients),
        selectinload(Batch.components).selectinload(BatchComponent.ingredient_lot),
    )
    return read_page(query, Batch.id, cursor or Cursor())


def is_expired(batch: Batch, now: datetime | None = None) -> bool:
    """Tell whether the batch's BUD has passed."""
    return batch.bud_dt <= (now or now_utc())


@dataclass(frozen=True)
class HeldFill:
    """A live fill holding vials of the batch, as its page lists it."""

    id: int
    fill_number: int
    status: str
    rx_number: str
    first_name: str
    last_name: str
    serials: list[int]


@dataclass(frozen=True)
class BatchVials:
    """Where a batch's vials are: one page of the live fills holding some, and the serials
    still on the shelf."""

    fills: Page[HeldFill]
    free: list[int]


def batch_vials(batch: Batch, cursor: Cursor | None = None) -> BatchVials:
    """Return the serials of ``batch`` still on the shelf and one page of the live (not
    voided) fills holding the others, newest fill first.

    Two statements whatever the batch's history: its live serials (at most ``batch.vials``
    rows), then the page of fills with their order and patient joined.
    """
    held = db.session.execute(
        select(FillAllocation.fill_id, FillVial.serial)
        .join(FillAllocation, FillVial.allocation_id == FillAllocation.id)
        .where(FillVial.batch_id == batch.id, FillVial.returned.is_(False))
        .order_by(FillVial.serial)
    ).all()
    serials: dict[int, list[int]] = {}
    for fill_id, serial in held:
        serials.setdefault(fill_id, []).append(serial)
    taken = {serial for _, serial in held}
    live = (
        select(FillAllocation.fill_id)
        .join(FillVial, FillVial.allocation_id == FillAllocation.id)
        .where(FillVial.batch_id == batch.id, FillVial.returned.is_(False))
    )
    stmt = (
        select(
            Fill.id,
            Fill.fill_number,
            Fill.status,
            Order.rx_number,
            Patient.first_name,
            Patient.last_name,
        )
        .join(Order, Order.id == Fill.order_id)
        .join(Patient, Patient.id == Order.patient_id)
        .where(Fill.id.in_(live))
    )
    page = read_page(cast("Select[Any]", stmt), Fill.id, cursor or Cursor(), scalars=False)
    rows = [HeldFill(**row._asdict(), serials=serials.get(row.id, [])) for row in page.items]
    return BatchVials(
        fills=Page(rows, page.older, page.newer, page.limit),
        free=[s for s in range(1, batch.vials + 1) if s not in taken],
    )


MAX_STERILITY_REFERENCE = 200


@atomic
def record_sterility(
    lot_number: str,
    result: Any,
    actor: User | None,
    *,
    completed_at: Any = None,
    reference: Any = None,
    now: datetime | None = None,
) -> Batch:
    """Record a sterility test result (SPEC 5.6); a failed test rejects the batch.

    :param completed_at: when the laboratory completed the test (ISO date-time; default
        ``now``). A ``passed`` result needs ``sterility_incubation_days`` (USP <71>: 14)
        after compounding.
    :param reference: the laboratory report (optional text).
    :param now: the pharmacy's clock.
    :raise ValidationFailed: fields ``result``, ``completed_at``, ``reference``; nothing
        changes.
    :raise DomainError: unknown batch.
    :raise ConflictError: the formulation is not sterility tested, the result is already
        recorded, or the batch is no longer in quarantine.
    """
    now = now or now_utc()
    batch = get_batch(lot_number)
    errors: dict[str, str] = {}
    if result not in (PASSED, FAILED):
        errors["result"] = "Choose the result: 'passed' or 'failed'."
    completed = now
    try:
        completed = parse_moment(completed_at, "completed_at", "the completion time") or now
    except DomainError as exc:
        errors[exc.field] = exc.message
    if reference is None:
        reference = ""
    if not isinstance(reference, str):
        errors["reference"] = "The laboratory report reference is text."
    elif len(reference.strip()) > MAX_STERILITY_REFERENCE:
        errors["reference"] = (
            f"The laboratory report reference has at most {MAX_STERILITY_REFERENCE} characters."
        )
    if "completed_at" not in errors:
        problem = check_sterility_completed(
            result if isinstance(result, str) else "",
            completed,
            batch.compounded_dt,
            now,
            incubation_days=get_settings().sterility_incubation_days,
        )
        if problem is not None:
            errors[problem.field] = problem.message
    if errors:
        raise ValidationFailed(errors)
    if batch.sterility_test is None:
        raise ConflictError(
            "result", f"Batch {batch.lot_number}'s formulation is not sterility tested."
        )
    if batch.sterility_test != PENDING:
        raise ConflictError(
            "result",
            f"Batch {batch.lot_number}'s sterility test is already "
            f"recorded as {batch.sterility_test}.",
        )
    if batch.status != QUARANTINE:
        raise ConflictError("status", f"Batch {batch.lot_number} is {batch.status}.")
    before = {"sterility_test": batch.sterility_test, "status": batch.status}
    batch.sterility_test = result
    batch.sterility_recorded_dt = now
    batch.sterility_completed_dt = completed
    batch.sterility_reference = reference.strip()
    batch.sterility_recorded_by_id = actor.id if actor else None
    if result == FAILED:
        batch.status = REJECTED
        batch.status_reason = "Sterility test failed."
    audit.record(
        "batch.sterility_recorded",
        "batch",
        batch.lot_number,
        actor=actor,
        before=before,
        after={
            "sterility_test": result,
            "status": batch.status,
            "completed_at": completed,
            "reference": batch.sterility_reference,
        },
    )
    db.session.commit()
    return batch


@atomic
def release_batch(lot_number: str, actor: User | None, now: datetime | None = None) -> Batch:
    """Release a quarantined batch for dispensing.

    :raise DomainError: unknown batch.
    :raise ConflictError: not in quarantine (e.g. released twice), a required sterility
        test has not passed, or the BUD has passed.
    """
    batch = get_batch(lot_number)
    if batch.status != QUARANTINE:
        raise ConflictError(
            "status",
            f"Batch {batch.lot_number} is {batch.status}; only a "
            "batch in quarantine can be released.",
        )
    if batch.sterility_test is not None and batch.sterility_test != PASSED:
        raise ConflictError(
            "sterility_test",
            f"Batch {batch.lot_number} needs a passed "
            "sterility test before release "
            f"(it is {batch.sterility_test}).",
        )
    if is_expired(batch, now):
        raise ConflictError("bud", f"Batch {batch.lot_number} is past its BUD.")
    batch.status = RELEASED
    batch.released_dt = now_utc()
    batch.released_by_id = actor.id if actor else None
    audit.record(
        "batch.released",
        "batch",
        batch.lot_number,
        actor=actor,
        before={"status": QUARANTINE},
        after={"status": RELEASED},
    )
    db.session.commit()
    return batch


@atomic
def reject_batch(lot_number: str, reason: Any, actor: User | None) -> Batch:
    """Reject a batch (quarantined or released) with a reason; it is never allocated again.

    :raise DomainError: unknown batch, or field ``reason`` empty.
    :raise ConflictError: already rejected or recalled.
    """
    batch = get_batch(lot_number)
    if not isinstance(reason, str) or not reason.strip():
        raise DomainError("reason", "Give a reason for rejecting the batch.")
    if batch.status not in (QUARANTINE, RELEASED):
        raise ConflictError("status", f"Batch {batch.lot_number} is already {batch.status}.")
    before = batch.status
    batch.status = REJECTED
    batch.status_reason = reason.strip()[:2000]
    audit.record(
        "batch.rejected",
        "batch",
        batch.lot_number,
        actor=actor,
        before={"status": before},
        after={"status": REJECTED, "reason": batch.status_reason},
    )
    db.session.commit()
    return batch


def worksheet_rows(batch: Batch) -> list[dict[str, Any]]:
    """Return the stored worksheet lines with their lot numbers (Decimals kept)."""
    rows = []
    for component in batch.components:
        lot = component.ingredient_lot
        rows.append(
            {
                "component": component.component,
                "lot": lot.lot,
                "ingredient_lot_id": lot.id,
                "manufacturer": lot.manufacturer,
                "required": component.required,
                "weigh": component.weigh,
                "unit": component.unit,
                "drawn": component.drawn,
                "lot_unit": lot.unit,
                "qs": component.unit == "mL" and _is_qs(batch, component),
            }
        )
    return rows


def to_dict(batch: Batch, now: datetime | None = None) -> dict[str, Any]:
    """Return the API form of a batch (SPEC: lot_number, formulation, vials, bud ...)."""
    rows = worksheet_rows(batch)
    return {
        "lot_number": batch.lot_number,
        "formulation": batch.formulation.code,
        "formulation_version": batch.formulation.version,
        "formulation_name": batch.formulation.name,
        "vials": batch.vials,
        "vials_available": batch.vials_available,
        "compounded_at": batch.compounded_dt.isoformat(),
        "bud": batch.bud_dt.isoformat(),
        "bud_limited_by": batch.bud_limited_by,
        "bud_rule": batch.bud_rule,
        "status": batch.status,
        "status_reason": batch.status_reason or None,
        "expired": is_expired(batch, now),
        "sterility_test": batch.sterility_test,
        "sterility_completed_at": _iso(batch.sterility_completed_dt),
        "sterility_reference": batch.sterility_reference or None,
        "released_at": batch.released_dt.isoformat() if batch.released_dt else None,
        "worksheet": [
            {
                "component": row["component"],
                "lot": row["lot"],
                "required": json_decimal(row["required"]),
                "weigh": json_decimal(row["weigh"]),
                "unit": row["unit"],
            }
            for row in rows
        ],
        "components": [
            {
                "component": row["component"],
                "ingredient_lot_id": row["ingredient_lot_id"],
                "lot": row["lot"],
                "drawn": json_decimal(row["drawn"]),
                "unit": row["lot_unit"],
            }
            for row in rows
        ],
    }


def _sterility_text(batch: Batch, zone: tzinfo) -> str:
    """Return the worksheet's sterility line: the result, when it completed, the report."""
    if batch.sterility_test is None:
        return "not required"
    parts = [batch.sterility_test]
    if batch.sterility_completed_dt is not None:
        parts.append(
            "completed " + batch.sterility_completed_dt.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        )
    if batch.sterility_reference:
        parts.append(f"report {batch.sterility_reference}")
    return ", ".join(parts)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _is_qs(batch: Batch, component: BatchComponent) -> bool:
    return any(
        item.unit == "q.s." and item.component == component.component
        for item in batch.formulation.ingredients
    )


def _match_lots(spec: FormulationSpec, lots: list[IngredientLot]) -> dict[str, IngredientLot]:
    """Pair each ingredient with exactly one lot of the same component (case-insensitive).

    :raise DomainError: field ``ingredient_lots``, a lot of a component the formulation
        does not use, two lots for one ingredient, or an ingredient without a lot.
    """
    wanted = {item.component.casefold(): item.component for item in spec.ingredients}
    matched: dict[str, IngredientLot] = {}
    for lot in lots:
        key = lot.component.strip().casefold()
        if key not in wanted:
            raise DomainError(
                "ingredient_lots",
                f"Lot {lot.lot} is {lot.component}, which {spec.code} does not use "
                f"(it uses {', '.join(wanted.values())}).",
            )
        if key in matched:
            raise DomainError(
                "ingredient_lots",
                f"Give one lot per ingredient: {lot.component} has two "
                f"({matched[key].lot} and {lot.lot}).",
            )
        matched[key] = lot
    missing = [name for key, name in wanted.items() if key not in matched]
    if missing:
        raise DomainError("ingredient_lots", f"Choose a lot of {', '.join(missing)}.")
    return matched


# --- Read models for the compounding pages ---------------------------------------------------


STOCK_PAGE = 25  # rows on one page of each stock list (ingredient lots; batches)
EXPIRING_ROWS = 10  # rows of each "expiring soon" list, which also says how many there are


@dataclass(frozen=True)
class StockPositions:
    """Where each list of the stock page starts: after or before a position, or (``None``)
    at the first expiry. Each list pages on its own."""

    lots_after: DateKey | None = None
    lots_before: DateKey | None = None
    batches_after: MomentKey | None = None
    batches_before: MomentKey | None = None


@dataclass(frozen=True)
class Expiring:
    """The first ``EXPIRING_ROWS`` of what expires soon, first expiry first, and how many
    there are in all."""

    items: list[Any]
    total: int


def lot_position(lot: Any) -> DateKey:
    """Return an ingredient lot's place in the stock list: its expiry day, then its id."""
    return DateKey(lot.expiry_date, lot.id)


def batch_position(batch: Any) -> MomentKey:
    """Return a batch's place in the stock list: its BUD, then its id."""
    return MomentKey(batch.bud_dt, batch.id)


# The stock page reads the columns it shows as plain rows: whole ORM objects (each batch with
# its formulation's JSON procedure and equipment) cost the page more to load than to draw.
_LOT_COLUMNS: tuple[Any, ...] = (
    IngredientLot.id,
    IngredientLot.component,
    IngredientLot.manufacturer,
    IngredientLot.lot,
    IngredientLot.expiry,
    IngredientLot.expiry_date,
    IngredientLot.quantity_on_hand,
    IngredientLot.unit,
    IngredientLot.assay_percent,
    IngredientLot.lod_percent,
    IngredientLot.status,
)
_BATCH_COLUMNS: tuple[Any, ...] = (
    Batch.id,
    Batch.lot_number,
    Batch.vials,
    Batch.vials_available,
    Batch.bud_dt,
    Batch.bud_limited_by,
    Batch.status,
    Batch.sterility_test,
    Formulation.code.label("formulation_code"),
    Formulation.version.label("formulation_version"),
)


# Built once: composing a query of this many columns costs a page more than running it.
_LOTS_ON_HAND = select(*_LOT_COLUMNS).where(
    IngredientLot.status.in_((lot_service.QUARANTINE, lot_service.RELEASED)),
    IngredientLot.quantity_on_hand > 0,
)
_BATCHES_ON_HAND = (
    select(*_BATCH_COLUMNS)
    .join(Formulation, Batch.formulation_id == Formulation.id)
    .where(Batch.status.in_((QUARANTINE, RELEASED)), Batch.vials_available > 0)
)


def stock_summary(
    expiring_within_days: int,
    now: datetime | None = None,
    *,
    show: str = "in_date",
    positions: StockPositions | None = None,
) -> dict[str, Any]:
    """Return what the stock page shows: a page of lots and of batches on hand, and what
    expires soon.

    "On hand" = lots with quantity left that are not rejected or recalled, and batches with
    vials left in quarantine or released, and by default only those still in date;
    ``show="expired"`` lists the expired ones instead (stock to destroy). Each list is
    keyset-paged first expiry first (lot expiry day / batch BUD, then id), ``STOCK_PAGE``
    rows at a time, from its own position in ``positions``.

    "Expiring" = on hand, in date, and expiring within ``expiring_within_days``: read by
    queries of their own (not from the page shown), the first ``EXPIRING_ROWS`` of each
    with the number in all; none with ``show="expired"``. Whatever the history, the page
    runs two statements, four in date.
    """
    now = now or now_utc()
    positions = positions or StockPositions()
    today = lot_service.local_today(now)
    expired = show == "expired"
    lots_query = _LOTS_ON_HAND.where(
        IngredientLot.expiry_date < today if expired else IngredientLot.expiry_date >= today
    )
    lots = read_stretch(
        lots_query,
        IngredientLot.expiry_date,
        IngredientLot.id,
        after=positions.lots_after,
        before=positions.lots_before,
        limit=STOCK_PAGE,
        key=lot_position,
        scalars=False,
    )
    batches_query = _BATCHES_ON_HAND.where(Batch.bud_dt <= now if expired else Batch.bud_dt > now)
    on_hand = read_stretch(
        batches_query,
        Batch.bud_dt,
        Batch.id,
        after=positions.batches_after,
        before=positions.batches_before,
        limit=STOCK_PAGE,
        key=batch_position,
        scalars=False,
    )
    summary: dict[str, Any] = {
        "lots": lots,
        "batches": on_hand,
        "expiring_lots": Expiring([], 0),
        "expiring_batches": Expiring([], 0),
        "today": today,
        "now": now,
        "show": "expired" if expired else "in_date",
    }
    if not expired:
        horizon = now + timedelta(days=expiring_within_days)
        summary["expiring_lots"], summary["expiring_batches"] = _expiring(now, today, horizon)
    return summary


def _expiring(now: datetime, today: date, horizon: datetime) -> tuple[Expiring, Expiring]:
    """Return the lots and batches on hand and in date that expire by ``horizon``.

    Each is one statement: a window count gives the number in all beside the first rows.
    """
    total = func.count().over()
    last_day = horizon.astimezone(pharmacy_zone()).date()
    lot_rows = db.session.execute(
        _LOTS_ON_HAND.add_columns(total)
        .where(IngredientLot.expiry_date >= today, IngredientLot.expiry_date <= last_day)
        .order_by(IngredientLot.expiry_date, IngredientLot.id)
        .limit(EXPIRING_ROWS)
    ).all()
    batch_rows = db.session.execute(
        _BATCHES_ON_HAND.add_columns(total)
        .where(Batch.bud_dt > now, Batch.bud_dt <= horizon)
        .order_by(Batch.bud_dt, Batch.id)
        .limit(EXPIRING_ROWS)
    ).all()
    return (
        Expiring(list(lot_rows), lot_rows[0][-1] if lot_rows else 0),
        Expiring(list(batch_rows), batch_rows[0][-1] if batch_rows else 0),
    )


def lot_choices(formulation: Formulation, now: datetime | None = None) -> list[dict[str, Any]]:
    """Return, per ingredient, the released in-date lots with stock to choose from."""
    today = lot_service.local_today(now)
    return [
        {"index": index, "ingredient": item, "lots": lot_service.usable_lots(item.component, today)}
        for index, item in enumerate(formulation.ingredients)
    ]


def batches_using_lot(lot: IngredientLot) -> list[Batch]:
    """Return the batches that drew from an ingredient lot, newest first."""
    return list(
        db.session.execute(
            select(Batch)
            .join(BatchComponent, BatchComponent.batch_id == Batch.id)
            .where(BatchComponent.ingredient_lot_id == lot.id)
            .order_by(Batch.compounded_dt.desc())
        ).scalars()
    )


def worksheet_document(batch: Batch) -> WorksheetDocument:
    """Return the plain data the worksheet PDF and page print for ``batch``."""
    zone = pharmacy_zone()
    formulation = batch.formulation
    per_vial = formulation.vial_volume_ml + formulation.overfill_ml
    rows = []
    for row in worksheet_rows(batch):
        weigh = f"{row['weigh']:.3f} {row['unit']}"
        rows.append(
            WorksheetRow(
                component=row["component"],
                lot=row["lot"],
                required=f"{row['required']:.3f} {row['unit']}",
                weigh=f"q.s. to {weigh}" if row["qs"] else weigh,
            )
        )
    limited = (
        "USP <797> table"
        if batch.bud_limited_by == "usp797"
        else f"ingredient lot {batch.bud_limited_by} expiry"
    )
    storage = {
        "refrigerated": "Refrigerate 2-8 °C",
        "room": "Store at 20-25 °C",
        "frozen": "Freeze -25 to -10 °C",
    }[formulation.storage]
    if formulation.protect_from_light:
        storage += "; protect from light"
    return WorksheetDocument(
        pharmacy_name=get_settings().name,
        lot_number=batch.lot_number,
        formulation=f"{formulation.code} v{formulation.version} - {formulation.name}",
        vials=(
            f"{batch.vials} x {plain_decimal(formulation.vial_volume_ml)} mL "
            f"(+{plain_decimal(formulation.overfill_ml)} mL overfill) = "
            f"{plain_decimal(batch.vials * per_vial)} mL"
        ),
        compounded_at=batch.compounded_dt.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
        bud=batch.bud_dt.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
        bud_limited_by=limited,
        bud_rule=batch.bud_rule,
        storage=storage,
        status=batch.status,
        sterility=_sterility_text(batch, zone),
        rows=tuple(rows),
        procedure=tuple(formulation.procedure or ()),
        equipment=tuple(formulation.equipment or ()),
        expected_yield=(
            f"{batch.vials} vial{'s' if batch.vials != 1 else ''} of "
            f"{plain_decimal(formulation.vial_volume_ml)} mL"
        ),
    )


def worksheet_checks() -> tuple[tuple[str, str], ...]:
    """Return the checks a worksheet asks to sign, (name, what) in order, for the page."""
    return CHECKS


def worksheet_pdf(batch: Batch) -> bytes:
    """Return the batch's compounding worksheet as PDF bytes."""
    return render_worksheet(worksheet_document(batch))
