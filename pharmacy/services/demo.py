"""The demo pharmacy: settings, one user per role, formulations, released stock.

``load_demo`` is idempotent: it adds only what is missing, so ``make run`` can call
it every time.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pharmacy.extensions import db
from pharmacy.services import audit
from pharmacy.services.settings import get_settings
from pharmacy.services.users import create_user, find_user

DEMO_PASSWORD = "demo-pass-1"

# username, role, full name, NPI (valid check digit), clinic, phone
DEMO_USERS = (
    (
        "prescriber",
        "prescriber",
        "Dr. Maya Chen",
        "1234567893",
        "Riverside Family Clinic",
        "555-0142",
    ),
    ("technician", "technician", "Tom Alvarez", None, None, None),
    ("pharmacist", "pharmacist", "Priya Shah", None, None, None),
    ("admin", "admin", "Alex Morgan", None, None, None),
)


def _settings() -> bool:
    settings = get_settings()
    if settings.address:
        return False
    settings.name = "Northside Compounding Pharmacy"
    settings.address = "120 Elm Street, Springfield, IL 62701"
    settings.phone = "(217) 555-0100"
    settings.licence_number = "IL-PHR-054321"
    settings.timezone = "America/Chicago"
    settings.im_max_ml = Decimal("2.0")
    audit.record("settings.demo_loaded", "settings", 1, after={"name": settings.name})
    db.session.commit()
    return True


def _users() -> int:
    added = 0
    for username, role, full_name, npi, clinic, phone in DEMO_USERS:
        if find_user(username) is None:
            create_user(
                {
                    "username": username,
                    "role": role,
                    "full_name": full_name,
                    "npi": npi,
                    "clinic": clinic,
                    "phone": phone,
                    "password": DEMO_PASSWORD,
                },
                actor=None,
            )
            added += 1
    return added


# --- Stock: formulations, released ingredient lots, released batches -----------------------

_ACTIVE = {"component": "Cyanocobalamin", "amount": "1000", "unit": "mcg/mL", "active": True}
_PRESERVATIVE = {"component": "Benzyl alcohol", "amount": "1.5", "unit": "% v/v", "active": False}
_SALT = {"component": "Sodium chloride", "amount": "0.9", "unit": "% w/v", "active": False}
_VEHICLE = {"component": "Sterile water for injection", "unit": "q.s.", "active": False}


# Worksheet steps and equipment of the demo formulations (a terminally sterilized MDV).
_MDV_PROCEDURE = [
    "Clean and sanitize the ISO 5 workbench with sterile 70 % isopropyl alcohol; let it dry.",
    "Weigh the cyanocobalamin as shown above; record the balance reading and initial.",
    "Dissolve the active and the sodium chloride in about 80 % of the sterile water.",
    "Add the benzyl alcohol; q.s. to the batch volume with sterile water; mix until clear.",
    "Fill the vials with the overfill shown; stopper and crimp each vial.",
    "Autoclave the sealed vials at 121 °C for 20 minutes; attach the indicator strip here.",
    "Inspect every vial for particles and seal integrity; set aside the sterility samples.",
]
_EQUIPMENT = [
    "ISO 5 laminar airflow workbench (certified)",
    "Analytical balance, 0.1 mg readability",
    "Class A graduated cylinder",
    "Autoclave with chart recorder",
]


def _mdv(volume: str, overfill: str, gtin: str | None) -> dict:
    """Return a multiple-dose formulation body: Category 2, terminally sterilized, tested."""
    return {
        "code": f"CYB-{volume}ML-MDV",
        "name": f"Cyanocobalamin 1,000 mcg/mL, {volume} mL multiple-dose vial",
        "drug": "cyanocobalamin",
        "concentration_mcg_per_ml": "1000",
        "vial_volume_ml": volume,
        "container": "multiple-dose",
        "overfill_ml": overfill,
        "category": 2,
        "sterilization": "terminal",
        "sterility_tested": True,
        "nonsterile_components": True,
        "storage": "refrigerated",
        "protect_from_light": True,
        "in_use_days": 28,
        "gtin": gtin,
        "ingredients": [_ACTIVE, _PRESERVATIVE, _SALT, _VEHICLE],
        "procedure": _MDV_PROCEDURE,
        "equipment": _EQUIPMENT,
    }


# Terminal sterilization with a passed sterility test, refrigerated: 60-day BUD for the MDVs;
# the preservative-free 1 mL vial is sterile-filtered (aseptic) and tested: 45 days.
DEMO_FORMULATIONS = (
    {
        "code": "CYB-1ML-SDV",
        "name": "Cyanocobalamin 1,000 mcg/mL, 1 mL single-dose vial",
        "drug": "cyanocobalamin",
        "concentration_mcg_per_ml": "1000",
        "vial_volume_ml": "1",
        "container": "single-dose",
        "overfill_ml": "0.10",
        "category": 2,
        "sterilization": "aseptic",
        "sterility_tested": True,
        "nonsterile_components": True,
        "storage": "refrigerated",
        "protect_from_light": True,
        "gtin": None,
        "ingredients": [_ACTIVE, _SALT, _VEHICLE],
    },
    _mdv("10", "0.50", "00312345678906"),  # GTIN-14 with a valid GS1 check digit
    _mdv("30", "0.80", None),
)

# component, manufacturer, lot, months to expiry (month-only), quantity, unit, assay, LOD
DEMO_LOTS = (
    ("Cyanocobalamin", "Fagron (USP powder)", "FG-CY-24117", 24, "25", "g", "98.5", "8.0"),
    ("Benzyl alcohol", "Spectrum Chemical (NF)", "SP-BA-7730", 30, "500", "mL", None, None),
    ("Sodium chloride", "Fisher (USP)", "FS-NACL-5521", 36, "1000", "g", None, None),
    ("Sterile water for injection", "Hospira", "HO-WFI-90412", 18, "40000", "mL", None, None),
)

DEMO_BATCH_VIALS = {"CYB-1ML-SDV": 60, "CYB-10ML-MDV": 40, "CYB-30ML-MDV": 40}
DEMO_BATCH_AGE = timedelta(days=2)  # compounded two days before the demo is loaded


def _formulations() -> int:
    from pharmacy.services import formulary

    pharmacist = find_user("pharmacist")
    added = 0
    for body in DEMO_FORMULATIONS:
        if formulary.current(body["code"]) is None:
            formulary.create_formulation(body, pharmacist)
            added += 1
    return added


def _lots() -> int:
    from sqlalchemy import select

    from pharmacy.models import IngredientLot
    from pharmacy.services import lots

    technician, pharmacist = find_user("technician"), find_user("pharmacist")
    today = lots.local_today()
    added = 0
    for component, maker, number, months, quantity, unit, assay, lod in DEMO_LOTS:
        exists = db.session.execute(
            select(IngredientLot.id).where(IngredientLot.lot == number)
        ).first()
        if exists:
            continue
        month = today.month - 1 + months
        expiry = f"{today.year + month // 12:04d}-{month % 12 + 1:02d}"
        lot = lots.receive_lot(
            {
                "component": component,
                "manufacturer": maker,
                "lot": number,
                "expiry": expiry,
                "quantity": quantity,
                "unit": unit,
                "assay_percent": assay,
                "lod_percent": lod,
                "coa_reference": f"COA-{number}",
            },
            technician,
        )
        lots.release_lot(lot.id, pharmacist)
        added += 1
    return added


def _batches() -> int:
    from sqlalchemy import select

    from pharmacy.models import Batch, Formulation, IngredientLot, now_utc
    from pharmacy.services import batches, formulary

    technician, pharmacist = find_user("technician"), find_user("pharmacist")
    added = 0
    for body in DEMO_FORMULATIONS:
        code = body["code"]
        has_batch = db.session.execute(
            select(Batch.id)
            .join(Formulation, Batch.formulation_id == Formulation.id)
            .where(Formulation.code == code)
            .limit(1)
        ).first()
        formulation = formulary.get_active(code)
        if has_batch or formulation is None:
            continue
        lot_ids = []
        for ingredient in formulation.ingredients:
            lot = db.session.execute(
                select(IngredientLot).where(
                    IngredientLot.lot.in_([row[2] for row in DEMO_LOTS]),
                    IngredientLot.component == ingredient.component,
                )
            ).scalar_one()
            lot_ids.append(lot.id)
        batch = batches.compound_batch(
            {
                "formulation": code,
                "vials": DEMO_BATCH_VIALS[code],
                "ingredient_lots": lot_ids,
                "compounded_at": (now_utc() - DEMO_BATCH_AGE).isoformat(),
            },
            technician,
        )
        if batch.sterility_test is not None:
            batches.record_sterility(batch.lot_number, "passed", pharmacist)
        batches.release_batch(batch.lot_number, pharmacist)
        added += 1
    return added


def _orders() -> int:
    """Put one order in the pharmacist's verification queue (only if there are no orders yet)."""
    from pharmacy.models import Order
    from pharmacy.services.orders import local_today, submit_order

    if db.session.execute(db.select(Order.id).limit(1)).first() is not None:
        return 0
    prescriber = find_user("prescriber")
    start = local_today()
    submit_order(
        {
            "patient": {
                "first_name": "Ruth",
                "last_name": "Okafor",
                "dob": "1958-04-17",
                "mrn": "MRN-20417",
                "allergies": "Penicillin (rash)",
            },
            "drug": "cyanocobalamin",
            "concentration_mcg_per_ml": 1000,
            "vial_volume_ml": 10,
            "container": "multiple-dose",
            "route": "IM",
            "start_date": start.isoformat(),
            "phases": [
                {"dose_mcg": 1000, "every": 1, "unit": "day", "count": 7},
                {"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4},
                {"dose_mcg": 1000, "every": 1, "unit": "month", "count": None},
            ],
            "days_supply": 56,
            "refills": 5,
            "indication": "Pernicious anaemia (B12 below 150 pg/mL, intrinsic factor antibodies)",
            "compounding_reason": "Commercial 10 mL vials on national shortage; preservative "
            "and strength matched to the patient's prior product.",
            "notes": "Demo order: verify it, fill it from the work list, print and check the labels.",
        },
        prescriber,
        source="web",
    )
    return 1


def load_demo() -> list[str]:
    """Load whatever of the demo pharmacy is missing; return what was added."""
    done = []
    if _settings():
        done.append("pharmacy settings")
    if count := _users():
        done.append(f"{count} users")
    if count := _formulations():
        done.append(f"{count} formulations")
    if count := _lots():
        done.append(f"{count} released ingredient lots")
    if count := _batches():
        done.append(f"{count} released batches")
    if _orders():
        done.append("1 order awaiting verification")
    return done
