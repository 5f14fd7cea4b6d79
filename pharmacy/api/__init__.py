"""The JSON API under ``/api/v1``; importing this package registers every resource."""

from pharmacy.api import audit, batches, formulations, fhir, lots, dispensing, fills, labels, orders, plan, tokens, trace  # noqa: F401  (modules add routes to bp)
from pharmacy.api.base import bp

__all__ = ["bp"]
