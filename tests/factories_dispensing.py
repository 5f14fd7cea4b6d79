"""Factories for label, final-check and dispensing tests: a verified order with an allocated fill.

Rows are built directly with the models (reusing ``tests.factories_fills`` for patients,
formulations, batches and orders) so these tests do not depend on the fill service. The
fill's plan is computed by the dosing core, as the fill service does.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pharmacy.domain.plan_input import parse_phases
from pharmacy.domain.plan_json import plan_to_dict
from pharmacy.domain.sig import sig
from pharmacy.domain.vials import PlanRequest, VialSpec, plan_vials
from pharmacy.extensions import db
from pharmacy.models import Fill, FillAllocation, FillVial, LabelRender, now_utc
from pharmacy.services.settings import get_settings
from tests import clock
from tests.factories import user
from tests.factories_fills import (
    HIGH_DOSE,
    make_batch,
    make_formulation,
    make_patient,
    make_verified_order,
)

GTIN = "09501101530003"  # valid GS1 mod-10 check digit


def make_labelled_fill(
    *,
    gtin: str | None = GTIN,
    lots: int = 1,
    batch_status: str = "released",
    bud_days: int = 60,
    phases: list | None = None,
    monitoring_tests: list | None = None,
    start: date | None = None,
    patient_name: tuple[str, str] = ("Ada", "Lovelace"),
    **order_fields,
) -> Fill:
    """Create and commit an allocated fill of 10 mL multiple-dose vials (default HIGH_DOSE).

    :param gtin: the formulation's GTIN (None: plain Code 128 lot barcodes).
    :param lots: spread the fill's vials over this many batches (1 or 2).
    """
    settings = get_settings()
    settings.name = "Riverside Compounding Pharmacy"
    settings.address = "12 Harbor St, Portland, ME 04101"
    settings.phone = "(207) 555-0142"
    formulation = make_formulation(
        gtin=gtin,
        vial_volume_ml=Decimal(10),
        container="multiple-dose",
        name="Cyanocobalamin 1,000 mcg/mL injection, 10 mL multiple-dose",
    )
    start = start or clock.today()
    phases = phases or HIGH_DOSE
    regimen = parse_phases(phases)
    concentration = Decimal(1000)
    patient = make_patient(first_name=patient_name[0], last_name=patient_name[1])
    order = make_verified_order(
        patient,
        concentration_mcg_per_ml=concentration,
        vial_volume_ml=Decimal(10),
        container="multiple-dose",
        route="IM",
        start_date=start,
        phases=phases,
        days_supply=90,
        refills=2,
        sig=sig(regimen, concentration, "IM"),
        monitoring_tests=monitoring_tests or [],
        verified_by_id=user("pharmacist").id,
        **order_fields,
    )
    request = PlanRequest(
        regimen=regimen,
        start_date=start,
        concentration_mcg_per_ml=concentration,
        vial=VialSpec(Decimal(10), "multiple-dose"),
        in_use_days=28,
        days_supply=90,
        fills=3,
        bud_days=bud_days,
        route="IM",
    )
    plan = plan_to_dict(plan_vials(request))
    vials = next(f["vials"] for f in plan["fills"] if f["fill_number"] == 0)
    batches = [
        make_batch(
            formulation,
            vials=10,
            status=batch_status,
            bud_dt=now_utc() + timedelta(days=bud_days + i),
        )
        for i in range(lots)
    ]
    fill = Fill(
        order_id=order.id,
        fill_number=0,
        status="allocated",
        vials=vials,
        dispense_date=start,
        plan=plan,
        created_by_id=user("technician").id,
    )
    split = [vials] if lots == 1 else [vials - vials // 2, vials // 2]
    for batch, count in zip(batches, split):
        if count:
            allocation = FillAllocation(batch_id=batch.id, vials=count)
            allocation.vial_rows = [
                FillVial(batch_id=batch.id, serial=serial) for serial in range(1, count + 1)
            ]
            fill.allocations.append(allocation)
            batch.vials_available -= count
    db.session.add(fill)
    db.session.commit()
    return fill


def mark_printed(fill: Fill) -> None:
    """Log a first print of the fill's labels (the final check is refused before one)."""
    db.session.add(
        LabelRender(
            kind="prescription",
            entity="fill",
            entity_id=str(fill.id),
            output="pdf",
            labels=1 + fill.vials,
            reprint=False,
            reason="",
            user_id=user("technician").id,
            rendered_dt=now_utc(),
        )
    )
    db.session.commit()


def scans_for(fill: Fill, *, gs1: bool = True) -> list[str]:
    """Return the scans that pass the fill's final check: Rx label, then each vial's DataMatrix.

    ``gs1``: a GS1 DataMatrix as a 2D scanner sends it (``]d2``, GS before the serial) when
    the formulation has a GTIN; else (or with ``gs1=False``) the plain ``<lot>/<serial>``.
    """
    from labels.gs1 import GS
    from pharmacy.domain.scan import gs1_element_string
    from pharmacy.services.labels import local_date

    scans = [f"RX{fill.order.rx_number}-{fill.fill_number}"]
    for allocation in fill.allocations:
        batch = allocation.batch
        gtin = batch.formulation.gtin
        for serial in allocation.serials:
            if gs1 and gtin:
                data = gs1_element_string(gtin, local_date(batch.bud_dt), batch.lot_number)
                scans.append(f"]d2{data}{GS}21{serial}")
            else:
                scans.append(f"{batch.lot_number}/{serial}")
    return scans
