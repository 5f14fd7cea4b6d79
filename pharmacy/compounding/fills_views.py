"""Filling orders, voiding fills, work lists, trace and recall (routes on the compounding blueprint)."""

from pharmacy.compounding.views import bp  # noqa: F401  (routes below add to it)
