"""Final check by scanning, and dispensing (SPEC 2.9).

The rule lives in ``pharmacy.domain.final_check``; this module loads the fill, stores the
FinalCheck row (passed or not), moves the fill to ``checked`` on a pass and to ``dispensed``
afterwards, and audits each change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from pharmacy.domain.errors import ConflictError, DomainError
from pharmacy.domain.final_check import (
    AllocatedLot,
    CheckResult,
    RecheckFailed,
    final_check,
    recheck,
)
from pharmacy.domain.scan import rx_payload
from pharmacy.extensions import db
from pharmacy.models import (
    AuditEvent,
    Batch,
    Fill,
    FillAllocation,
    FinalCheck,
    Formulation,
    Order,
    Patient,
    User,
    now_utc,
)
from pharmacy.services import audit, continuity
from pharmacy.services.labels import initials, local_date, previous_renders
from pharmacy.services.locks import lock_fill, lock_order
from pharmacy.services.paging import Cursor, Page, read_page
from pharmacy.services.tx import atomic

MAX_SCANS = 200
MAX_SCAN_LENGTH = 200


def allocated_lots(fill: Fill) -> list[AllocatedLot]:
    """Return the fill's allocations as the check's input, one entry per batch."""
    vials: dict[int, int] = {}
    serials: dict[int, list[int]] = {}
    batches = {}
    for allocation in fill.allocations:
        vials[allocation.batch_id] = vials.get(allocation.batch_id, 0) + allocation.vials
        serials.setdefault(allocation.batch_id, []).extend(allocation.serials)
        batches[allocation.batch_id] = allocation.batch
    return [
        AllocatedLot(
            lot=b.lot_number,
            vials=vials[b.id],
            bud_at=b.bud_dt,
            bud_date=local_date(b.bud_dt),
            status=b.status,
            gtin=b.formulation.gtin or None,
            serials=tuple(sorted(serials[b.id])),
            batch_vials=b.vials,
        )
        for b in sorted(batches.values(), key=lambda b: (b.bud_dt, b.lot_number))
    ]


def labels_printed(fill: Fill) -> bool:
    """Tell whether the fill's labels were printed at least once (PDF, ZPL or a printer)."""
    return previous_renders("prescription", "fill", fill.id) > 0


def pharmacy_gtins() -> frozenset[str]:
    """Return every GTIN on this pharmacy's formulations (any version, retired too)."""
    return frozenset(
        g for g in db.session.execute(select(Formulation.gtin).distinct()).scalars() if g
    )


def expected_rx(fill: Fill) -> str:
    """Return the prescription barcode payload of ``fill``."""
    return rx_payload(fill.order.rx_number, fill.fill_number)


def clean_scans(scans: object) -> list[str]:
    """Return the scans list from a request, or raise a 422 naming ``scans``."""
    if not isinstance(scans, list) or not all(isinstance(s, str) for s in scans):
        raise DomainError("scans", "Send the scans as a list of strings, one per barcode.")
    if len(scans) > MAX_SCANS:
        raise DomainError("scans", f"At most {MAX_SCANS} scans per check.")
    if any(len(s) > MAX_SCAN_LENGTH for s in scans):
        raise DomainError("scans", f"A scan is longer than {MAX_SCAN_LENGTH} characters.")
    kept = [s for s in scans if s.strip(" \t\r\n\x1d")]
    if not kept:
        raise DomainError("scans", "Scan the prescription label and every vial.")
    return kept


def latest_check(fill: Fill) -> FinalCheck | None:
    """Return the fill's most recent final check."""
    return db.session.execute(
        select(FinalCheck)
        .where(FinalCheck.fill_id == fill.id)
        .order_by(FinalCheck.id.desc())
        .limit(1)
    ).scalar_one_or_none()


@atomic
def check_fill(fill_id: int, scans: Sequence[str] | None, actor: User) -> CheckResult:
    """Run the final check of a fill on ``scans``; store it, and mark the fill checked on a pass.

    A failed check of an already checked fill sends it back to ``allocated``: the latest check
    is the one that counts.

    :raise ConflictError: the fill is voided or already dispensed, or its labels were never
        printed (409).
    :raise DomainError: ``scans`` is not a non-empty list of strings (422).
    """
    fill = lock_fill(fill_id)
    if fill.status not in ("allocated", "checked"):
        raise ConflictError(
            "fill", f"Fill {fill.id} is {fill.status}; only an allocated fill can be checked."
        )
    if not labels_printed(fill):
        raise ConflictError(
            "labels",
            f"Print the labels of fill {fill.id} before the final check: the vials are checked"
            " by the serials on their labels.",
        )
    kept = clean_scans(list(scans) if isinstance(scans, tuple) else scans)
    now = now_utc()
    result = final_check(
        expected_rx=expected_rx(fill),
        lots=allocated_lots(fill),
        expected_vials=fill.vials,
        now=now,
        scans=kept,
        pharmacy_gtins=pharmacy_gtins(),
    )
    before = {"status": fill.status}
    db.session.add(
        FinalCheck(
            fill_id=fill.id,
            checked_by_id=actor.id,
            checked_dt=now,
            ok=result.ok,
            scans=kept,
            reasons=list(result.reasons),
        )
    )
    if result.ok:
        fill.status = "checked"
        fill.checked_by_id = actor.id
        fill.checked_dt = now
        audit.record(
            "fill.checked",
            "fill",
            fill.id,
            actor=actor,
            before=before,
            after={"status": "checked", "scans": len(kept)},
        )
    else:
        if fill.status == "checked":
            fill.status = "allocated"
            fill.checked_by_id = None
            fill.checked_dt = None
        audit.record(
            "fill.check_failed",
            "fill",
            fill.id,
            actor=actor,
            before=before,
            after={"status": fill.status, "reasons": list(result.reasons)},
        )
    db.session.commit()
    return result


# What an audit event on a fill after its passing check means, for the pharmacist.
_SINCE_CHECK = {
    "label.reprinted": "the labels were reprinted after the final check",
    "label.printed": "labels were printed after the final check",
}


# The labels the final check scans; reprinting one after the check means relabelled vials.
_CHECKED_LABELS = ("prescription", "vial")


def events_since_check(fill: Fill) -> list[str]:
    """Return, in words, what happened to ``fill`` after its latest passing check (audit)."""
    checked_seq = (
        select(func.max(AuditEvent.seq))
        .where(
            AuditEvent.entity == "fill",
            AuditEvent.entity_id == str(fill.id),
            AuditEvent.action == "fill.checked",
        )
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.after)
        .where(
            AuditEvent.entity == "fill",
            AuditEvent.entity_id == str(fill.id),
            AuditEvent.seq > checked_seq,
        )
        .order_by(AuditEvent.seq)
    ).all()
    said: list[str] = []
    for action, after in rows:
        after = after if isinstance(after, dict) else {}
        if action in _SINCE_CHECK and after.get("kind") not in _CHECKED_LABELS:
            continue  # the patient's dosing calendar is not a label the check scanned
        text = _SINCE_CHECK.get(action, f"{action} after the final check")
        reason = after.get("reason")
        if reason:
            text += f" ({reason})"
        if text not in said:
            said.append(text)
    return said


def dispense_problems(fill: Fill, now: datetime) -> tuple[str, ...]:
    """Return why a checked ``fill`` cannot be dispensed at ``now`` (SPEC 5.5); empty if it can.

    Re-runs the stock rules of the final check on the fill's current allocation (recalled,
    rejected, past BUD, the vials changed) and adds what happened after the passing check.
    Fills that are not ``checked`` answer empty: other rules speak for them.
    """
    last = latest_check(fill)
    if fill.status != "checked" or last is None or not last.ok:
        return ()
    return recheck(
        expected_rx=expected_rx(fill),
        lots=allocated_lots(fill),
        expected_vials=fill.vials,
        now=now,
        checked_scans=list(last.scans or []),
        pharmacy_gtins=pharmacy_gtins(),
        since_check=events_since_check(fill),
    )


def _lock_batches(fill: Fill) -> None:
    """Re-read the fill's batches under a shared row lock (PostgreSQL), so a recall or
    rejection either commits before the re-check sees it or waits for the dispense."""
    ids = sorted({a.batch_id for a in fill.allocations})
    if ids:
        db.session.execute(
            select(Batch)
            .where(Batch.id.in_(ids))
            .order_by(Batch.id)
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        ).all()


@atomic
def dispense(
    fill_id: int,
    actor: User,
    pharmacist_initials: str | None = None,
    *,
    now: datetime | None = None,
) -> Fill:
    """Dispense a fill that passed its final check, checking its stock again (SPEC 5.5).

    :param now: the pharmacy's clock (default: now).
    :raise RecheckFailed: a batch was recalled or rejected or passed its BUD, the vials
        changed, or the labels were reprinted after the check (409 with the reasons); the
        fill must be voided and filled again. Nothing changes.
    :raise ConflictError: no passed check, or the fill is not ``checked`` (409).
    :raise DomainError: initials that are not 1-8 letters (422).
    """
    now = now or now_utc()
    fill = lock_fill(fill_id)
    last = latest_check(fill)
    if fill.status != "checked" or last is None or not last.ok:
        raise ConflictError(
            "fill",
            f"Fill {fill.id} is {fill.status}: it can be dispensed only "
            "after a passed final check.",
        )
    _lock_batches(fill)
    problems = dispense_problems(fill, now)
    if problems:
        raise RecheckFailed(fill.id, problems)
    given = (pharmacist_initials or "").strip().upper()
    if given and not (given.isalpha() and len(given) <= 8):
        raise DomainError("pharmacist_initials", "Initials are 1-8 letters.")
    before = {"status": fill.status}
    fill.status = "dispensed"
    fill.dispensed_by_id = actor.id
    fill.dispensed_dt = now
    fill.pharmacist_initials = given or initials(actor)
    audit.record(
        "fill.dispensed",
        "fill",
        fill.id,
        actor=actor,
        before=before,
        after={"status": "dispensed", "pharmacist_initials": fill.pharmacist_initials},
    )
    # The dispensed fill now covers its doses for the continuity list (SPEC 5.4, 7.7).
    order = lock_order(fill.order)
    continuity.refresh_next_fill(order, today=continuity.local_date(fill.dispensed_dt), actor=actor)
    db.session.commit()
    return fill


def result_to_dict(result: CheckResult) -> dict:
    """Return the per-scan outcome of a check for the API and the page."""
    return {
        "ok": result.ok,
        "reasons": list(result.reasons),
        "scans": [
            {
                "position": s.position,
                "text": s.text,
                "kind": s.kind,
                "lot": s.lot,
                "ok": s.ok,
                "message": s.message,
            }
            for s in result.scans
        ],
    }


@dataclass(frozen=True)
class FillRow:
    """What one line of the fills list shows (plain values, not the fill and its graph)."""

    id: int
    fill_number: int
    vials: int
    dispense_date: date
    status: str
    dispensed_dt: datetime | None
    rx_number: str
    patient_name: str
    lots: tuple[str, ...]
    pulled: bool  # a batch it draws from is no longer released (SPEC 5.5)


def fills_by_status(status: str, cursor: Cursor | None = None) -> Page[FillRow]:
    """Return one page of the fills in ``status``, newest first (keyset by id).

    Two statements whatever the page shows: the fills with their Rx number and patient,
    then the lots they draw from. Rows are plain values: building the fills, orders,
    patients, allocations and batches as objects was most of the page's CPU.
    """
    query: Any = (
        select(
            Fill.id,
            Fill.fill_number,
            Fill.vials,
            Fill.dispense_date,
            Fill.status,
            Fill.dispensed_dt,
            Order.rx_number,
            Patient.first_name,
            Patient.last_name,
        )
        .join(Order, Order.id == Fill.order_id)
        .join(Patient, Patient.id == Order.patient_id)
        .where(Fill.status == status)
    )
    page = read_page(query, Fill.id, cursor or Cursor(), scalars=False)
    lots: dict[int, list[tuple[str, str]]] = {row.id: [] for row in page.items}
    if lots:
        drawn = db.session.execute(
            select(FillAllocation.fill_id, Batch.lot_number, Batch.status)
            .join(Batch, Batch.id == FillAllocation.batch_id)
            .where(FillAllocation.fill_id.in_(list(lots)))
            .order_by(FillAllocation.id)
        )
        for fill_id, lot_number, batch_status in drawn:
            lots[fill_id].append((lot_number, batch_status))
    rows = [
        FillRow(
            id=row.id,
            fill_number=row.fill_number,
            vials=row.vials,
            dispense_date=row.dispense_date,
            status=row.status,
            dispensed_dt=row.dispensed_dt,
            rx_number=row.rx_number,
            patient_name=f"{row.first_name} {row.last_name}",
            lots=tuple(lot for lot, _ in lots[row.id]),
            pulled=any(batch_status != "released" for _, batch_status in lots[row.id]),
        )
        for row in page.items
    ]
    return Page(rows, page.older, page.newer, page.limit)
