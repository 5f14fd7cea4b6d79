"""Label printers and print jobs (SPEC 6.4).

An admin configures printers (name, host, port, dpi, the label types loaded). Printing a
fill's or a batch's labels renders them as ZPL at the printer's dpi, records a print job
(``queued``), sends it over raw TCP and records the outcome: ``sent``, or ``failed`` with the
reason. Only a sent job marks the labels printed, exactly as a PDF or ZPL download does (the
same ``label_renders`` log and audit event); a failed job marks nothing and can be retried,
sending the very same bytes.

The send happens outside any transaction: the job is committed as ``queued`` first, so a slow
or dead printer never holds a database lock, and a crash mid-send leaves the job visible.
The network call is :func:`pharmacy.services.printer_link.send_raw` unless the caller passes
another ``send``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from pharmacy.database import rows_updated
from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.extensions import db
from pharmacy.models import User
from pharmacy.models.printing import LABEL_TYPES, Printer, PrintJob
from pharmacy.services import audit
from pharmacy.services import labels as label_service
from pharmacy.services.errors import NotFound
from pharmacy.services.printer_link import (
    DEFAULT_TIMEOUT_SECONDS,
    PrinterUnreachable,
    Sender,
    send_raw,
)
from pharmacy.services.tx import atomic

DPIS = (203, 300)
DEFAULT_PORT = 9100
MAX_NAME = 60
MAX_REASON = 200
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
# What each print takes: a fill is its prescription label and its vial labels, a batch is its
# batch label and its vial labels. The printer must be loaded for every one of them.
NEEDS = {"fill": ("prescription", "vial"), "batch": ("batch", "vial")}


# --- printers -------------------------------------------------------------------------------


def _clean_printer(
    name: Any, host: Any, port: Any, dpi: Any, label_types: Any
) -> tuple[str, str, int, int, list[str]]:
    """Check a printer's fields; return them cleaned, or raise every problem at once."""
    errors: dict[str, str] = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = "Name the printer (e.g. Counter Zebra)."
    elif len(name) > MAX_NAME or not name.isprintable():
        errors["name"] = f"A printer name is at most {MAX_NAME} printable characters."
    host = host.strip() if isinstance(host, str) else ""
    if not host:
        errors["host"] = "Give the printer's host name or IP address."
    elif not _valid_host(host):
        errors["host"] = f"{host[:80]!r} is not a host name or an IP address."
    if port is None or port == "":
        port = DEFAULT_PORT
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        errors["port"] = "The port is a whole number from 1 to 65535 (raw printing: 9100)."
    if isinstance(dpi, bool) or dpi not in DPIS:
        errors["dpi"] = "The printer resolution is 203 or 300 dpi."
    if (
        not isinstance(label_types, list | tuple)
        or not label_types
        or any(t not in LABEL_TYPES for t in label_types)
    ):
        errors["label_types"] = "Choose the label types it takes: prescription, vial, batch."
    if errors:
        raise ValidationFailed(errors)
    ordered = [t for t in LABEL_TYPES if t in label_types]
    return name, host, int(port), int(dpi), ordered


def _valid_host(host: str) -> bool:
    """Tell whether ``host`` is an IPv4/IPv6 address or a DNS host name."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.fullmatch(host))


@atomic
def add_printer(
    *,
    name: Any,
    host: Any,
    port: Any = None,
    dpi: Any,
    label_types: Any,
    actor: User,
    now: datetime,
) -> Printer:
    """Configure a label printer.

    :raise ValidationFailed: a field is missing or out of range (422, every field named).
    :raise ConflictError: a printer with that name exists (409, field ``name``).
    """
    name, host, port, dpi, types = _clean_printer(name, host, port, dpi, label_types)
    taken = db.session.execute(select(Printer.id).where(Printer.name == name)).scalar_one_or_none()
    if taken is not None:
        raise ConflictError("name", f"A printer named {name!r} exists already.")
    printer = Printer(
        name=name,
        host=host,
        port=port,
        dpi=dpi,
        label_types=types,
        created_dt=now,
        created_by_id=actor.id,
    )
    db.session.add(printer)
    db.session.flush()
    audit.record(
        "printer.added", "printer", printer.id, actor=actor, after=printer_to_dict(printer)
    )
    db.session.commit()
    return printer


def list_printers() -> list[Printer]:
    """Return every configured printer, by name."""
    return list(db.session.execute(select(Printer).order_by(Printer.name)).scalars())


def printers_for(entity: str) -> list[Printer]:
    """Return the printers loaded for everything a fill or a batch print takes."""
    return [p for p in list_printers() if set(NEEDS[entity]) <= set(p.label_types)]


def _printer(name: Any, entity: str) -> Printer:
    """Return the printer named ``name`` that takes the labels of ``entity``.

    :raise DomainError: field ``printer``: no name, no such printer, or the wrong labels.
    """
    if not isinstance(name, str) or not name.strip():
        raise DomainError("printer", "Choose a printer.")
    printer = db.session.execute(
        select(Printer).where(Printer.name == name.strip())
    ).scalar_one_or_none()
    if printer is None:
        raise DomainError("printer", f"There is no printer named {name.strip()[:80]!r}.")
    missing = [t for t in NEEDS[entity] if t not in printer.label_types]
    if missing:
        raise DomainError(
            "printer",
            f"Printer {printer.name} does not take {' or '.join(missing)} labels"
            f" (it takes {', '.join(printer.label_types)}).",
        )
    return printer


# --- print jobs -----------------------------------------------------------------------------


def get_job(job_id: int) -> PrintJob:
    """Return a print job.

    :raise NotFound: no such job.
    """
    job = db.session.get(PrintJob, job_id)
    if job is None:
        raise NotFound(f"There is no print job {job_id}.")
    return job


def jobs_for(entity: str, entity_id: object, limit: int = 20) -> list[PrintJob]:
    """Return the latest print jobs of a fill or a batch, newest first."""
    return list(
        db.session.execute(
            select(PrintJob)
            .where(PrintJob.entity == entity, PrintJob.entity_id == str(entity_id))
            .order_by(PrintJob.id.desc())
            .limit(limit)
        ).scalars()
    )


def _reason(reason: Any) -> str:
    if reason is None:
        return ""
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise DomainError(
            "reason", f"The reprint reason is text of at most {MAX_REASON} characters."
        )
    return reason.strip()


def print_fill(
    fill_id: int,
    printer_name: Any,
    *,
    actor: User,
    now: datetime,
    reason: Any = None,
    send: Sender = send_raw,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> PrintJob:
    """Send a fill's prescription and vial labels to a printer; return the job (sent or failed).

    :raise DomainError: no such printer or the wrong label types (``printer``), a reprint
        without reason (``reason``), a label the renderer refuses (422).
    :raise ConflictError: the fill is voided (409).
    :raise NotFound: no such fill.
    """
    printer = _printer(printer_name, "fill")
    reason = _reason(reason)
    fill, items = label_service.fill_label_items(fill_id)
    label_service.require_reprint_reason("prescription", "fill", fill.id, reason)
    return _queue_and_send(
        printer, "fill", fill.id, "prescription", items, reason, actor, now, send, timeout
    )


def print_batch(
    lot_number: str,
    printer_name: Any,
    *,
    actor: User,
    now: datetime,
    reason: Any = None,
    send: Sender = send_raw,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> PrintJob:
    """Send a batch's label and one vial label per serial to a printer; return the job.

    :raise DomainError: as :func:`print_fill`.
    :raise ConflictError: the batch is rejected or recalled (409).
    :raise NotFound: no such batch.
    """
    printer = _printer(printer_name, "batch")
    reason = _reason(reason)
    batch, items = label_service.batch_label_items(lot_number)
    label_service.require_reprint_reason("vial", "batch", batch.lot_number, reason)
    return _queue_and_send(
        printer, "batch", batch.lot_number, "vial", items, reason, actor, now, send, timeout
    )


def _queue_and_send(
    printer: Printer,
    entity: str,
    entity_id: object,
    kind: str,
    items: list,
    reason: str,
    actor: User,
    now: datetime,
    send: Sender,
    timeout: float,
) -> PrintJob:
    """Render the ZPL, commit the job as queued, then send it and record the outcome."""
    try:
        payload = label_service.render(items, f"zpl{printer.dpi}", printer.dpi)
        job = PrintJob(
            printer_id=printer.id,
            entity=entity,
            entity_id=str(entity_id),
            kind=kind,
            labels=len(items),
            status="queued",
            reason=reason,
            payload=payload,
            created_dt=now,
            created_by_id=actor.id,
        )
        db.session.add(job)
        db.session.flush()
        audit.record(
            "print_job.queued",
            entity,
            entity_id,
            actor=actor,
            after={"job": job.id, "printer": printer.name, "labels": len(items), "reason": reason},
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return _send(job.id, actor=actor, now=now, send=send, timeout=timeout)


def retry_job(
    job_id: int,
    *,
    actor: User,
    now: datetime,
    send: Sender = send_raw,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> PrintJob:
    """Send a failed job again (the same bytes, to the same printer); return it.

    :raise NotFound: no such job.
    :raise ConflictError: the job is not failed (sent already, or being sent) (409).
    """
    job = get_job(job_id)
    claimed = db.session.execute(
        update(PrintJob)
        .where(PrintJob.id == job.id, PrintJob.status == "failed")
        .values(status="queued")
        .execution_options(synchronize_session=False)
    )
    if rows_updated(claimed) != 1:
        db.session.rollback()
        job = get_job(job_id)
        raise ConflictError(
            "status", f"Print job {job.id} is {job.status}: only a failed job can be retried."
        )
    audit.record("print_job.retried", job.entity, job.entity_id, actor=actor, after={"job": job.id})
    db.session.commit()
    return _send(job_id, actor=actor, now=now, send=send, timeout=timeout)


def _send(job_id: int, *, actor: User, now: datetime, send: Sender, timeout: float) -> PrintJob:
    """Send a queued job outside any transaction, then record ``sent`` or ``failed``."""
    job = get_job(job_id)
    printer = job.printer
    host, port, payload, dpi = printer.host, printer.port, job.payload, printer.dpi
    db.session.commit()  # end the read transaction: no lock is held while the network waits
    error = ""
    try:
        send(host, port, payload, timeout)
    except PrinterUnreachable as exc:
        error = str(exc)
    job = get_job(job_id)
    job.attempts += 1
    after = {"job": job.id, "printer": printer.name, "attempt": job.attempts}
    if error:
        job.status = "failed"
        job.error = error
        audit.record(
            "print_job.failed",
            job.entity,
            job.entity_id,
            actor=actor,
            after={**after, "error": error},
        )
        db.session.commit()
        return job
    job.status = "sent"
    job.error = ""
    job.sent_dt = now
    audit.record("print_job.sent", job.entity, job.entity_id, actor=actor, after=after)
    # Sent: the labels are printed, logged exactly like a PDF or ZPL download (same commit
    # sequence as a download: the job's status is committed with it).
    label_service.record_render(
        job.kind, job.entity, job.entity_id, f"zpl{dpi}", job.labels, job.reason, actor
    )  # no reason check here: the job was accepted with its reason (or as a first print)
    return get_job(job_id)


# --- JSON -----------------------------------------------------------------------------------


def printer_to_dict(printer: Printer) -> dict[str, Any]:
    """Return the API form of a printer."""
    return {
        "id": printer.id,
        "name": printer.name,
        "host": printer.host,
        "port": printer.port,
        "dpi": printer.dpi,
        "label_types": list(printer.label_types),
    }


def job_to_dict(job: PrintJob) -> dict[str, Any]:
    """Return the API form of a print job."""
    return {
        "id": job.id,
        "status": job.status,
        "printer": job.printer.name,
        "entity": job.entity,
        "entity_id": job.entity_id,
        "labels": job.labels,
        "attempts": job.attempts,
        "error": job.error or None,
        "reason": job.reason or None,
        "created_at": job.created_dt.isoformat() if job.created_dt else None,
        "sent_at": job.sent_dt.isoformat() if job.sent_dt else None,
    }


def label_type_choices() -> Iterable[str]:
    """Return the label types a printer can take."""
    return LABEL_TYPES
