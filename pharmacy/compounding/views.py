"""Ingredient lots, batches, stock, trace and recall."""

from flask import Blueprint

bp = Blueprint("compounding", __name__, url_prefix="/compounding")
