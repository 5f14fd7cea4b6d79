"""Dosing plan page."""

from flask import Blueprint

bp = Blueprint("plan", __name__, url_prefix="/plan")
