"""The JSON API under ``/api/v1``; importing this package registers every resource."""

from pharmacy.api import audit, batches, dispensing, fhir, fills, formulations, labels, lots, orders, tokens, trace  # noqa: F401  (modules add routes to bp)
from pharmacy.api.base import bp

__all__ = ["bp"]
