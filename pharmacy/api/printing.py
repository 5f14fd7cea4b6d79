"""``/api/v1`` label printers and print jobs (SPEC 6.4)."""

from __future__ import annotations

from flask import current_app, jsonify

from pharmacy.api.base import api_roles, api_user, bp
from pharmacy.api.schemas.base import operation, parse_body
from pharmacy.api.schemas.printing import PrinterIn, PrinterList, PrinterOut, PrintIn, PrintJobOut
from pharmacy.models import now_utc
from pharmacy.roles import ADMIN, PHARMACY_STAFF
from pharmacy.services import printing as service


def printer_options() -> dict:
    """Return the sender and timeout the app is configured with (tests point them elsewhere)."""
    return {
        "send": current_app.config.get("PRINTER_SEND") or service.send_raw,
        "timeout": float(
            current_app.config.get("PRINTER_TIMEOUT_SECONDS", service.DEFAULT_TIMEOUT_SECONDS)
        ),
    }


def _job(job, status: int = 202):
    response = jsonify(service.job_to_dict(job))
    response.status_code = status
    response.headers["Location"] = f"/api/v1/print-jobs/{job.id}"
    return response


@bp.post("/printers")
@api_roles(ADMIN)
@operation(request=PrinterIn, responses={201: PrinterOut}, creates=True)
def create_printer():
    """Configure a label printer: ``201`` with the printer."""
    body = parse_body(PrinterIn)
    printer = service.add_printer(
        name=body.name,
        host=body.host,
        port=body.port,
        dpi=body.dpi,
        label_types=list(body.label_types),
        actor=api_user(),
        now=now_utc(),
    )
    response = jsonify(service.printer_to_dict(printer))
    response.status_code = 201
    return response


@bp.get("/printers")
@api_roles(ADMIN)
@operation(responses={200: PrinterList})
def list_printers():
    """List the configured label printers."""
    return jsonify({"printers": [service.printer_to_dict(p) for p in service.list_printers()]})


@bp.post("/fills/<int:fill_id>/print")
@api_roles(*PHARMACY_STAFF)
@operation(request=PrintIn, responses={202: PrintJobOut}, creates=True)
def print_fill(fill_id: int):
    """Send the fill's labels to a printer: ``202`` with the job (``sent`` or ``failed``)."""
    body = parse_body(PrintIn)
    job = service.print_fill(
        fill_id,
        body.printer,
        actor=api_user(),
        now=now_utc(),
        reason=body.reason,
        **printer_options(),
    )
    return _job(job)


@bp.post("/batches/<lot>/print")
@api_roles(*PHARMACY_STAFF)
@operation(request=PrintIn, responses={202: PrintJobOut}, creates=True)
def print_batch(lot: str):
    """Send the batch label and its vial labels to a printer: ``202`` with the job."""
    body = parse_body(PrintIn)
    job = service.print_batch(
        lot, body.printer, actor=api_user(), now=now_utc(), reason=body.reason, **printer_options()
    )
    return _job(job)


@bp.get("/print-jobs/<int:job_id>")
@api_roles(*PHARMACY_STAFF)
@operation(responses={200: PrintJobOut})
def get_print_job(job_id: int):
    """Return a print job and its outcome."""
    return _job(service.get_job(job_id), 200)


@bp.post("/print-jobs/<int:job_id>/retry")
@api_roles(*PHARMACY_STAFF)
@operation(responses={202: PrintJobOut}, body_required=False)
def retry_print_job(job_id: int):
    """Send a failed job again: ``202`` with the job; ``409`` when it is not failed."""
    job = service.retry_job(job_id, actor=api_user(), now=now_utc(), **printer_options())
    return _job(job)
