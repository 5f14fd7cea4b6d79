"""The JSON API under ``/api/v1``; importing this package registers every resource."""

from pharmacy.api import (  # noqa: F401  (modules add routes to bp)
    audit,
    batches,
    continuity,
    dispensing,
    fhir,
    fills,
    followup,
    formulations,
    labels,
    lots,
    openapi,
    orders,
    patients,
    plan,
    printing,
    settings,
    tokens,
    trace,
)
from pharmacy.api.base import bp

__all__ = ["bp"]
