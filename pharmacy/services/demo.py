"""The demo pharmacy: settings, one user per role, formulations, released stock.

``load_demo`` is idempotent: it adds only what is missing, so ``make run`` can call
it every time.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pharmacy.extensions import db
from pharmacy.models import Batch, Formulation, IngredientLot, Order, Patient, now_utc
from pharmacy.services import audit, batches, continuity, followup, formulary, lots
from pharmacy.services.fills import allocate_fill
from pharmacy.services.orders import submit_order, verify_order
from pharmacy.services.settings import get_settings, local_today
from pharmacy.services.users import create_user, find_user

if TYPE_CHECKING:
    from pharmacy.models import User

DEMO_PASSWORD = "b12-demo-pass"

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


def _demo_user(username: str) -> User:
    """Return a demo user (``_users`` made them first)."""
    user = find_user(username)
    if user is None:
        raise RuntimeError(f"The demo user {username!r} is missing.")
    return user


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
DEMO_FORMULATIONS: tuple[dict[str, Any], ...] = (
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
# Compounded 14 days and 6 hours before the demo is loaded, so that its sterility test could
# pass (USP <71> incubates for not less than 14 days, SPEC 5.6) an hour after incubation
# ended, and the 45-day 1 mL batch still has a month of BUD left.
DEMO_BATCH_AGE = timedelta(days=14, hours=6)
DEMO_STERILITY_AFTER = timedelta(days=14, hours=1)


def _formulations() -> int:

    pharmacist = _demo_user("pharmacist")
    added = 0
    for body in DEMO_FORMULATIONS:
        if formulary.current(body["code"]) is None:
            formulary.create_formulation(body, pharmacist)
            added += 1
    return added


def _lots() -> int:
    from sqlalchemy import select

    technician, pharmacist = _demo_user("technician"), _demo_user("pharmacist")
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

    technician, pharmacist = _demo_user("technician"), _demo_user("pharmacist")
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
            batches.record_sterility(
                batch.lot_number,
                "passed",
                pharmacist,
                completed_at=(batch.compounded_dt + DEMO_STERILITY_AFTER).isoformat(),
                reference=f"LAB-{batch.lot_number}",
            )
        batches.release_batch(batch.lot_number, pharmacist)
        added += 1
    return added


def _orders() -> int:
    """Put one order in the pharmacist's verification queue (only if there are no orders yet)."""

    if db.session.execute(db.select(Order.id).limit(1)).first() is not None:
        return 0
    prescriber = _demo_user("prescriber")
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


# The counter-safety story (SPEC 5.1, 5.2): two orders waiting for the pharmacist, one
# stopped by an allergy, one with two warnings to acknowledge. (first, last, dob, mrn,
# allergies, dose mcg, notes)
_SAFETY_ORDERS = (
    (
        "Walter",
        "Lindqvist",
        "1947-02-11",
        "MRN-70211",
        "Cyanocobalamin (anaphylaxis 2019); penicillin",
        1000,
        "Demo: the allergy stop. Reject it with a reason and call the prescriber.",
    ),
    (
        "Grace",
        "Mbeki",
        "1971-08-30",
        "MRN-80830",
        "",
        1500,
        (
            "Demo: two warnings (dose above the usual maximum, allergies not recorded);"
            " approving needs a reason for each."
        ),
    ),
)


def _safety_orders() -> int:
    """Add the allergy-stop and the two-warning orders (once: keyed on the first MRN)."""

    if db.session.execute(db.select(Patient.id).where(Patient.mrn == _SAFETY_ORDERS[0][3])).first():
        return 0
    prescriber = _demo_user("prescriber")
    start = local_today()
    for first, last, dob, mrn, allergies, dose, notes in _SAFETY_ORDERS:
        submit_order(
            {
                "patient": {
                    "first_name": first,
                    "last_name": last,
                    "dob": dob,
                    "mrn": mrn,
                    "allergies": allergies,
                    "phone": "555-0100",
                },
                "drug": "cyanocobalamin",
                "concentration_mcg_per_ml": 1000,
                "vial_volume_ml": 10,
                "container": "multiple-dose",
                "route": "IM",
                "start_date": start.isoformat(),
                "phases": [
                    {"dose_mcg": dose, "every": 1, "unit": "week", "count": 4},
                    {"dose_mcg": 1000, "every": 1, "unit": "month", "count": None},
                ],
                "days_supply": 56,
                "refills": 2,
                "indication": "Vitamin B12 deficiency (E53.8)",
                "compounding_reason": "Commercial 10 mL vials on national shortage.",
                "notes": notes,
            },
            prescriber,
            source="web",
        )
    return len(_SAFETY_ORDERS)


# The continuity story (SPEC 7.5): patients whose maintenance is slipping.
_CONTINUITY_PATIENTS = (
    # (first, last, dob, mrn, phone, days since the first dose, refills, what it shows)
    ("Harold", "Brennan", "1949-09-02", "MRN-30902", "555-0142", 35, 3, "refill overdue"),
    ("Maria", "Castillo", "1962-01-23", "MRN-40123", "555-0178", 52, 3, "lapsed"),
    ("Samuel", "Achterberg", "1955-06-30", "MRN-50630", "555-0193", 20, 0, "renewal needed"),
)


def _continuity_orders() -> int:
    """Add monthly maintenance orders whose original fill was dispensed weeks ago.

    One patient's refill is overdue, one has lapsed (past the grace days), one has no
    refills left and needs a renewal. Only once (skipped when any of the patients exists).
    """
    from datetime import timedelta

    if db.session.execute(
        db.select(Patient.id).where(Patient.mrn == _CONTINUITY_PATIENTS[0][3])
    ).first():
        return 0
    prescriber = _demo_user("prescriber")
    pharmacist = _demo_user("pharmacist")
    technician = _demo_user("technician")
    today = local_today()
    added = 0
    for first, last, dob, mrn, phone, ago, refills, story in _CONTINUITY_PATIENTS:
        order = submit_order(
            {
                "patient": {
                    "first_name": first,
                    "last_name": last,
                    "dob": dob,
                    "mrn": mrn,
                    "allergies": "NKDA",
                },
                "drug": "cyanocobalamin",
                "concentration_mcg_per_ml": 1000,
                "vial_volume_ml": 10,
                "container": "multiple-dose",
                "route": "IM",
                "start_date": today.isoformat(),
                "phases": [{"dose_mcg": 1000, "every": 1, "unit": "month", "count": None}],
                "days_supply": 30,
                "refills": refills,
                "indication": "Pernicious anaemia, maintenance",
                "compounding_reason": "Commercial 10 mL vials on national shortage.",
                "notes": f"Demo: {story}.",
            },
            prescriber,
            source="web",
        )
        verify_order(order, pharmacist, "approve", "Demo maintenance order")
        order = db.session.get_one(Order, order.id)
        if hasattr(order.patient, "phone") and not order.patient.phone:
            order.patient.phone = phone  # for the outreach call list
        started = today - timedelta(days=ago)
        # The therapy began weeks ago: move the order and its first fill back in time.
        order.start_date = started
        submitted, verified, expires = order.submitted_dt, order.verified_dt, order.expires_on
        assert submitted and verified and expires  # a verified order has all three
        order.submitted_dt = submitted - timedelta(days=ago + 2)
        order.verified_dt = verified = verified - timedelta(days=ago + 1)
        order.expires_on = expires - timedelta(days=ago + 2)
        continuity.refresh_next_fill(order, today=today)
        db.session.commit()
        fill = allocate_fill(order, technician, today)
        fill.status = "dispensed"
        fill.dispensed_dt = verified + timedelta(days=1)
        fill.dispensed_by_id = pharmacist.id
        fill.pharmacist_initials = "DP"
        audit.record(
            "fill.dispensed",
            "fill",
            fill.id,
            actor=pharmacist,
            before={"status": "allocated"},
            after={"status": "dispensed", "demo": f"handed over {ago} days ago"},
        )
        continuity.refresh_next_fill(fill.order, today=today)
        db.session.commit()
        added += 1
    return added


# SPEC 7 follow-up story: one patient in maintenance whose B12 rises into range, one whose
# latest symptom report is worse. (offset in days before today, value, unit); B12 in pg/mL.
DEMO_B12_TREND = (
    (150, "148", "pg/mL"),
    (118, "231", "pmol/L"),
    (60, "455", "pg/mL"),
    (8, "612", "pg/mL"),
)
DEMO_HEMOGLOBIN = ((150, "10.6"), (118, "11.9"), (60, "13.1"), (8, "13.6"))


def _therapy_story(
    body: dict, started_days_ago: int, prescriber: User, pharmacist: User, today: date
) -> Order:
    """Submit and verify a demo order, then move its start back into the past."""
    from datetime import timedelta

    order = submit_order(body, prescriber, source="web")
    verify_order(order, pharmacist, "approve")
    # The demo tells a story that began months ago; orders today start within a week.
    order.start_date = today - timedelta(days=started_days_ago)
    followup.refresh_labs_due(order)
    followup.refresh_next_fill_if_available(order, today)
    db.session.commit()
    return order


def _followup_patients() -> int:
    """Add the follow-up story (only once: keyed on the first patient's MRN)."""
    from datetime import timedelta
    from decimal import Decimal

    from sqlalchemy import select

    if db.session.execute(select(Patient.id).where(Patient.mrn == "MRN-30112")).first():
        return 0
    prescriber, pharmacist = _demo_user("prescriber"), _demo_user("pharmacist")
    today = local_today()
    base = {
        "drug": "cyanocobalamin",
        "concentration_mcg_per_ml": 1000,
        "vial_volume_ml": 10,
        "container": "multiple-dose",
        "route": "IM",
        "start_date": today.isoformat(),
        "days_supply": 90,
        "refills": 3,
        "compounding_reason": "Commercial 10 mL vials on national shortage.",
    }
    maintenance = _therapy_story(
        {
            **base,
            "patient": {
                "first_name": "Maria",
                "last_name": "Santos",
                "dob": "1954-09-23",
                "mrn": "MRN-30112",
                "allergies": "NKDA",
            },
            "phases": [
                {"dose_mcg": 1000, "every": 1, "unit": "day", "count": 7},
                {"dose_mcg": 1000, "every": 1, "unit": "week", "count": 4},
                {"dose_mcg": 1000, "every": 1, "unit": "month", "count": None},
            ],
            "indication": "Pernicious anaemia (D51.0)",
            "cause": "pernicious_anemia",
            "monitoring": {"tests": ["b12", "cbc", "mma"], "interval_months": 3},
            "notes": "Demo: maintenance, B12 rising into range (see the patient page).",
        },
        155,
        prescriber,
        pharmacist,
        today,
    )
    patient = maintenance.patient
    for (days, value, unit), (_, hgb) in zip(DEMO_B12_TREND, DEMO_HEMOGLOBIN, strict=True):
        day = today - timedelta(days=days)
        followup.record_observation(
            patient,
            followup.ObservationInput("b12", Decimal(value), unit, day, lab="Riverside Lab"),
            actor=pharmacist,
            today=today,
        )
        followup.record_observation(
            patient,
            followup.ObservationInput("hemoglobin", Decimal(hgb), "g/dL", day, lab="Riverside Lab"),
            actor=pharmacist,
            today=today,
        )
    followup.record_observation(
        patient,
        followup.ObservationInput("mma", Decimal("0.61"), "umol/L", today - timedelta(days=150)),
        actor=pharmacist,
        today=today,
    )
    followup.record_symptom_report(
        patient,
        today - timedelta(days=118),
        {"fatigue": "better", "sore_tongue": "resolved"},
        actor=pharmacist,
        today=today,
    )
    followup.record_symptom_report(
        patient,
        today - timedelta(days=8),
        {"fatigue": "resolved", "memory": "better"},
        actor=prescriber,
        today=today,
    )
    worse = _therapy_story(
        {
            **base,
            "patient": {
                "first_name": "Daniel",
                "last_name": "Brooks",
                "dob": "1949-02-11",
                "mrn": "MRN-30877",
                "allergies": "NKDA",
            },
            "phases": [
                {"dose_mcg": 1000, "every": 2, "unit": "day", "count": 14},
                {"dose_mcg": 1000, "every": 2, "unit": "month", "count": None},
            ],
            "indication": "B12 deficiency after gastrectomy, peripheral neuropathy",
            "cause": "gastric_surgery",
            "neurologic_symptoms": True,
            "notes": "Demo: numbness worse at the last pick-up.",
        },
        70,
        prescriber,
        pharmacist,
        today,
    )
    followup.record_observation(
        worse.patient,
        followup.ObservationInput("b12", Decimal(164), "pg/mL", today - timedelta(days=72)),
        actor=pharmacist,
        today=today,
    )
    followup.record_symptom_report(
        worse.patient,
        today - timedelta(days=2),
        {"numbness_tingling": "worse", "balance": "new", "fatigue": "same"},
        "Says the tingling in both feet is spreading; unsteady on stairs.",
        actor=pharmacist,
        today=today,
    )
    return 2


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
    if count := _safety_orders():
        done.append(f"{count} orders to verify: an allergy stop, two warnings to acknowledge")
    if count := _continuity_orders():
        done.append(f"{count} maintenance patients to follow up (overdue, lapsed, renewal)")
    if count := _followup_patients():
        done.append(f"{count} patients in follow-up")
    return done
