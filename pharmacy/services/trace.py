"""Trace and recall: from an ingredient lot or batch lot to every batch, fill, patient and
prescriber it reached (SPEC 2.9).

Voided fills are listed (with their status) but their patients are not contacts: the vials
went back to stock and never reached anyone. Allocated and checked fills are contacts'
fills too: the pharmacy must pull them from the shelf, and the patient may be expecting
them. Patients and prescribers are each listed once, in the order first reached.

A lot can reach thousands of fills over the years, so a person reads the trace a page of
fills at a time (:func:`trace_page`, newest first, by fill id), a spreadsheet gets every fill
streamed in chunks (:func:`trace_csv`), and only a recall stores the whole of it
(:func:`trace`). Each reads the fills with their people in one joined statement and their
allocations with their serials in another, never one fill at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, distinct, func, select
from sqlalchemy.orm import aliased, joinedload

from pharmacy.domain.errors import ConflictError, ValidationFailed
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
    Recall,
    User,
    now_utc,
)
from pharmacy.services import audit
from pharmacy.services.fills import NotFound
from pharmacy.services.paging import Cursor, Page, read_page
from pharmacy.services.tx import atomic

OPEN = ("allocated", "checked")  # fill statuses holding vials that have not left the pharmacy
PAGE_LIMIT = 200  # fills on one page of a trace (the most ``limit`` allows)
# Open fills listed to pull, newest first: open work is days, never history, yet a lot in use
# is in most of it (685 fills at ten years); ``totals`` counts them all, the CSV lists them.
PULL_LIMIT = PAGE_LIMIT
CSV_CHUNK = 1000  # fills read at a time while streaming the CSV

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


# The formulation columns a trace shows: not its JSON procedure and equipment, which a join
# would repeat, and parse, once per batch.
_FORMULATION = joinedload(Batch.formulation).load_only(
    Formulation.code, Formulation.version, Formulation.name
)


@dataclass(frozen=True)
class Traced:
    """A resolved trace query: the ingredient lot (``None`` for a batch lot) and its batches."""

    ingredient_lot_id: int | None
    batch_lot: str | None
    lot: IngredientLot | None
    batches: list[Batch]

    def from_batches(self, column: Any) -> Any:
        """Return the condition that ``column`` (a batch id) is one of the traced batches.

        A subquery on the ingredient lot's worksheet lines rather than hundreds of ids bound
        one by one: the planner sees how few rows it picks.
        """
        if self.ingredient_lot_id is None:
            return column == self.batches[0].id
        return column.in_(
            select(BatchComponent.batch_id).where(
                BatchComponent.ingredient_lot_id == self.ingredient_lot_id
            )
        )

    def reached(self) -> Select[Any]:
        """Return the ids of the fills that took vials from these batches (a subquery)."""
        return select(FillAllocation.fill_id).where(self.from_batches(FillAllocation.batch_id))


def resolve(ingredient_lot: Any, batch_lot: Any) -> Traced:
    """Check the query and load the lot and the batches it reached (two statements).

    The batches an ingredient lot went into are bounded by the lot itself, never by history.

    :raise ValidationFailed: neither or both given, or a lot id that is not a whole number.
    :raise NotFound: the lot does not exist.
    """
    ingredient_lot_id, batch_lot = parse_query(ingredient_lot, batch_lot)
    if ingredient_lot_id is not None:
        lot = db.session.get(IngredientLot, ingredient_lot_id)
        if lot is None:
            raise NotFound(f"There is no ingredient lot {ingredient_lot_id}.")
        # A join, not IN (subquery): the planner then reads the lot's batches by their key
        # instead of hashing the whole batches table, which grows with history.
        rows = db.session.execute(
            select(Batch)
            .join(BatchComponent, BatchComponent.batch_id == Batch.id)
            .where(BatchComponent.ingredient_lot_id == lot.id)
            .order_by(Batch.compounded_dt, Batch.id)
            .options(_FORMULATION)
        ).scalars()
        batches = list({batch.id: batch for batch in rows}.values())
        return Traced(ingredient_lot_id, None, lot, batches)
    batch = db.session.execute(
        select(Batch).where(Batch.lot_number == batch_lot).options(_FORMULATION)
    ).scalar_one_or_none()
    if batch is None:
        raise NotFound(f"There is no batch lot {batch_lot}.")
    return Traced(None, batch_lot, None, [batch])


def _fill_rows(fill_ids: Select[Any] | list[int]) -> list[Any]:
    """Return each fill with its order's Rx, patient and prescriber: one joined statement."""
    patient, prescriber = aliased(Patient), aliased(User)
    return list(
        db.session.execute(
            select(
                Fill.id,
                Fill.fill_number,
                Fill.status,
                Fill.dispense_date,
                Fill.dispensed_dt,
                Order.rx_number,
                patient.id.label("patient_id"),
                patient.first_name,
                patient.last_name,
                patient.dob,
                patient.phone.label("patient_phone"),
                patient.address,
                patient.mrn,
                prescriber.id.label("prescriber_id"),
                prescriber.full_name.label("prescriber_name"),
                prescriber.username,
                prescriber.npi,
                prescriber.clinic,
                prescriber.phone.label("prescriber_phone"),
            )
            .join(Order, Order.id == Fill.order_id)
            .join(patient, patient.id == Order.patient_id)
            .join(prescriber, prescriber.id == Order.prescriber_id)
            .where(Fill.id.in_(fill_ids if isinstance(fill_ids, Select) else _id_list(fill_ids)))
            .order_by(Fill.id)
        )
    )


def _id_list(ids: list[int]) -> Any:
    """Return ``ids`` for ``IN``, written into the statement: a thousand whole numbers are
    cheaper to send as text than to bind one by one (and cannot inject anything)."""
    return bindparam("ids", ids, expanding=True, literal_execute=True)


def _allocation_rows(fill_ids: list[int], traced: Traced) -> list[Any]:
    """Return the allocations these fills took from these batches, one row per serial (or
    one row with no serial), in fill, allocation and serial order: one statement."""
    return list(
        db.session.execute(
            select(
                FillAllocation.id,
                FillAllocation.fill_id,
                FillAllocation.vials,
                FillAllocation.batch_id,
                FillVial.serial,
            )
            .outerjoin(FillVial, FillVial.allocation_id == FillAllocation.id)
            .where(
                FillAllocation.fill_id.in_(_id_list(fill_ids)),
                traced.from_batches(FillAllocation.batch_id),
            )
            .order_by(FillAllocation.fill_id, FillAllocation.id, FillVial.serial)
        )
    )


Taken = tuple[int, list[str], list[tuple[str, list[int]]]]  # vials, batch lots, serials


def _fill_rows_with_allocations(
    fill_ids: Select[Any] | list[int], traced: Traced
) -> tuple[list[Any], list[Any]]:
    """Return the fills (oldest first) and their allocations: two statements."""
    if not traced.batches or (isinstance(fill_ids, list) and not fill_ids):
        return [], []
    fills = _fill_rows(fill_ids)
    return fills, _allocation_rows([row[0] for row in fills], traced) if fills else []


def _walk(fills: list[Any], allocations: list[Any], traced: Traced) -> Iterator[tuple[Any, Taken]]:
    """Yield each fill row with the vials it took from the traced batches: how many, from
    which batch lots, and their serials by allocation.

    Both lists come ordered by fill id, so one pass pairs them, and whatever it builds for a
    fill is dropped as soon as the caller is done with it (a whole CSV's worth of small lists
    alive at once set off the garbage collector's full pass, 80 ms here).
    """
    lot_numbers = {batch.id: batch.lot_number for batch in traced.batches}
    rows = iter(allocations)
    pending = next(rows, None)
    for fill in fills:
        fill_id = fill[0]
        vials, lots, groups = 0, [], []
        serials: list[int] = []
        last_allocation = None
        while pending is not None and pending[1] <= fill_id:
            allocation_id, of_fill, allocated, batch_id, serial = pending
            pending = next(rows, None)
            lot_number = lot_numbers.get(batch_id)
            if of_fill != fill_id or lot_number is None:  # pragma: no cover - written meanwhile
                continue
            if allocation_id != last_allocation:
                last_allocation = allocation_id
                vials += allocated
                serials = []
                groups.append((lot_number, serials))
                if lot_number not in lots:
                    lots.append(lot_number)
            if serial is not None:
                serials.append(serial)
        yield fill, (vials, lots, groups)


def _entries(fills: list[Any], allocations: list[Any], traced: Traced) -> list[dict[str, Any]]:
    """Return the JSON entry of each fill, in the order of ``fills``."""
    out = []
    # Rows unpacked by position: reading 19 columns by name cost more than the query.
    for (
        (
            fill_id,
            fill_number,
            status,
            dispense_date,
            dispensed_dt,
            rx_number,
            patient_id,
            first_name,
            last_name,
            dob,
            patient_phone,
            address,
            mrn,
            prescriber_id,
            prescriber_name,
            username,
            npi,
            clinic,
            prescriber_phone,
        ),
        (vials, lots, groups),
    ) in _walk(fills, allocations, traced):
        out.append(
            {
                "id": fill_id,
                "rx_number": rx_number,
                "fill_number": fill_number,
                "status": status,
                "dispense_date": dispense_date.isoformat(),
                "dispensed_at": dispensed_dt.isoformat() if dispensed_dt else None,
                "vials": vials,
                "batch_lots": lots,
                "serials": [{"batch_lot": lot, "serials": serials} for lot, serials in groups],
                "patient": {
                    "id": patient_id,
                    "name": f"{first_name} {last_name}",
                    "dob": dob.isoformat(),
                    "phone": patient_phone or None,
                    "address": address or None,
                    "mrn": mrn,
                },
                "prescriber": {
                    "id": prescriber_id,
                    "name": prescriber_name or username,
                    "npi": npi,
                    "clinic": clinic,
                    "phone": prescriber_phone,
                },
            }
        )
    return out


def _fill_entries(fill_ids: Select[Any] | list[int], traced: Traced) -> list[dict[str, Any]]:
    """Return the trace entry of each fill, oldest first, in two statements whatever their
    number (the fills with their people, then their allocations with their serials).

    :param fill_ids: the ids, or a bounded query of them (a page, a chunk).
    """
    return _entries(*_fill_rows_with_allocations(fill_ids, traced), traced)


def _contacts(fills: Iterable[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Return the patients and prescribers of these fills, each once, in the order reached.

    Voided fills reached no one: their vials went back to stock.
    """
    patients: dict[int, dict[str, Any]] = {}
    prescribers: dict[int, dict[str, Any]] = {}
    for fill in fills:
        if fill["status"] != "voided":
            patients.setdefault(fill["patient"]["id"], fill["patient"])
            prescribers.setdefault(fill["prescriber"]["id"], fill["prescriber"])
    return list(patients.values()), list(prescribers.values())


def _lot_entry(lot: IngredientLot) -> dict[str, Any]:
    return {
        "id": lot.id,
        "component": lot.component,
        "manufacturer": lot.manufacturer,
        "lot": lot.lot,
        "expiry": lot.expiry,
        "status": lot.status,
    }


def _batch_entry(b: Batch) -> dict[str, Any]:
    return {
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


def _result(
    traced: Traced, fills: list[dict[str, Any]], to_pull: list[dict[str, Any]]
) -> dict[str, Any]:
    patients, prescribers = _contacts(fills)
    result: dict[str, Any] = {
        "query": {"ingredient_lot": traced.ingredient_lot_id, "batch_lot": traced.batch_lot},
        "batches": [_batch_entry(b) for b in traced.batches],
        "fills": fills,
        # SPEC 5.5: fills holding these vials but not dispensed yet; a recall pulls them (the
        # dispense re-check refuses them; they are voided and filled again).
        "fills_to_pull": to_pull,
        "patients": patients,
        "prescribers": prescribers,
    }
    if traced.lot is not None:
        result["ingredient_lot"] = _lot_entry(traced.lot)
    return result


def trace(ingredient_lot_id: Any = None, batch_lot: Any = None) -> dict[str, Any]:
    """Return every batch, fill, patient and prescriber reached from one lot, whole.

    What a recall stores: two statements a chunk of :data:`CSV_CHUNK` fills. A person reads
    :func:`trace_page` instead, and a spreadsheet :func:`trace_csv`.

    :raise ValidationFailed: neither or both given.
    :raise NotFound: the lot does not exist.
    """
    traced = resolve(ingredient_lot_id, batch_lot)
    fills = [fill for rows in _chunks(traced) for fill in _entries(*rows, traced)]
    return _result(traced, fills, [f for f in fills if f["status"] in OPEN])


def _totals(traced: Traced) -> dict[str, int]:
    """Count the whole trace in one statement: the fills it reached and those to pull.

    Both read indexes only as far as the lot goes (its allocations; the open fills). The
    patients and prescribers of every fill are not counted here: that visits each fill and
    its order, 100 ms at a lot of 18,000 fills. The CSV and a recall list them all.
    """
    if not traced.batches:
        return {"fills": 0, "fills_to_pull": 0}
    fills, to_pull = db.session.execute(
        select(
            select(func.count(distinct(FillAllocation.fill_id)))
            .where(traced.from_batches(FillAllocation.batch_id))
            .scalar_subquery(),
            select(func.count(Fill.id))
            .where(Fill.status.in_(OPEN), Fill.id.in_(traced.reached()))
            .scalar_subquery(),
        )
    ).one()
    return {"fills": fills, "fills_to_pull": to_pull}


def trace_page(traced: Traced, cursor: Cursor) -> tuple[dict[str, Any], Page[int]]:
    """Return one page of a trace, newest fill first, and the page (its fill ids and keys).

    ``fills``, ``patients`` and ``prescribers`` are this page's; ``fills_to_pull`` lists the
    latest open fills of the whole trace (at most :data:`PULL_LIMIT`) on every page, and
    ``totals`` counts the fills and fills to pull of the whole trace. Seven statements for an
    ingredient lot whatever it reached.
    """
    if not traced.batches:
        page: Page[int] = Page([], None, None, cursor.limit)
        result = _result(traced, [], [])
    else:
        page = read_page(
            traced.reached().distinct(),
            FillAllocation.fill_id,
            cursor,
            key=lambda fill_id: fill_id,
        )
        pull_ids = list(
            db.session.execute(
                select(Fill.id)
                .where(Fill.status.in_(OPEN), Fill.id.in_(traced.reached()))
                .order_by(Fill.id.desc())
                .limit(PULL_LIMIT)
            ).scalars()
        )
        entries = {
            e["id"]: e for e in _fill_entries(sorted(set(page.items) | set(pull_ids)), traced)
        }
        fills = [entries[i] for i in page.items if i in entries]
        result = _result(traced, fills, [entries[i] for i in pull_ids if i in entries])
    result["totals"] = _totals(traced)
    result["limit"] = page.limit
    return result, page


def _chunks(traced: Traced, chunk: int | None = None) -> Iterator[tuple[list[Any], list[Any]]]:
    """Yield the trace's fills and their allocations ``chunk`` fills at a time
    (:data:`CSV_CHUNK`), oldest first: two statements a chunk, each keyed on the last fill id
    of the chunk before.
    """
    size = chunk or CSV_CHUNK
    after = 0
    while traced.batches:
        ids = (
            select(FillAllocation.fill_id)
            .where(traced.from_batches(FillAllocation.batch_id), FillAllocation.fill_id > after)
            .distinct()
            .order_by(FillAllocation.fill_id)
            .limit(size)
        )
        fills, allocations = _fill_rows_with_allocations(ids, traced)
        if fills:
            yield fills, allocations
        if len(fills) < size:
            return
        after = fills[-1][0]


def trace_csv(traced: Traced, chunk: int | None = None) -> Iterator[str]:
    """Yield the trace as CSV: the header line, then one row per fill that took vials from
    the lot, oldest first, a chunk of rows at a time.

    A generator reading ``chunk`` fills at a time (:func:`_chunks`), so a response streams a
    recall list of any length without holding it whole.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def flush() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for fills, allocations in _chunks(traced, chunk):
        for (
            (
                _,
                fill_number,
                status,
                dispense_date,
                dispensed_dt,
                rx_number,
                _,
                first_name,
                last_name,
                dob,
                patient_phone,
                address,
                _,
                _,
                prescriber_name,
                username,
                npi,
                clinic,
                prescriber_phone,
            ),
            (vials, lots, groups),
        ) in _walk(fills, allocations, traced):
            writer.writerow(
                [
                    _csv_cell(rx_number),
                    fill_number,
                    status,
                    dispense_date.isoformat(),
                    dispensed_dt.isoformat() if dispensed_dt else "",
                    _csv_cell(" ".join(lots)),
                    vials,
                    _csv_cell(" ".join(f"{lot}/{n}" for lot, serials in groups for n in serials)),
                    _csv_cell(f"{first_name} {last_name}"),
                    dob.isoformat(),
                    _csv_cell(patient_phone),
                    _csv_cell(address),
                    _csv_cell(prescriber_name or username),
                    _csv_cell(npi),
                    _csv_cell(clinic),
                    _csv_cell(prescriber_phone),
                ]
            )
        yield flush()


def _csv_cell(value: Any) -> str:
    """Return a CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


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
    traced = resolve(ingredient_lot_id, batch_lot)
    ingredient_lot_id, batch_lot = traced.ingredient_lot_id, traced.batch_lot
    lot, batches = traced.lot, traced.batches
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
        db.session.execute(
            select(Batch).order_by(Batch.id.desc()).limit(CHOICES).options(_FORMULATION)
        ).scalars()
    )
