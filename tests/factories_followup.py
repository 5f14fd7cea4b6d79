"""Factories for a patient's follow-up history: lab results, symptom reports, and years of
renewed orders with dispensed fills and reviews (the patient page's scale tests).

Rows are written directly with the models; each function commits.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pharmacy.extensions import db
from pharmacy.models import (
    Fill,
    FillAllocation,
    FillVial,
    Observation,
    Order,
    OrderReview,
    Patient,
    SymptomReport,
    now_utc,
)
from tests.factories import user
from tests.factories_fills import make_batch, make_verified_order

MONTHLY = [{"dose_mcg": 1000, "every": 1, "unit": "month", "count": None}]


def add_observations(
    patient: Patient, days: list[date], test: str = "b12", value: int = 420
) -> list[int]:
    """Record one result of ``test`` on each of ``days`` (in that order); return their ids."""
    ids = []
    for k, day in enumerate(days):
        obs = Observation(
            patient_id=patient.id,
            test=test,
            loinc={"b12": "2132-9", "mma": "13964-8", "hemoglobin": "718-7"}[test],
            value=Decimal(value + k),
            unit={"b12": "pg/mL", "mma": "nmol/L", "hemoglobin": "g/dL"}[test],
            given_value=Decimal(value + k),
            given_unit={"b12": "pg/mL", "mma": "nmol/L", "hemoglobin": "g/dL"}[test],
            reference_low=Decimal(200),
            reference_high=Decimal(900),
            flag="normal",
            effective_date=day,
            recorded_by_id=user("pharmacist").id,
        )
        db.session.add(obs)
        db.session.flush()
        ids.append(obs.id)
    db.session.commit()
    return ids


def add_reports(patient: Patient, days: list[date]) -> list[int]:
    """Record one symptom report on each of ``days``; return their ids."""
    ids = []
    for day in days:
        report = SymptomReport(
            patient_id=patient.id,
            report_date=day,
            symptoms={"fatigue": "better"},
            worse=False,
            recorded_by_id=user("pharmacist").id,
        )
        db.session.add(report)
        db.session.flush()
        ids.append(report.id)
    db.session.commit()
    return ids


def add_order_years(patient: Patient, years: int, today: date) -> list[Order]:
    """Give ``patient`` a monthly order for each of the last ``years`` years, each renewed by
    the next: three dispensed fills from one batch and a review each. Returns the orders,
    oldest first; the last is in force."""
    batch = make_batch(vials=40 * years + 40)
    orders: list[Order] = []
    serial = 1
    for k in range(years):
        start = today - timedelta(days=365 * (years - k) - 30)
        order = make_verified_order(
            patient,
            phases=MONTHLY,
            start_date=start,
            days_supply=90,
            refills=3,
            verified_dt=now_utc() - timedelta(days=365 * (years - k) - 30),
            expires_on=start + timedelta(days=365),
            renews_id=orders[-1].id if orders else None,
        )
        if orders:
            orders[-1].renewal_state = "replaced"
        for n in range(3):
            day = start + timedelta(days=90 * n)
            fill = Fill(
                order_id=order.id,
                fill_number=n,
                status="dispensed",
                vials=3,
                dispense_date=day,
                dispensed_dt=now_utc() - timedelta(days=(today - day).days),
                plan={
                    "doses": [
                        {"date": (day + timedelta(days=30 * d)).isoformat(), "fill_number": n}
                        for d in range(3)
                    ]
                },
            )
            allocation = FillAllocation(batch_id=batch.id, vials=3)
            for _ in range(3):
                allocation.vial_rows.append(FillVial(batch_id=batch.id, serial=serial))
                serial += 1
            fill.allocations.append(allocation)
            db.session.add(fill)
        db.session.add(
            OrderReview(
                order_id=order.id,
                decision="continue",
                note=f"Year {k + 1}",
                reviewed_on=start + timedelta(days=60),
                reviewed_by_id=user("prescriber").id,
            )
        )
        orders.append(order)
        db.session.commit()
    return orders
