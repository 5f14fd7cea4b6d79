"""Fills, labels, final check and dispensing."""

from flask import Blueprint

bp = Blueprint("dispensing", __name__, url_prefix="/fills")
