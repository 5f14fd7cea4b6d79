"""Order entry, order lists and pharmacist verification."""

from flask import Blueprint

bp = Blueprint("orders", __name__, url_prefix="/orders")
