"""Trace and recall: from an ingredient lot or batch lot to every batch, fill, patient and
prescriber it reached (SPEC 2.9).

Voided fills are listed (with their status) but their patients are not contacts: the vials
went back to stock and never reached anyone. Allocated and checked fills are contacts'
fills too: the pharmacy must pull them from the shelf, and the patient may be expecting
them. Patients and prescribers are each listed once, in the order first reached.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pharmacy.domain.errors import ConflictError, ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import (
    Batch,
    BatchComponent,
    Fill,
    FillAllocation,
    FillVial,
    IngredientLot,
    Order,
    Recall,
    User,
    now_utc,
)
from pharmacy.services import audit
from pharmacy.services.fills import NotFound
from pharmacy.services.tx import atomic

CSV_COLUMNS = (
    "rx_number",
    "fill_number",
    "fill_status",
    "dispense_date",
    "dispensed_at",
    "batch_lots",
    "vials",
    "serials",
    "patient_name",
    "patient_dob",
    "patient_phone",
    "patient_address",
    "prescriber_name",
    "prescriber_npi",
    "prescriber_clinic",
    "prescriber_phone",
)


def parse_query(ingredient_lot: Any, batch_lot: Any) -> tuple[int | None, str | None]:
    """Return ``(ingredient_lot_id, batch_lot)`` with exactly one given.

    :raise ValidationFailed: neither or both given, or a lot id that is not a whole number.
    """
    lot_given = ingredient_lot not in (None, "")
    batch_given = batch_lot not in (None, "")
    if lot_given == batch_given:
        message = (
            "Give an ingredient lot or a batch lot, not both."
            if lot_given
            else "Give an ingredient lot or a batch lot to trace."
        )
        raise ValidationFailed({"ingredient_lot": message, "batch_lot": message})
    if lot_given:
        if isinstance(ingredient_lot, bool):
            raise ValidationFailed({"ingredient_lot": "The ingredient lot is an id number."})
        try:
            lot_id = int(str(ingredient_lot).strip())
        except ValueError:
            raise ValidationFailed(
                {"ingredient_lot": "The ingredient lot is an id number."}
            ) from None
        return lot_id, None
    if not isinstance(batch_lot, str):
        raise ValidationFailed({"batch_lot": "The batch lot is a lot number such as CY261201-01."})
    return None, batch_lot.strip().upper()


def _resolve(
    ingredient_lot_id: int | None, batch_lot: str | None
) -> tuple[IngredientLot | None, list[Batch]]:
    if ingredient_lot_id is not None:
        lot = db.session.get(IngredientLot, ingredient_lot_id)
        if lot is None:
            raise NotFound(f"There is no ingredient lot {ingredient_lot_id}.")
        batches = list(
            db.session.execute(
                select(Batch)
                .where(
                    Batch.id.in_(
                        select(BatchComponent.batch_id).where(
                            BatchComponent.ingredient_lot_id == lot.id
                        )
                    )
                )
                .order_by(Batch.compounded_dt, Batch.id)
                .options(selectinload(Batch.formulation))
            ).scalars()
        )
        return lot, batches
    batch = db.session.execute(
        select(Batch).where(Batch.lot_number == batch_lot)
    ).scalar_one_or_none()
    if batch is None:
        raise NotFound(f"There is no batch lot {batch_lot}.")
    return None, [batch]


def _person_patient(patient) -> dict[str, Any]:
    return {
        "id": patient.id,
        "name": patient.full_name,
        "dob": patient.dob.isoformat(),
        "phone": patient.phone or None,
        "address": patient.address or None,
        "mrn": patient.mrn,
    }


def _person_prescriber(prescriber: User) -> dict[str, Any]:
    return {
        "id": prescriber.id,
        "name": prescriber.full_name or prescriber.username,
        "npi": prescriber.npi,
        "clinic": prescriber.clinic,
        "phone": prescriber.phone,
    }


def trace(ingredient_lot_id: int | None = None, batch_lot: str | None = None) -> dict[str, Any]:
    """Return every batch, fill, patient and prescriber reached from one lot.

    :raise ValidationFailed: neither or both given.
    :raise NotFound: the lot does not exist.
    """
    ingredient_lot_id, batch_lot = parse_query(ingredient_lot_id, batch_lot)
    lot, batches = _resolve(ingredient_lot_id, batch_lot)
    batch_ids = [b.id for b in batches]
    allocations = (
        list(
            db.session.execute(
                select(FillAllocation)
                .join(Fill, FillAllocation.fill_id == Fill.id)
                .where(FillAllocation.batch_id.in_(batch_ids))
                .order_by(Fill.id, FillAllocation.id)
                # One statement for the rows, then one per related table for all of them:
                # an ingredient lot that reached 2,000 fills used to cost 6,000 statements.
                .options(
                    selectinload(FillAllocation.batch),
                    selectinload(FillAllocation.fill)
                    .selectinload(Fill.order)
                    .options(selectinload(Order.patient), selectinload(Order.prescriber)),
                )
            ).scalars()
        )
        if batch_ids
        else []
    )

    serials = _serials_by_allocation(batch_ids)
    fills: dict[int, dict[str, Any]] = {}
    patients: dict[int, dict[str, Any]] = {}
    prescribers: dict[int, dict[str, Any]] = {}
    for allocation in allocations:
        fill = allocation.fill
        order = fill.order
        entry = fills.get(fill.id)
        if entry is None:
            entry = fills[fill.id] = {
                "id": fill.id,
                "rx_number": order.rx_number,
                "fill_number": fill.fill_number,
                "status": fill.status,
                "dispense_date": fill.dispense_date.isoformat(),
                "dispensed_at": fill.dispensed_dt.isoformat() if fill.dispensed_dt else None,
                "vials": 0,
                "batch_lots": [],
                "serials": [],
                "patient": _person_patient(order.patient),
                "prescriber": _person_prescriber(order.prescriber),
            }
        entry["vials"] += allocation.vials
        entry["serials"].append(
            {
                "batch_lot": allocation.batch.lot_number,
                "serials": serials.get(allocation.id, []),
            }
        )
        if allocation.batch.lot_number not in entry["batch_lots"]:
            entry["batch_lots"].append(allocation.batch.lot_number)
        if fill.status != "voided":
            patients.setdefault(order.patient.id, _person_patient(order.patient))
            prescribers.setdefault(order.prescriber.id, _person_prescriber(order.prescriber))

    result: dict[str, Any] = {
        "query": {"ingredient_lot": ingredient_lot_id, "batch_lot": batch_lot},
        "batches": [
            {
                "lot_number": b.lot_number,
                "formulation": {
                    "code": b.formulation.code,
                    "version": b.formulation.version,
                    "name": b.formulation.name,
                },
                "status": b.status,
                "vials": b.vials,
                "vials_available": b.vials_available,
                "bud": b.bud_dt.isoformat(),
            }
            for b in batches
        ],
        "fills": list(fills.values()),
        # SPEC 5.5: fills holding these vials but not dispensed yet; a recall pulls them (the
        # dispense re-check refuses them; they are voided and filled again).
        "fills_to_pull": [f for f in fills.values() if f["status"] in ("allocated", "checked")],
        "patients": list(patients.values()),
        "prescribers": list(prescribers.values()),
    }
    if lot is not None:
        result["ingredient_lot"] = {
            "id": lot.id,
            "component": lot.component,
            "manufacturer": lot.manufacturer,
            "lot": lot.lot,
            "expiry": lot.expiry,
            "status": lot.status,
        }
    return result


def _serials_by_allocation(batch_ids: list[int]) -> dict[int, list[int]]:
    """Return the serials each allocation of these batches took, in one query."""
    if not batch_ids:
        return {}
    out: dict[int, list[int]] = {}
    rows = db.session.execute(
        select(FillVial.allocation_id, FillVial.serial)
        .where(FillVial.batch_id.in_(batch_ids))
        .order_by(FillVial.allocation_id, FillVial.serial)
    )
    for allocation_id, serial in rows:
        out.setdefault(allocation_id, []).append(serial)
    return out


def serial_text(groups: list[dict[str, Any]]) -> str:
    """Return a fill's serials as ``LOT/1 LOT/2`` (the DataMatrix form of a vial)."""
    return " ".join(f"{g['batch_lot']}/{s}" for g in groups for s in g["serials"])


def _csv_cell(value: Any) -> str:
    """Return a CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def trace_csv(result: dict[str, Any]) -> Iterator[str]:
    """Yield the trace as CSV lines: one row per affected fill (header only when none).

    A generator, so a response can stream a large recall list instead of building it whole.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(values: Iterable[Any]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([_csv_cell(v) for v in values])
        return out.getvalue()

    yield line(CSV_COLUMNS)
    for fill in result["fills"]:
        patient, prescriber = fill["patient"], fill["prescriber"]
        yield line(
            (
                fill["rx_number"],
                fill["fill_number"],
                fill["status"],
                fill["dispense_date"],
                fill["dispensed_at"],
                " ".join(fill["batch_lots"]),
                fill["vials"],
                serial_text(fill["serials"]),
                patient["name"],
                patient["dob"],
                patient["phone"],
                patient["address"],
                prescriber["name"],
                prescriber["npi"],
                prescriber["clinic"],
                prescriber["phone"],
            )
        )


@atomic
def recall(
    ingredient_lot_id: int | None = None,
    batch_lot: str | None = None,
    *,
    reason: str,
    actor: User | None,
) -> tuple[Recall, dict[str, Any]]:
    """Recall a lot: mark every batch it reached (and the ingredient lot) recalled.

    Recalled batches are never allocated again. Stores a :class:`Recall` with the trace and
    audits each change; returns the recall and the trace (whom to contact).

    :raise ValidationFailed: no reason, or neither/both lots given.
    :raise NotFound: the lot does not exist.
    :raise ConflictError: everything it reaches is recalled already.
    """
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed({"reason": "Give the reason for the recall."})
    ingredient_lot_id, batch_lot = parse_query(ingredient_lot_id, batch_lot)
    lot, batches = _resolve(ingredient_lot_id, batch_lot)
    to_recall = [b for b in batches if b.status != "recalled"]
    lot_to_recall = lot is not None and lot.status != "recalled"
    if not to_recall and not lot_to_recall:
        raise ConflictError("status", "Everything this lot reached is recalled already.")
    if lot is not None and lot_to_recall:
        before = lot.status
        lot.status = "recalled"
        lot.status_reason = reason
        audit.record(
            "ingredient_lot.recalled",
            "ingredient_lot",
            lot.id,
            actor=actor,
            before={"status": before},
            after={"status": "recalled", "reason": reason},
        )
    for batch in to_recall:
        before = batch.status
        batch.status = "recalled"
        batch.status_reason = reason
        audit.record(
            "batch.recalled",
            "batch",
            batch.lot_number,
            actor=actor,
            before={"status": before},
            after={"status": "recalled", "reason": reason},
        )
    db.session.flush()
    result = trace(ingredient_lot_id, batch_lot)
    result["recalled_at"] = now_utc().isoformat()
    result["reason"] = reason
    record = Recall(
        ingredient_lot_id=ingredient_lot_id,
        batch_lot=batch_lot,
        reason=reason,
        result=result,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(record)
    db.session.flush()
    result["id"] = record.id
    audit.record(
        "recall.created",
        "recall",
        record.id,
        actor=actor,
        after={
            "ingredient_lot": ingredient_lot_id,
            "batch_lot": batch_lot,
            "reason": reason,
            "batches": [b.lot_number for b in to_recall],
            "fills": [f["id"] for f in result["fills"]],
            "fills_to_pull": [f["id"] for f in result["fills_to_pull"]],
            "patients": len(result["patients"]),
            "prescribers": len(result["prescribers"]),
        },
    )
    db.session.commit()
    return record, result


CHOICES = 50


def ingredient_lot_choices() -> list[IngredientLot]:
    """Return the latest ingredient lots received, newest first (suggestions for the trace
    form; older lots are traced by typing their id)."""
    return list(
        db.session.execute(
            select(IngredientLot).order_by(IngredientLot.id.desc()).limit(CHOICES)
        ).scalars()
    )


def batch_choices() -> list[Batch]:
    """Return the latest batches, newest first (suggestions for the trace form; any older
    batch is traced by typing its lot number)."""
    return list(
        db.session.execute(select(Batch).order_by(Batch.id.desc()).limit(CHOICES)).scalars()
    )
