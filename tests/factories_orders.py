"""Order factories: a valid SPEC 3 order body, formulations for alerts, and stored orders."""

from __future__ import annotations

import copy
from decimal import Decimal

from pharmacy.database import write_intent
from pharmacy.models import Formulation
from tests import clock
from tests import factories_stock as stock

HIGH_DOSE = [
    {"dose_mcg": 1000, "every": 1, "unit": "day", "count": 7},
    {"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4},
    {"dose_mcg": 1000, "every": 1, "unit": "month", "count": None},
]


def order_body(**overrides) -> dict:
    """Return a valid order body (SPEC 3); ``patient__x=`` overrides a patient field.

    It starts today by the test clock (an order may start at most 7 days back and 365 ahead,
    SPEC 5.3); a test that needs the SPEC's 2026-12-01 example travels there and says so.
    """
    body = {
        "patient": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "dob": "1960-05-04",
            "mrn": "MRN-1001",
            "allergies": "penicillin",
        },
        "drug": "cyanocobalamin",
        "concentration_mcg_per_ml": 1000,
        "vial_volume_ml": 10,
        "container": "multiple-dose",
        "route": "IM",
        "start_date": clock.today().isoformat(),
        "phases": copy.deepcopy(HIGH_DOSE),
        "days_supply": 90,
        "refills": 1,
        "indication": "Pernicious anaemia (D51.0)",
        "compounding_reason": "Preservative concentration needed for multi-dose use; commercial"
        " vials on shortage.",
        "notes": "",
    }
    for key, value in overrides.items():
        if key.startswith("patient__"):
            body["patient"][key.removeprefix("patient__")] = value
        else:
            body[key] = value
    return body


def make_formulation(
    *,
    concentration=Decimal(1000),
    volume=Decimal(10),
    container="multiple-dose",
    benzyl_alcohol=True,
    code=None,
    status="active",
) -> Formulation:
    """Create and commit an active cyanocobalamin formulation (with benzyl alcohol by default).

    The orders' preset of :func:`tests.factories_stock.make_formulation`: one per product, so
    an order's concentration, volume and container find it.
    """
    ingredients = [("Cyanocobalamin USP", concentration, "mcg/mL", True)]
    if benzyl_alcohol:
        ingredients.append(("Benzyl alcohol", Decimal("1.5"), "% w/v", False))
    return stock.make_formulation(
        ingredients=ingredients,
        code=code or f"CY{int(concentration)}-{int(volume)}{container[0].upper()}",
        name=f"Cyanocobalamin {concentration} mcg/mL {volume} mL {container}",
        concentration_mcg_per_ml=concentration,
        vial_volume_ml=volume,
        container=container,
        overfill_ml=Decimal("0.5"),
        sterilization="aseptic",
        status=status,
    )


def make_order(username: str = "prescriber", **overrides):
    """Submit an order through the service as ``username``; return it (app context needed)."""
    from pharmacy.services.orders import submit_order
    from tests.factories import user

    with write_intent():
        return submit_order(order_body(**overrides), user(username), source="api")
