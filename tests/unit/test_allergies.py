"""SPEC 5.1 allergy screening and SPEC 5.2 acknowledged warnings: tables of cases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pharmacy.domain.alerts import AlertFacts, allergy_alerts, check_acknowledgements, order_alerts
from pharmacy.domain.allergies import (
    allergy_status,
    format_allergies,
    merge_allergies,
    parse_allergies,
    screen,
    substance_name,
)
from pharmacy.domain.errors import ConflictError, ValidationFailed
from pharmacy.domain.order_input import parse_allergy_field
from pharmacy.domain.regimen import Phase

# A 10 mL multiple-dose formulation (benzyl alcohol preservative) and a preservative-free one.
MULTIPLE_DOSE = (
    "Cyanocobalamin USP",
    "Benzyl alcohol NF",
    "Sodium chloride",
    "Water for injection",
)
PRESERVATIVE_FREE = ("Cyanocobalamin USP", "Sodium chloride", "Water for injection")

MATCHES = [
    # (allergies as written, ingredients, the substance matched or None)
    ("Cyanocobalamin (anaphylaxis)", MULTIPLE_DOSE, "cyanocobalamin"),
    ("vitamin B-12", PRESERVATIVE_FREE, "vitamin B12"),
    ("vit b12", PRESERVATIVE_FREE, "vitamin B12"),
    ("Vit. B 12 - hives", (), "vitamin B12"),
    ("B12", (), "B12"),
    ("COBALT", (), "cobalt"),
    ("cobalt; nickel", (), "cobalt"),
    ("Hydroxocobalamin", (), "hydroxocobalamin"),
    ("hydroxo-cobalamin", (), "hydroxocobalamin"),
    ("methylcobalamin (rash)", (), "methylcobalamin"),
    ("cobalamin", (), "cobalamin"),
    ("CyAnOcObAlAmIn", (), "cyanocobalamin"),
    ("benzyl alcohol - rash", MULTIPLE_DOSE, "Benzyl alcohol"),
    ("Benzyl-Alcohol", MULTIPLE_DOSE, "Benzyl alcohol"),
    ("benzyl alcohol - rash", PRESERVATIVE_FREE, None),
    ("penicillin", MULTIPLE_DOSE, None),
    ("NKDA", MULTIPLE_DOSE, None),
    ("none", MULTIPLE_DOSE, None),
    ("cobaltous chloride", (), None),  # whole words: "cobalt" is not in "cobaltous"
    ("vitamin B6", (), None),
    ("B125 antibody", (), None),
    ("alcohol", MULTIPLE_DOSE, None),  # "alcohol" alone does not name benzyl alcohol
    ("vitamins", (), None),
    (["sulfa", "cobalt"], (), "cobalt"),
    (["penicillin", "latex"], MULTIPLE_DOSE, None),
    ("penicillin, vit B-12 (hives)", (), "vitamin B12"),
]


@pytest.mark.parametrize("written, ingredients, expected", MATCHES)
def test_screen(written, ingredients, expected):
    matches = screen(parse_allergies(written), ingredients)
    assert [m.substance for m in matches] == ([expected] if expected else [])


@pytest.mark.parametrize(
    "written, entries",
    [
        ("Penicillin (rash, hives); sulfa, latex", ("Penicillin (rash, hives)", "sulfa", "latex")),
        ("  cobalt \n  ", ("cobalt",)),
        ("", ()),
        (None, ()),
        (["Latex", " latex ", ""], ("Latex",)),
        ("NKDA", ("NKDA",)),
    ],
)
def test_parse_allergies(written, entries):
    assert parse_allergies(written) == entries


@pytest.mark.parametrize(
    "entries, status",
    [
        ((), "unknown"),
        (("NKDA",), "none_known"),
        (("NKA",), "none_known"),
        (("None",), "none_known"),
        (("No known allergies",), "none_known"),
        (("n.k.d.a.",), "none_known"),
        (("NKDA", "penicillin"), "listed"),
        (("penicillin",), "listed"),
    ],
)
def test_allergy_status(entries, status):
    assert allergy_status(entries) == status


@pytest.mark.parametrize(
    "recorded, added, merged",
    [
        (("penicillin",), ("latex",), ("penicillin", "latex")),
        (("penicillin",), ("PENICILLIN",), ("penicillin",)),
        (("cobalt",), ("NKDA",), ("cobalt",)),  # "none known" never removes an allergy
        (("NKDA",), ("cobalt",), ("cobalt",)),  # a real allergy replaces "none known"
        ((), (), ()),
        (("penicillin",), (), ("penicillin",)),  # an order saying nothing removes nothing
    ],
)
def test_merge_only_adds(recorded, added, merged):
    assert merge_allergies(recorded, added) == merged


def test_format_round_trips():
    entries = ("Penicillin (rash, hives)", "cobalt")
    assert parse_allergies(format_allergies(entries)) == entries


@pytest.mark.parametrize(
    "component, name",
    [("Benzyl alcohol NF", "Benzyl alcohol"), ("Cyanocobalamin USP", "Cyanocobalamin")],
)
def test_substance_name(component, name):
    assert substance_name(component) == name


@pytest.mark.parametrize(
    "raw, path",
    [
        (123, "patient.allergies"),
        ({"a": 1}, "patient.allergies"),
        (["x"] * 51, "patient.allergies"),
        ("x" * 2001, "patient.allergies"),
        (["ok", 5], "patient.allergies[1]"),
        (["ok", "y" * 201], "patient.allergies[1]"),
    ],
)
def test_allergy_field_shape_errors(raw, path):
    errors: dict[str, str] = {}
    assert parse_allergy_field(raw, "patient.allergies", errors) == ()
    assert path in errors


# --- alert levels ----------------------------------------------------------------------


def facts(**overrides) -> AlertFacts:
    base = {
        "phases": (Phase(1000, 1, "day", 7),),
        "concentration_mcg_per_ml": Decimal(1000),
        "vial_volume_ml": Decimal(10),
        "container": "multiple-dose",
        "route": "IM",
        "patient_dob": date(1960, 5, 4),
        "today": date(2026, 12, 1),
        "ingredients": MULTIPLE_DOSE,
        "formulation_name": "Cyanocobalamin 1,000 mcg/mL 10 mL MDV",
    }
    base.update(overrides)
    return AlertFacts(**base)


@pytest.mark.parametrize(
    "allergies, expected",
    [
        (None, {}),  # not screened
        ((), {"allergies_unknown": "warning"}),
        (("NKDA",), {}),
        (("penicillin",), {}),
        (("Cyanocobalamin (anaphylaxis)",), {"allergy": "stop"}),
        (("benzyl alcohol - rash",), {"allergy": "stop"}),
    ],
)
def test_allergy_alert_levels(allergies, expected):
    alerts = order_alerts(facts(allergies=allergies))
    assert {a.code: a.level for a in alerts} == expected


def test_allergy_alert_names_allergy_and_ingredient():
    (alert,) = allergy_alerts(
        ("benzyl alcohol - rash", "vit B-12"), MULTIPLE_DOSE, formulation="CY MDV"
    )
    assert alert.level == "stop"
    assert '"benzyl alcohol - rash"' in alert.message and "benzyl alcohol" in alert.message
    assert "CY MDV" in alert.message and '"vit B-12"' in alert.message
    assert alert.prescriber_message is None


def test_allergy_alert_hides_another_prescribers_entry():
    (alert,) = allergy_alerts(
        ("Cyanocobalamin (anaphylaxis)", "cobalt"), hidden=("cyanocobalamin (anaphylaxis)",)
    )
    assert "anaphylaxis" in alert.message
    assert "anaphylaxis" not in alert.prescriber_message
    assert "cyanocobalamin" in alert.prescriber_message and '"cobalt"' in alert.prescriber_message


def test_duplicate_alert_hides_another_prescribers_rx():
    alerts = order_alerts(
        facts(other_active_orders=("100001", "100002"), hidden_orders=("100001",))
    )
    (dup,) = [a for a in alerts if a.code == "duplicate_active_order"]
    assert "100001" in dup.message and "100002" in dup.message
    assert "100001" not in dup.prescriber_message and "100002" in dup.prescriber_message


# --- acknowledgements (SPEC 5.2) -------------------------------------------------------

ALERTS = [
    {"code": "dose_above_max", "level": "warning", "message": "Dose high."},
    {"code": "allergies_unknown", "level": "warning", "message": "No allergies recorded."},
    {"code": "neurologic_loading", "level": "info", "message": "Load more often."},
]
STOP = {"code": "allergy", "level": "stop", "message": "Allergy."}


@pytest.mark.parametrize(
    "alerts, given, outcome",
    [
        (ALERTS, {"dose_above_max": "Oncology", "allergies_unknown": "Asked: NKDA"}, "ok"),
        (ALERTS, {"dose_above_max": "Oncology"}, {"acknowledgements.allergies_unknown"}),
        (
            ALERTS,
            {"dose_above_max": "  ", "allergies_unknown": "x"},
            {"acknowledgements.dose_above_max"},
        ),
        (
            ALERTS,
            None,
            {"acknowledgements.dose_above_max", "acknowledgements.allergies_unknown"},
        ),
        (
            ALERTS,
            {"dose_above_max": "a", "allergies_unknown": "b", "route_iv": "c"},
            {"acknowledgements.route_iv"},
        ),
        (
            ALERTS,
            {"dose_above_max": "a", "allergies_unknown": 5},
            {"acknowledgements.allergies_unknown"},
        ),
        (ALERTS[2:], None, "ok"),  # info needs none
        ([], None, "ok"),
        ([], {"dose_above_max": "x"}, {"acknowledgements.dose_above_max"}),
        ([STOP], {"allergy": "Patient insists"}, "conflict"),
    ],
)
def test_acknowledgement_rule(alerts, given, outcome):
    if outcome == "ok":
        reasons = check_acknowledgements(alerts, given)
        assert reasons == {k: v.strip() for k, v in (given or {}).items()}
    elif outcome == "conflict":
        with pytest.raises(ConflictError):
            check_acknowledgements(alerts, given)
    else:
        with pytest.raises(ValidationFailed) as caught:
            check_acknowledgements(alerts, given)
        assert set(caught.value.errors) == outcome


def test_a_reason_for_a_shown_alert_that_no_longer_applies_is_dropped():
    now = ALERTS[:1]  # allergies_unknown went away: the allergies were recorded meanwhile
    given = {"dose_above_max": "Oncology", "allergies_unknown": "Asked"}
    shown = ("dose_above_max", "allergies_unknown")
    assert check_acknowledgements(now, given, shown=shown) == {"dose_above_max": "Oncology"}
    with pytest.raises(ValidationFailed):
        check_acknowledgements(now, given)  # never shown: refused


def test_screening_a_long_entry_stays_fast():
    import time

    entry = "word " * 400 + "vit b-12"
    started = time.perf_counter()
    assert [m.substance for m in screen((entry,), MULTIPLE_DOSE)] == ["vitamin B12"]
    assert time.perf_counter() - started < 0.5
