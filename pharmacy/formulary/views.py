"""Master formulation records."""

from flask import Blueprint

bp = Blueprint("formulary", __name__, url_prefix="/formulations")
