"""``/orders`` bodies and answers (SPEC 3 "Order body", 5.1, 5.2, 7.1)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pharmacy.api.schemas.base import Day, Int, Out, Strict, Text, TextOrList
from pharmacy.api.schemas.common import PageOut, PageQuery
from pharmacy.api.schemas.plan import DosingIn


class PatientIn(Strict):
    """The patient named in an order."""

    first_name: Text(80) | None = None
    last_name: Text(80) | None = None
    dob: Text(20) | None = None
    mrn: Text(40) | None = None
    allergies: TextOrList(2000, items=50, item_length=200) | None = None
    phone: Text(40) | None = None
    address: Text(500) | None = None


class MonitoringIn(Strict):
    """Which labs follow the therapy, and how often (SPEC 7.1)."""

    tests: list[Text(20)] | None = Field(default=None, max_length=10)
    interval_months: Int(ge=1, le=12) | None = None


class OrderIn(DosingIn):
    """``POST /orders``: the order body; the prescriber comes from the signed-in user."""

    patient: PatientIn | None = None
    drug: Text(40) | None = None
    refills: Int(ge=0, le=11) | None = None
    indication: Text(2000) | None = None
    compounding_reason: Text(2000) | None = None
    notes: Text(2000) | None = None
    cause: Text(40) | None = None
    neurologic_symptoms: bool | None = None
    monitoring: MonitoringIn | None = None


class VerifyIn(Strict):
    """``POST /orders/<rx>/verify``: approve (acknowledging each warning) or reject."""

    decision: Text(20) | None = None
    reason: Text(2000) | None = None
    acknowledgements: dict[Text(60), Text(2000)] | None = Field(default=None, max_length=50)


class CancelIn(Strict):
    """``POST /orders/<rx>/cancel``."""

    reason: Text(2000) | None = None


class OrderOut(Out):
    """An order: its Rx number, status, patient, regimen, plan and alerts."""

    rx_number: str
    status: str
    patient: dict[str, Any]
    phases: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    plan: dict[str, Any] | None = None


class OrderListOut(PageOut):
    """A page of orders, newest first."""

    orders: list[OrderOut]


class OrderListQuery(PageQuery):
    """Filters and page of ``GET /orders``."""

    status: Text(20) | None = None
    patient: Int(ge=1, le=2**31 - 1) | None = None
    submitted_from: Day | None = None
    submitted_to: Day | None = None
