"""Build, render and log labels and the patient dosing calendar (SPEC 2.8, 2.9).

The ``labels`` package renders plain dataclasses; this module fills them from the database,
formatting every value the way the pharmacy prints it (dates in the pharmacy's zone). Every
render is logged in ``label_renders`` and audited; printing the same label (kind + entity)
again is a reprint and needs a reason. A label the renderer refuses (an element missing or
too long) becomes a 422 naming the element: nothing is printed with missing content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

import labels as labelkit
from pharmacy.database import write_intent
from pharmacy.domain.errors import ConflictError, DomainError, ValidationFailed
from pharmacy.domain.followup import MONITOR_LABELS
from pharmacy.domain.monitoring import monitoring_checkpoints
from pharmacy.domain.regimen import Regimen
from pharmacy.domain.scan import gs1_element_string, gs1_human_readable, rx_payload
from pharmacy.domain.sig import sig
from pharmacy.domain.units import format_ml, format_qty
from pharmacy.extensions import db
from pharmacy.models import Batch, Fill, Formulation, LabelRender, Order, User, now_utc
from pharmacy.services import audit, continuity, followup
from pharmacy.services import batches as batch_service
from pharmacy.services.fills import get_fill
from pharmacy.services.settings import get_settings, pharmacy_zone
from pharmacy.services.tx import atomic

DPIS = (203, 300)
OUTPUTS = ("pdf", "zpl203", "zpl300")
# Labels cannot be printed for these states: the vials are back in stock or must not be used.
FILL_BLOCKED = ("voided",)
BATCH_BLOCKED = ("rejected", "recalled")
# Route adjectives for "for ... use" (the sig's ROUTES are adverbs).
ROUTE_USE = {"IM": "intramuscular", "SC": "subcutaneous"}
# SPEC 6.2: temperatures print with the degree sign.
STORAGE_LINES = {
    "refrigerated": "Refrigerate 2-8 °C",
    "room": "Store at 20-25 °C",
    "frozen": "Store frozen -25 to -10 °C",
}


@dataclass(frozen=True)
class Rendered:
    """Hold a rendered file and how to send it."""

    body: bytes
    mimetype: str
    filename: str
    labels: int
    reprint: bool


# --- loading --------------------------------------------------------------------------------


def _printable_fill(fill: Fill) -> None:
    """Refuse labels for a fill whose vials went back to stock."""
    if fill.status in FILL_BLOCKED:
        raise ConflictError(
            "fill", f"Fill {fill.id} is {fill.status}: its labels cannot be printed."
        )


def _printable_batch(batch: Batch) -> None:
    """Refuse labels for a batch that must not be used."""
    if batch.status in BATCH_BLOCKED:
        raise ConflictError(
            "batch", f"Batch {batch.lot_number} is {batch.status}: its labels cannot be printed."
        )


# --- formatting -----------------------------------------------------------------------------


def local_date(value: datetime) -> date:
    """Return the pharmacy-local date of an aware datetime."""
    return value.astimezone(pharmacy_zone()).date()


def _local_dt(value: datetime) -> str:
    return value.astimezone(pharmacy_zone()).strftime("%Y-%m-%d %H:%M")


def drug_strength(drug: str, concentration_mcg_per_ml: Decimal) -> str:
    """Return ``Cyanocobalamin 1,000 mcg/mL``."""
    return f"{drug.capitalize()} {format_qty(Decimal(concentration_mcg_per_ml))} mcg/mL"


def storage_lines(formulation: Formulation) -> tuple[str, ...]:
    """Return the storage lines of a formulation (temperature, then light)."""
    lines = [STORAGE_LINES.get(formulation.storage, "")]
    if formulation.protect_from_light:
        lines.append("Protect from light")
    return tuple(line for line in lines if line)


def container_statement(formulation: Formulation) -> str:
    """Return the vial's container statement (SPEC 2.8)."""
    if formulation.container == "single-dose":
        return "Single-dose vial - discard unused portion"
    return f"Multiple-dose vial - discard {formulation.in_use_days} days after first puncture"


def initials(user: User | None) -> str:
    """Return a user's initials from the full name (``Dr. Priya Shah`` -> ``PS``)."""
    if user is None:
        return ""
    words = [
        w
        for w in (user.full_name or user.username).replace(".", ". ").split()
        if w.lower().rstrip(".") not in ("dr", "pharmd", "rph", "md")
    ]
    return "".join(w[0].upper() for w in words if w[0].isalpha())[:4]


def vial_barcode(batch: Batch, serial: int | None) -> labelkit.Barcode:
    """Return a vial's DataMatrix (SPEC 6.2): GS1 ``(01)(17)(10)(21)`` with a GTIN, else
    ``<lot>/<serial>``. ``serial`` None only for fills allocated before vials had serials."""
    gtin = batch.formulation.gtin
    lot = batch.lot_number
    if gtin:
        bud = local_date(batch.bud_dt)
        if serial is None:
            text = f"(01){gtin}(17){bud:%y%m%d}(10){lot}"
            return labelkit.Barcode(labelkit.GS1_DATAMATRIX, text, text)
        return labelkit.Barcode.gs1_datamatrix(gtin, bud, lot, serial)
    if serial is None:
        return labelkit.Barcode(labelkit.DATAMATRIX, lot, lot)
    return labelkit.Barcode.datamatrix(lot, serial)


def batch_barcode(batch: Batch) -> labelkit.Barcode:
    """Return the batch label's barcode: GS1-128 with a GTIN, else Code 128 of the lot."""
    gtin = batch.formulation.gtin
    if gtin:
        bud = local_date(batch.bud_dt)
        return labelkit.Barcode(
            labelkit.GS1_128,
            gs1_element_string(gtin, bud, batch.lot_number),
            gs1_human_readable(gtin, bud, batch.lot_number),
        )
    return labelkit.Barcode.code128(batch.lot_number)


def _fill_batches(fill: Fill) -> list[Batch]:
    """Return the fill's allocated batches, earliest BUD first, each once."""
    seen: dict[int, Batch] = {}
    for allocation in fill.allocations:
        seen.setdefault(allocation.batch.id, allocation.batch)
    return sorted(seen.values(), key=lambda b: (b.bud_dt, b.lot_number))


def fill_pharmacist(fill: Fill) -> User | None:
    """Return the pharmacist who answers for the fill: the checking one, else the verifier."""
    if fill.checked_by_id:
        return db.session.get(User, fill.checked_by_id)
    return fill.order.verified_by


# --- building ---------------------------------------------------------------------------------


def prescription_label(fill: Fill) -> labelkit.PrescriptionLabel:
    """Build the prescription (dispensing) label of ``fill``."""
    order: Order = fill.order
    settings = get_settings()
    batches = _fill_batches(fill)
    if not batches:
        raise ConflictError("fill", f"Fill {fill.id} has no allocated vials to label.")
    formulation = batches[0].formulation
    count = fill.vials
    volume = format_ml(Decimal(order.vial_volume_ml))
    quantity = f"{count} x {volume} {order.container} vial{'s' if count != 1 else ''}"
    dispensed = local_date(fill.dispensed_dt) if fill.dispensed_dt else local_date(now_utc())
    route_word = ROUTE_USE.get(order.route, order.route)
    return labelkit.PrescriptionLabel(
        pharmacy_name=settings.name,
        pharmacy_address=settings.address,
        pharmacy_phone=settings.phone,
        rx_number=order.rx_number,
        fill_number=fill.fill_number,
        date_dispensed=dispensed.isoformat(),
        patient_name=order.patient.full_name,
        prescriber=order.prescriber.full_name or order.prescriber.username,
        drug_strength=drug_strength(order.drug, order.concentration_mcg_per_ml),
        dosage_form_route=f"Injection, for {route_word} use ({order.route})",
        quantity=quantity,
        directions=order.sig,
        refills_left=max(order.refills - fill.fill_number, 0),
        bud=local_date(batches[0].bud_dt).isoformat(),
        batch_lots=tuple(b.lot_number for b in batches),
        storage=storage_lines(formulation),
        pharmacist_initials=fill.pharmacist_initials or initials(fill_pharmacist(fill)),
        barcode=labelkit.Barcode.code128(rx_payload(order.rx_number, fill.fill_number)),
    )


def vial_label(
    batch: Batch,
    route: str | None = None,
    *,
    serial: int | None = None,
    patient_name: str | None = None,
    rx_reference: str | None = None,
) -> labelkit.VialLabel:
    """Build the label of vial ``serial`` of ``batch``; a fill's vial labels also carry the
    order's route, the patient's name and ``Rx <rx>-<fill>``."""
    settings = get_settings()
    formulation = batch.formulation
    route_text = (
        f"For {ROUTE_USE[route]} use ({route})" if route in ROUTE_USE else "For IM or SC use"
    )
    return labelkit.VialLabel(
        drug_strength=drug_strength(formulation.drug, formulation.concentration_mcg_per_ml),
        volume=format_ml(Decimal(formulation.vial_volume_ml)),
        container_statement=container_statement(formulation),
        route=route_text,
        lot=batch.lot_number,
        bud=local_date(batch.bud_dt).isoformat(),
        storage=storage_lines(formulation),
        pharmacy_name=settings.name,
        pharmacy_phone=settings.phone,
        barcode=vial_barcode(batch, serial),
        serial=serial,
        patient_name=patient_name,
        rx_reference=rx_reference,
    )


def fill_vial_labels(fill: Fill) -> list[labelkit.VialLabel]:
    """Build one vial label per allocated vial of ``fill``, each with its serial."""
    order = fill.order
    reference = f"Rx {order.rx_number}-{fill.fill_number}"
    out: list[labelkit.VialLabel] = []
    for allocation in fill.allocations:
        # ``serials`` comes with serial allocation (SPEC 6.1); an allocation without it (made
        # before serials existed) still gets its vial labels, without a serial.
        serials: list[int | None] = list(getattr(allocation, "serials", None) or [])
        if len(serials) != allocation.vials:
            serials = [None] * allocation.vials
        for serial in serials:
            out.append(
                vial_label(
                    allocation.batch,
                    order.route,
                    serial=serial,
                    patient_name=order.patient.full_name,
                    rx_reference=reference,
                )
            )
    return out


def batch_label(batch: Batch) -> labelkit.BatchLabel:
    """Build the batch (stock) label."""
    formulation = batch.formulation
    return labelkit.BatchLabel(
        formulation=f"{formulation.name} ({formulation.code} v{formulation.version})",
        lot=batch.lot_number,
        vials=batch.vials,
        compounded_at=_local_dt(batch.compounded_dt),
        bud=_local_dt(batch.bud_dt),
        status=batch.status.upper(),
        barcode=batch_barcode(batch),
        storage=storage_lines(formulation),
    )


def stocks() -> dict[type, labelkit.Stock]:
    """Return the label stock of each label type, from the pharmacy settings."""
    s = get_settings()
    try:
        return {
            labelkit.PrescriptionLabel: labelkit.Stock(s.rx_label_width_in, s.rx_label_height_in),
            labelkit.VialLabel: labelkit.Stock(s.vial_label_width_in, s.vial_label_height_in),
            labelkit.BatchLabel: labelkit.Stock(s.batch_label_width_in, s.batch_label_height_in),
        }
    except labelkit.LabelError as exc:
        raise DomainError("stock", f"The label stock in the settings is not usable: {exc.message}")


# --- SPEC 5.8: every accepted order can be labelled -------------------------------------------


def order_label_problems(
    first_name: str, last_name: str, sig: str, prescriber: str
) -> dict[str, str]:
    """Return ``{order field: message}`` for each order text no label could print.

    The patient's name is tried on the prescription label, the fill vial labels and the dosing
    calendar; the directions (made from the phases) on the prescription label and the calendar;
    the prescriber's name on the prescription label, all on the pharmacy's configured stocks, at
    the smallest legible size. A character the label font lacks is reported on the name part
    that holds it; a name too long is reported on both parts.
    """
    texts = {
        "patient_name": f"{first_name} {last_name}".strip(),
        "directions": sig,
        "prescriber": prescriber,
    }
    problems = labelkit.fit_problems(texts, stocks())
    errors: dict[str, str] = {}
    if "patient_name" in problems:
        reason = problems["patient_name"]
        parts = {"patient.first_name": first_name, "patient.last_name": last_name}
        bad = [path for path, text in parts.items() if labelkit.missing_glyphs(text)]
        for path in bad or parts:
            errors[path] = f"The labels cannot print this patient name: {reason}."
    if "directions" in problems:
        errors["phases"] = (
            "The directions this regimen makes cannot be printed on the prescription label: "
            f"{problems['directions']}. Use fewer phases or a simpler schedule."
        )
    if "prescriber" in problems:
        errors["prescriber"] = (
            f"The labels cannot print the prescriber's name: {problems['prescriber']}. "
            "Correct it in the user's profile."
        )
    return errors


# Names longer than this print in small type on the vial label (it still fits down to 4.5 pt).
LONG_NAME = 47


def label_warnings(first_name: str, last_name: str, sig: str, prescriber: str) -> list[str]:
    """Return the live plan preview's warnings about printing this order's labels."""
    warnings = list(
        dict.fromkeys(order_label_problems(first_name, last_name, sig, prescriber).values())
    )
    name = f"{first_name} {last_name}".strip()
    if len(name) > LONG_NAME and not any("patient name" in w for w in warnings):
        warnings.append(
            f"The patient's name has {len(name)} characters: it prints in small type on the "
            "vial labels; check it is the name the patient goes by."
        )
    return warnings


def check_order_labels(first_name: str, last_name: str, sig: str, prescriber: str) -> None:
    """Refuse an order whose texts no label could print (SPEC 5.8).

    :raise ValidationFailed: 422 keyed by the order's JSON paths.
    """
    errors = order_label_problems(first_name, last_name, sig, prescriber)
    if errors:
        raise ValidationFailed(errors)


# --- rendering --------------------------------------------------------------------------------


def _groups(items: Sequence) -> list[list]:
    """Split labels into runs of one type (each run renders on its own stock)."""
    runs: list[list] = []
    for item in items:
        if runs and type(runs[-1][0]) is type(item):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def render(items: Sequence, output: str, dpi: int = 203) -> bytes:
    """Render labels to PDF or ZPL on the configured stocks.

    :raise DomainError: the renderer refused a label (field = the element at fault).
    """
    by_type = stocks()
    try:
        if output == "pdf":
            return labelkit.render_pdf(items, by_type, dpi=dpi)
        dpi = int(output.removeprefix("zpl"))
        zpl = "".join(
            labelkit.render_zpl(run, dpi, by_type[type(run[0])]) for run in _groups(items)
        )
        return zpl.encode("utf-8")
    except labelkit.LabelError as exc:
        raise _refused(exc) from None


def _refused(exc: labelkit.LabelError) -> DomainError:
    """Return the 422 error for a label the renderer refused, naming the element."""
    hint = " An admin can set it in Settings." if exc.field.startswith("pharmacy_") else ""
    return DomainError(
        exc.field, f"The label cannot be printed ({exc.field}): {exc.message}.{hint}"
    )


def _build(builder, *args):
    """Call a label builder, turning a bad barcode value into a 422 naming it."""
    try:
        return builder(*args)
    except labelkit.LabelError as exc:
        raise _refused(exc) from None


def previous_renders(kind: str, entity: str, entity_id: object) -> int:
    """Return how many times this label (kind + entity) was rendered before."""
    return db.session.execute(
        select(func.count(LabelRender.id)).where(
            LabelRender.kind == kind,
            LabelRender.entity == entity,
            LabelRender.entity_id == str(entity_id),
        )
    ).scalar_one()


def _require_reason(kind: str, entity: str, entity_id: object, reason: str | None) -> bool:
    """Return whether this is a reprint; refuse a reprint without a reason."""
    reprint = previous_renders(kind, entity, entity_id) > 0
    if reprint and not (reason or "").strip():
        raise DomainError(
            "reason",
            f"This {kind} label for {entity} {entity_id} was printed before: give a reason "
            "for the reprint.",
        )
    return reprint


@atomic
def _log(
    kind: str,
    entity: str,
    entity_id: object,
    output: str,
    count: int,
    reason: str | None,
    actor: User,
    *,
    reason_required: bool = True,
) -> bool:
    """Record the render and its audit event in one write transaction; return ``reprint``."""
    # The page's reads ran in a deferred SQLite transaction; end it, then write as a writer.
    db.session.commit()
    with write_intent():
        reprint = previous_renders(kind, entity, entity_id) > 0
        if reprint and reason_required and not (reason or "").strip():
            _require_reason(kind, entity, entity_id, reason)
        row = LabelRender(
            kind=kind,
            entity=entity,
            entity_id=str(entity_id),
            output=output,
            labels=count,
            reprint=reprint,
            reason=(reason or "").strip(),
            user_id=actor.id,
            rendered_dt=now_utc(),
        )
        db.session.add(row)
        audit.record(
            "label.reprinted" if reprint else "label.printed",
            entity,
            entity_id,
            actor=actor,
            after={
                "kind": kind,
                "output": output,
                "labels": count,
                "reprint": reprint,
                "reason": row.reason,
            },
        )
        db.session.commit()
    return reprint


def _dpi(dpi: int) -> int:
    if dpi not in DPIS:
        raise DomainError("dpi", "The printer resolution must be 203 or 300 dpi.")
    return dpi


def _output(output: str) -> str:
    if output not in OUTPUTS:
        raise DomainError("dpi", "The printer resolution must be 203 or 300 dpi.")
    return output


def fill_labels(
    fill_id: int, output: str, actor: User, reason: str | None = None, dpi: int = 203
) -> Rendered:
    """Render the prescription label and the vial labels of a fill, and log it.

    :param dpi: for a PDF, the printer's resolution: bar edges fall on its dot grid.

    :raise ConflictError: the fill is voided or has no allocations (409).
    :raise DomainError: a reprint without ``reason``, or a label the renderer refused (422).
    """
    output = _output(output)
    fill = get_fill(fill_id)
    _printable_fill(fill)
    _require_reason("prescription", "fill", fill.id, reason)
    items = [_build(prescription_label, fill), *_build(fill_vial_labels, fill)]
    body = render(items, output, _dpi(dpi))
    rx = fill.order.rx_number
    reprint = _log("prescription", "fill", fill.id, output, len(items), reason, actor)
    ext = "pdf" if output == "pdf" else "zpl"
    return Rendered(
        body,
        "application/pdf" if ext == "pdf" else "text/plain; charset=utf-8",
        f"RX{rx}-{fill.fill_number}-labels{'' if ext == 'pdf' else '-' + output[3:]}.{ext}",
        len(items),
        reprint,
    )


def batch_labels(
    lot_number: str,
    actor: User,
    count: int | None = None,
    reason: str | None = None,
    output: str = "pdf",
    dpi: int = 203,
) -> Rendered:
    """Render the batch label then ``count`` vial labels (default: one per vial), and log it.

    :raise ConflictError: the batch is rejected or recalled (409).
    :raise DomainError: a bad ``count``, a reprint without ``reason``, or a refused label.
    """
    output = _output(output)
    batch = batch_service.get_batch(lot_number)
    _printable_batch(batch)
    if count is None:
        count = batch.vials
    if not 1 <= count <= batch.vials:
        raise DomainError("count", f"Print between 1 and {batch.vials} vial labels.")
    _require_reason("vial", "batch", batch.lot_number, reason)
    vials = [_build(lambda n: vial_label(batch, serial=n), n) for n in range(1, count + 1)]
    items = [_build(batch_label, batch), *vials]
    body = render(items, output, _dpi(dpi))
    reprint = _log("vial", "batch", batch.lot_number, output, len(items), reason, actor)
    ext = "pdf" if output == "pdf" else "zpl"
    return Rendered(
        body,
        "application/pdf" if ext == "pdf" else "text/plain; charset=utf-8",
        f"{batch.lot_number}-labels.{ext}",
        len(items),
        reprint,
    )


# --- for the printers (services/printing.py) ---------------------------------------------------


def fill_label_items(fill_id: int) -> tuple[Fill, list]:
    """Return a fill and its labels (prescription, then one per vial), ready to render.

    :raise NotFound: no such fill. :raise ConflictError: the fill is voided.
    :raise DomainError: a label the renderer refuses.
    """
    fill = get_fill(fill_id)
    _printable_fill(fill)
    return fill, [_build(prescription_label, fill), *_build(fill_vial_labels, fill)]


def batch_label_items(lot_number: str) -> tuple[Batch, list]:
    """Return a batch and its labels (the batch label, then one vial label per serial).

    :raise NotFound: no such batch. :raise ConflictError: the batch is rejected or recalled.
    """
    batch = batch_service.get_batch(lot_number)
    _printable_batch(batch)
    vials = [_build(lambda n: vial_label(batch, serial=n), n) for n in range(1, batch.vials + 1)]
    return batch, [_build(batch_label, batch), *vials]


def require_reprint_reason(kind: str, entity: str, entity_id: object, reason: str | None) -> bool:
    """Return whether printing this label again is a reprint; refuse one without a reason."""
    return _require_reason(kind, entity, entity_id, reason)


def record_render(
    kind: str,
    entity: str,
    entity_id: object,
    output: str,
    count: int,
    reason: str | None,
    actor: User,
) -> bool:
    """Log labels sent to a printer as printed, like a download; return ``reprint``."""
    return _log(kind, entity, entity_id, output, count, reason, actor, reason_required=False)


# --- calendar ---------------------------------------------------------------------------------


def calendar_data(fill: Fill) -> labelkit.CalendarData:
    """Build the patient dosing calendar of a fill from the order's coverage (domain objects).

    The doses are the ones this fill's vials really serve (real batch BUDs, SPEC 5.4); the
    calendar also shows when the next fill is due and any dose no fill can cover.
    """
    order = fill.order
    settings = get_settings()
    cov = continuity.coverage(order)
    served = cov.walk.served_by(fill.fill_number)
    if not served:
        raise DomainError("plan", "The fill's vials serve no dose to put on a calendar.")
    own = cov.walk.vials_of(fill.fill_number)
    local = {v.number: i for i, v in enumerate(own, start=1)}
    discard = {v.number: v.discard_by for v in own}
    concentration = Decimal(order.concentration_mcg_per_ml)
    doses = [
        labelkit.CalendarDose(
            date=s.date,
            phase=s.dose.phase,
            dose_text=f"{format_ml(s.volume_ml)} ({format_qty(s.dose.dose_mcg)} mcg)",
            vial=local.get(s.vial),
            vial_discard_by=discard.get(s.vial),
        )
        for s in served
    ]
    all_doses = [s.dose for s in cov.walk.served]
    vial_rows = tuple((local[v.number], v.opened, v.discard_by) for v in own)
    next_due = order.next_fill_due_by if order.next_fill_number is not None else None
    uncovered = tuple(d.date for d in cov.uncovered_doses)
    if not uncovered and cov.next_fill is not None and cov.next_fill.fill_number is None:
        uncovered = (cov.next_fill.due_by,)
    regimen: Regimen = continuity.order_terms(order).regimen
    phases = []
    for number, phase in enumerate(regimen.phases, start=1):
        try:
            phases.append((number, sig(Regimen((phase,)), concentration, order.route)))
        except DomainError:
            phases.append((number, f"{format_qty(phase.dose_mcg)} mcg"))
    # SPEC 7.1: the order's monitoring tests and interval (version-1 orders: the defaults).
    frame = followup.order_frame(order)
    test_names = [MONITOR_LABELS.get(t, t) for t in frame.tests]
    # The fill's window: days_supply days from its first dose (or further with a carried vial).
    window_start = doses[0].date
    window_end = max(doses[-1].date, window_start + timedelta(days=order.days_supply - 1))
    checkpoints = tuple(
        (c.date, f"Lab check ({c.reason}): {', '.join(test_names)}")
        for c in monitoring_checkpoints(
            all_doses, regimen, frame.interval_months, tests=frame.tests
        )
        if window_start <= c.date <= window_end
    )
    return labelkit.CalendarData(
        pharmacy_name=settings.name,
        pharmacy_phone=settings.phone,
        patient_name=order.patient.full_name,
        rx_number=f"{order.rx_number}-{fill.fill_number}",
        drug_strength=drug_strength(order.drug, order.concentration_mcg_per_ml),
        sig=order.sig,
        doses=tuple(doses),
        phases=tuple(phases),
        checkpoints=checkpoints,
        vials=vial_rows,
        next_fill_due=next_due,
        uncovered_doses=uncovered,
    )


def fill_calendar(fill_id: int, actor: User) -> Rendered:
    """Render the patient dosing calendar (US letter) of a fill and log it."""
    fill = get_fill(fill_id)
    _printable_fill(fill)
    data = calendar_data(fill)
    try:
        body = labelkit.render_calendar(data)
    except labelkit.LabelError as exc:
        raise DomainError(exc.field, f"The calendar cannot be printed: {exc.message}")
    # A calendar is patient information, not a container label: log it, no reprint reason.
    reprint = _log("calendar", "fill", fill.id, "pdf", 1, None, actor, reason_required=False)
    return Rendered(
        body,
        "application/pdf",
        f"RX{fill.order.rx_number}-{fill.fill_number}-calendar.pdf",
        1,
        reprint,
    )


def render_history(entity: str, entity_id: object) -> list[LabelRender]:
    """Return the renders of an entity, newest first."""
    return list(
        db.session.execute(
            select(LabelRender)
            .where(LabelRender.entity == entity, LabelRender.entity_id == str(entity_id))
            .order_by(LabelRender.id.desc())
        ).scalars()
    )
