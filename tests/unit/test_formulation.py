"""Master formulation records: parsing the SPEC 3 body and the SPEC 2.4-2.5 rules."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from pharmacy.domain.bud import Preparation
from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.formulation import (
    FormulationSpec,
    Ingredient,
    is_preservative,
    parse_decimal,
    parse_formulation,
    suggested_overfill_ml,
)


def mdv_body(**changes):
    """Return a valid 10 mL multiple-dose body (the FDA-label formula, domain.md 3.6)."""
    body = {
        "code": "CYA-1000-10M",
        "name": "Cyanocobalamin 1,000 mcg/mL, 10 mL multiple-dose vial",
        "drug": "cyanocobalamin",
        "concentration_mcg_per_ml": 1000,
        "vial_volume_ml": 10,
        "container": "multiple-dose",
        "overfill_ml": "0.50",
        "category": 2,
        "sterilization": "aseptic",
        "sterility_tested": True,
        "nonsterile_components": True,
        "storage": "refrigerated",
        "protect_from_light": True,
        "in_use_days": 28,
        "gtin": "09501101530003",
        "ingredients": [
            {"component": "Cyanocobalamin USP", "amount": 1000, "unit": "mcg/mL", "active": True},
            {"component": "Sodium chloride", "amount": "0.9", "unit": "% w/v", "active": False},
            {"component": "Benzyl alcohol", "amount": 1.5, "unit": "% v/v", "active": False},
            {"component": "Water for injection", "amount": None, "unit": "q.s.", "active": False},
        ],
    }
    body.update(changes)
    return body


def sdv_body(**changes):
    """Return a valid 1 mL single-dose body (no preservative, no in-use days)."""
    body = mdv_body(
        code="CYA-1000-1S",
        name="Cyanocobalamin 1,000 mcg/mL, 1 mL single-dose vial",
        vial_volume_ml=1,
        container="single-dose",
        overfill_ml="0.10",
        category=1,
        sterility_tested=False,
        in_use_days=None,
        gtin=None,
    )
    body["ingredients"] = [body["ingredients"][0], body["ingredients"][1], body["ingredients"][3]]
    body.update(changes)
    return body


def with_ingredient(body, index, **changes):
    """Return a copy of ``body`` with ingredient ``index`` changed."""
    body = copy.deepcopy(body)
    body["ingredients"][index].update(changes)
    return body


def errors_of(body):
    """Return the field errors ``parse_formulation`` raises for ``body``."""
    with pytest.raises(ValidationFailed) as info:
        parse_formulation(body)
    return info.value.errors


def test_parse_multiple_dose_formulation():
    spec = parse_formulation(mdv_body())

    assert spec == FormulationSpec(
        code="CYA-1000-10M",
        name="Cyanocobalamin 1,000 mcg/mL, 10 mL multiple-dose vial",
        drug="cyanocobalamin",
        concentration_mcg_per_ml=Decimal(1000),
        vial_volume_ml=Decimal(10),
        container="multiple-dose",
        overfill_ml=Decimal("0.50"),
        category=2,
        sterilization="aseptic",
        sterility_tested=True,
        nonsterile_components=True,
        storage="refrigerated",
        protect_from_light=True,
        in_use_days=28,
        gtin="09501101530003",
        ingredients=(
            Ingredient("Cyanocobalamin USP", Decimal(1000), "mcg/mL", True),
            Ingredient("Sodium chloride", Decimal("0.9"), "% w/v", False),
            Ingredient("Benzyl alcohol", Decimal("1.5"), "% v/v", False),
            Ingredient("Water for injection", None, "q.s.", False),
        ),
    )
    assert spec.active.component == "Cyanocobalamin USP"
    assert spec.preparation == Preparation(2, "aseptic", True, True, "refrigerated")
    assert spec.is_multiple_dose


def test_parse_single_dose_formulation_needs_no_preservative():
    spec = parse_formulation(sdv_body())

    assert spec.container == "single-dose"
    assert spec.in_use_days is None
    assert spec.category == 1
    assert spec.gtin is None


def test_defaults():
    body = mdv_body(overfill_ml=None, in_use_days=None)
    del body["protect_from_light"]
    del body["gtin"]

    spec = parse_formulation(body)

    assert spec.overfill_ml == Decimal("0.50")  # USP <1151> guide for 10 mL
    assert spec.in_use_days == 28
    assert spec.protect_from_light is True
    assert spec.gtin is None


def test_values_are_normalised():
    spec = parse_formulation(
        mdv_body(code="  CYA-1  ", drug="Cyanocobalamin", vial_volume_ml="10.0", gtin="")
    )

    assert spec.code == "CYA-1"
    assert spec.drug == "cyanocobalamin"
    assert spec.vial_volume_ml == Decimal("10.0")
    assert spec.gtin is None
    assert isinstance(spec.ingredients[2].amount, Decimal)  # from the float 1.5


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        # exactly one active, in mcg/mL, equal to the concentration
        (with_ingredient(mdv_body(), 0, active=False), "ingredients", "exactly one"),
        (with_ingredient(mdv_body(), 1, active=True), "ingredients[1].active", "Only one"),
        (with_ingredient(mdv_body(), 0, unit="mg/mL", amount=1), "ingredients[0].unit", "mcg/mL"),
        (with_ingredient(mdv_body(), 0, unit="q.s.", amount=None), "ingredients[0].unit", "mcg/mL"),
        (with_ingredient(mdv_body(), 0, amount=500), "ingredients[0].amount", "1000"),
        (
            with_ingredient(mdv_body(), 0, component="Hydroxocobalamin"),
            "ingredients[0].component",
            "cyanocobalamin",
        ),
        # at most one q.s. vehicle, which has no amount
        (
            with_ingredient(mdv_body(), 1, unit="q.s.", amount=None),
            "ingredients[3].unit",
            "Only one",
        ),
        (with_ingredient(mdv_body(), 3, amount=5), "ingredients[3].amount", "q.s."),
        # ingredient fields
        (with_ingredient(mdv_body(), 1, unit="mg"), "ingredients[1].unit", "Choose one of"),
        (with_ingredient(mdv_body(), 1, amount=None), "ingredients[1].amount", "required"),
        (with_ingredient(mdv_body(), 1, amount=0), "ingredients[1].amount", "more than 0"),
        (with_ingredient(mdv_body(), 1, amount=101), "ingredients[1].amount", "100"),
        (with_ingredient(mdv_body(), 1, amount="lots"), "ingredients[1].amount", "Enter a number"),
        (with_ingredient(mdv_body(), 1, component="  "), "ingredients[1].component", "text"),
        (with_ingredient(mdv_body(), 1, active="no"), "ingredients[1].active", "true or false"),
        (
            with_ingredient(mdv_body(), 2, component="sodium chloride"),
            "ingredients[2].component",
            "already listed",
        ),
        (mdv_body(ingredients=[]), "ingredients", "at least one"),
        (mdv_body(ingredients="water"), "ingredients", "at least one"),
        (mdv_body(ingredients=None), "ingredients", "required"),
        # multiple-dose: Category 2 or 3, a preservative, at most 30 mL, in-use 1..28
        (mdv_body(category=1, storage="room"), "category", "Category 2 or 3"),
        (with_ingredient(mdv_body(), 2, component="Sodium acetate"), "ingredients", "preservative"),
        (with_ingredient(mdv_body(), 2, active=True), "ingredients", "preservative"),
        (mdv_body(vial_volume_ml=31, overfill_ml=1), "vial_volume_ml", "30 mL"),
        (mdv_body(in_use_days=29), "in_use_days", "1 to 28"),
        (mdv_body(in_use_days=0), "in_use_days", "1 to 28"),
        (mdv_body(in_use_days=1.5), "in_use_days", "whole number"),
        (sdv_body(in_use_days=28), "in_use_days", "only to multiple-dose"),
        # the BUD rule must exist
        (sdv_body(storage="frozen"), "storage", "Category 1"),
        (mdv_body(category=3, sterility_tested=False), "sterility_tested", "Category 3"),
        # code, GTIN, overfill
        (mdv_body(code="cya-1"), "code", "capital letters"),
        (mdv_body(code="CYA 1"), "code", "capital letters"),
        (mdv_body(code="C" * 31), "code", "At most 30"),
        (mdv_body(gtin="09501101530004"), "gtin", "check digit"),
        (mdv_body(gtin=9501101530003), "gtin", "string of 14 digits"),
        (mdv_body(gtin="0950110153000"), "gtin", "14 digits"),
        (mdv_body(overfill_ml=-0.1), "overfill_ml", "negative"),
        (mdv_body(overfill_ml=10), "overfill_ml", "less than the vial volume"),
        # plain field types and choices
        (mdv_body(code=None), "code", "required"),
        (mdv_body(name=""), "name", "text"),
        (mdv_body(drug="hydroxocobalamin"), "drug", "cyanocobalamin"),
        (mdv_body(concentration_mcg_per_ml=0), "concentration_mcg_per_ml", "more than 0"),
        (mdv_body(concentration_mcg_per_ml=True), "concentration_mcg_per_ml", "number"),
        (mdv_body(concentration_mcg_per_ml="NaN"), "concentration_mcg_per_ml", "Enter a number"),
        (mdv_body(vial_volume_ml="ten"), "vial_volume_ml", "Enter a number"),
        (mdv_body(container="vial"), "container", "single-dose, multiple-dose"),
        (mdv_body(category=4), "category", "1, 2, 3"),
        (mdv_body(category="two"), "category", "Enter a number"),
        (mdv_body(sterilization="filtered"), "sterilization", "aseptic, terminal"),
        (mdv_body(sterility_tested="yes"), "sterility_tested", "true or false"),
        (mdv_body(nonsterile_components=1), "nonsterile_components", "true or false"),
        (mdv_body(storage="freezer"), "storage", "room, refrigerated, frozen"),
        (mdv_body(protect_from_light="true"), "protect_from_light", "true or false"),
    ],
)
def test_field_errors(body, field, fragment):
    errors = errors_of(body)

    assert field in errors, errors
    assert fragment in errors[field]


def test_all_errors_are_reported_at_once():
    body = mdv_body(
        code="bad code",
        category=1,
        storage="frozen",
        vial_volume_ml=50,
        overfill_ml=1,
        in_use_days=40,
        gtin="12345678901234",
    )
    body = with_ingredient(body, 0, amount=2000)
    body = with_ingredient(body, 1, unit="% w/w")
    body = with_ingredient(body, 2, component="Polysorbate 80")

    errors = errors_of(body)

    assert set(errors) == {
        "code",
        "category",
        "storage",
        "vial_volume_ml",
        "in_use_days",
        "gtin",
        "ingredients[0].amount",
        "ingredients[1].unit",
        "ingredients",
    }


def test_missing_active_and_preservative_are_both_reported():
    body = with_ingredient(mdv_body(), 0, active=False)
    body = with_ingredient(body, 2, component="Sodium acetate")

    message = errors_of(body)["ingredients"]

    assert "preservative" in message
    assert "active" in message


@pytest.mark.parametrize("body", [None, [], "{}", 3])
def test_body_must_be_an_object(body):
    assert errors_of(body) == {"": "The formulation must be a JSON object."}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Benzyl alcohol", True),
        ("Benzyl Alcohol NF", True),
        ("Chlorobutanol", True),
        ("Metacresol", True),
        ("Methylparaben", True),
        ("Sodium chloride", False),
        ("Water for injection", False),
    ],
)
def test_is_preservative(name, expected):
    assert is_preservative(name) is expected


@pytest.mark.parametrize(
    ("volume", "overfill"),
    [
        # the USP <1151> guide rows (domain.md section 4)
        ("1", "0.10"),
        ("10", "0.50"),
        ("30", "0.80"),
        ("1.0", "0.10"),
        # below the first row: the 1 mL value
        ("0.5", "0.10"),
        # interpolated, rounded up to 0.01 mL
        ("2", "0.15"),  # 0.10 + 0.40 x 1/9 = 0.1444...
        ("5", "0.28"),  # 0.10 + 0.40 x 4/9 = 0.2777...
        ("20", "0.65"),  # 0.50 + 0.30 x 10/20
        ("25", "0.73"),  # 0.50 + 0.30 x 15/20 = 0.725
        # above the last row: the 30 mL value
        ("50", "0.80"),
    ],
)
def test_suggested_overfill(volume, overfill):
    assert suggested_overfill_ml(Decimal(volume)) == Decimal(overfill)


@pytest.mark.parametrize("volume", [Decimal(0), Decimal(-1), "x"])
def test_suggested_overfill_refuses_non_positive_volume(volume):
    with pytest.raises(DomainError) as info:
        suggested_overfill_ml(volume)
    assert info.value.field == "vial_volume_ml"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, Decimal(1)), ("2.50", Decimal("2.50")), (0.1, Decimal("0.1")), (Decimal(3), Decimal(3))],
)
def test_parse_decimal(value, expected):
    result = parse_decimal(value, "x")

    assert result == expected
    assert isinstance(result, Decimal)


@pytest.mark.parametrize("value", [None, True, "", "abc", "inf", float("nan"), [1]])
def test_parse_decimal_refuses(value):
    with pytest.raises(DomainError) as info:
        parse_decimal(value, "amount")
    assert info.value.field == "amount"
