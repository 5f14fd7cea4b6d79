"""Batch worksheets, potency adjustment, unit conversion and ingredient-lot release specs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pharmacy.domain.errors import DomainError, ValidationFailed
from pharmacy.domain.formulation import Ingredient, parse_formulation
from pharmacy.domain.worksheet import (
    Coa,
    WorksheetLine,
    batch_volume_ml,
    check_release,
    convert_amount,
    potency_adjusted,
    worksheet,
)

D = Decimal
ACTIVE = Ingredient("Cyanocobalamin USP", D(1000), "mcg/mL", True)
COA_SPEC = Coa(D("98.5"), D("8.0"))  # SPEC 2.5 example
COA_SEED = Coa(D("101.0"), D("12.0"))  # domain.md seed 6


@pytest.mark.parametrize(
    ("vials", "volume", "overfill", "expected"),
    [
        (10, D(10), D("0.50"), D("105.00")),
        (1, D(30), D(0), D(30)),
        (30, D(1), D("0.10"), D("33.00")),
        (3, D(30), D("0.80"), D("92.40")),
    ],
)
def test_batch_volume(vials, volume, overfill, expected):
    assert batch_volume_ml(vials, volume, overfill) == expected


@pytest.mark.parametrize(
    ("vials", "volume", "overfill", "field"),
    [
        (0, D(10), D("0.5"), "vials"),
        (True, D(10), D("0.5"), "vials"),
        (2.0, D(10), D("0.5"), "vials"),
        (1, D(0), D("0.5"), "vial_volume_ml"),
        (1, D(10), D("-0.1"), "overfill_ml"),
    ],
)
def test_batch_volume_refuses(vials, volume, overfill, field):
    with pytest.raises(DomainError) as info:
        batch_volume_ml(vials, volume, overfill)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("coa", "weigh"),
    [
        (COA_SPEC, D("33.105")),  # 30.0 / (0.985 x 0.920) = 33.1052...
        (COA_SEED, D("33.753")),  # 30.0 / (1.010 x 0.880) = 33.7533...
        (Coa(D(100), D(0)), D("30.000")),
        (Coa(D("98.5"), D(0)), D("30.457")),  # assay only
        (Coa(D(100), D("8.0")), D("32.609")),  # LOD only
    ],
)
def test_potency_adjustment_of_30_mg(coa, weigh):
    assert potency_adjusted(D("30.0"), coa) == weigh


@pytest.mark.parametrize(
    ("required", "coa", "weigh"),
    [
        (D("1.0005"), Coa(D(100), D(0)), D("1.001")),  # a tie rounds up
        (D("0.50025"), Coa(D(50), D(0)), D("1.001")),  # exact tie after the division
        (D("0.50024"), Coa(D(50), D(0)), D("1.000")),
    ],
)
def test_potency_adjustment_rounds_half_up(required, coa, weigh):
    assert potency_adjusted(required, coa) == weigh


@pytest.mark.parametrize("coa", [COA_SPEC, COA_SEED])
def test_worksheet_for_the_spec_example(coa):
    # 1 vial of 30 mL, no overfill: 30 mL x 1000 mcg/mL = 30.0 mg of cyanocobalamin.
    (line,) = worksheet([ACTIVE], 1, D(30), D(0), coa)

    assert line == WorksheetLine(
        "Cyanocobalamin USP", D("30.000"), potency_adjusted(D(30), coa), "mg", True
    )
    assert line.weigh == {COA_SPEC: D("33.105"), COA_SEED: D("33.753")}[coa]
    assert line.describe() == f"{line.weigh} mg"


@pytest.mark.parametrize(
    ("ingredient", "line"),
    [
        # excipient mg/mL -> mg: 9 mg/mL x 105 mL
        (
            Ingredient("Sodium chloride", D(9), "mg/mL", False),
            WorksheetLine("Sodium chloride", D("945.000"), D("945.000"), "mg", False),
        ),
        # % w/v -> g: 0.9 g/100 mL x 105 mL
        (
            Ingredient("Sodium chloride", D("0.9"), "% w/v", False),
            WorksheetLine("Sodium chloride", D("0.945"), D("0.945"), "g", False),
        ),
        # % v/v -> mL: 1.5 mL/100 mL x 105 mL
        (
            Ingredient("Benzyl alcohol", D("1.5"), "% v/v", False),
            WorksheetLine("Benzyl alcohol", D("1.575"), D("1.575"), "mL", False),
        ),
        # q.s. -> to the batch volume
        (
            Ingredient("Water for injection", None, "q.s.", False),
            WorksheetLine("Water for injection", D("105.000"), D("105.000"), "mL", False, qs=True),
        ),
        # an inactive in mcg/mL -> mg, not potency-adjusted
        (
            Ingredient("Trace excipient", D(20), "mcg/mL", False),
            WorksheetLine("Trace excipient", D("2.100"), D("2.100"), "mg", False),
        ),
    ],
)
def test_each_unit_scales_to_the_batch_volume(ingredient, line):
    assert worksheet([ingredient], 10, D(10), D("0.50")) == (line,)


def test_qs_line_reads_q_s_to_the_batch_volume():
    (line,) = worksheet(
        [Ingredient("Water for injection", None, "q.s.", False)], 10, D(10), D("0.5")
    )

    assert line.describe() == "q.s. to 105.000 mL"


def test_amounts_round_half_up_to_three_decimals():
    # 1.0005 mg/mL x 1 mL = 1.0005 mg: half up gives 1.001 (banker's rounding would give 1.000).
    (line,) = worksheet([Ingredient("X", D("1.0005"), "mg/mL", False)], 1, D(1), D(0))

    assert line.required == D("1.001")


def test_worksheet_of_a_formulation_uses_its_volume_and_overfill():
    spec = parse_formulation(
        {
            "code": "CYA-1000-10M",
            "name": "Cyanocobalamin 1,000 mcg/mL, 10 mL multiple-dose vial",
            "drug": "cyanocobalamin",
            "concentration_mcg_per_ml": 1000,
            "vial_volume_ml": 10,
            "container": "multiple-dose",
            "category": 2,
            "sterilization": "aseptic",
            "sterility_tested": True,
            "nonsterile_components": True,
            "storage": "refrigerated",
            "ingredients": [
                {
                    "component": "Cyanocobalamin USP",
                    "amount": 1000,
                    "unit": "mcg/mL",
                    "active": True,
                },
                {"component": "Sodium chloride", "amount": "0.9", "unit": "% w/v"},
                {"component": "Benzyl alcohol", "amount": "1.5", "unit": "% v/v"},
                {"component": "Water for injection", "unit": "q.s."},
            ],
        }
    )

    lines = worksheet(spec, 10, active_coa=COA_SPEC)

    # 10 x (10 + 0.50 suggested overfill) = 105 mL; 105 mg / (0.985 x 0.92) = 115.8685...
    assert [(line.component, line.required, line.weigh, line.unit) for line in lines] == [
        ("Cyanocobalamin USP", D("105.000"), D("115.868"), "mg"),
        ("Sodium chloride", D("0.945"), D("0.945"), "g"),
        ("Benzyl alcohol", D("1.575"), D("1.575"), "mL"),
        ("Water for injection", D("105.000"), D("105.000"), "mL"),
    ]
    assert [line.qs for line in lines] == [False, False, False, True]


def test_worksheet_of_a_formulation_can_override_volume_and_overfill():
    spec_lines = worksheet([ACTIVE], 2, D(10), D(0), COA_SPEC)

    assert spec_lines[0].required == D("20.000")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (([ACTIVE], 10, D(10), D("0.5"), None), "ingredient_lots"),  # the active needs a COA
        (([ACTIVE], 10, None, D("0.5"), COA_SPEC), "vial_volume_ml"),
        (([ACTIVE], 10, D(10), None, COA_SPEC), "overfill_ml"),
        (([ACTIVE], 0, D(10), D("0.5"), COA_SPEC), "vials"),
        (([ACTIVE], 1, D(10), D("0.5"), Coa(D(0), D(8))), "assay_percent"),
        (([ACTIVE], 1, D(10), D("0.5"), Coa(D(99), D(100))), "lod_percent"),
        (([ACTIVE], 1, D(10), D("0.5"), Coa(D(99), D(-1))), "lod_percent"),
        (([Ingredient("X", None, "mg/mL", False)], 1, D(1), D(0), None), "amount"),
        (([Ingredient("X", D(1), "mg", False)], 1, D(1), D(0), None), "unit"),
    ],
)
def test_worksheet_refuses(args, field):
    with pytest.raises(DomainError) as info:
        worksheet(*args)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected"),
    [
        (D("945.000"), "mg", "g", D("0.945")),
        (D("0.945"), "g", "mg", D("945.000")),
        (D("33.105"), "mg", "mg", D("33.105")),
        (D("1.575"), "mL", "mL", D("1.575")),
        (D(2500), "mcg", "mg", D("2.5")),
        (D("0.5"), "g", "mcg", D(500000)),
    ],
)
def test_convert_amount(value, from_unit, to_unit, expected):
    assert convert_amount(value, from_unit, to_unit) == expected


@pytest.mark.parametrize(
    ("from_unit", "to_unit", "fragment"),
    [
        ("mL", "g", "stocked in 'g'"),
        ("mg", "mL", "stocked in 'mL'"),
        ("mL", "mg", "needs a lot in mL"),
        ("mg", "tablets", "stocked in 'tablets'"),
        ("IU", "IU", "stocked in 'IU'"),
    ],
)
def test_convert_amount_refuses_and_names_the_lot_unit(from_unit, to_unit, fragment):
    with pytest.raises(DomainError) as info:
        convert_amount(D(1), from_unit, to_unit)
    assert info.value.field == "unit"
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("assay", "lod"),
    [
        (D("98.5"), D("8.0")),
        (D("96.0"), D("12.0")),  # both limits are inclusive
        (D("102.0"), D(0)),
        ("99.1", "4.2"),  # form input as text
    ],
)
def test_active_lot_in_specification_is_releasable(assay, lod):
    assert check_release(True, assay, lod, "COA-2026-118") is None


@pytest.mark.parametrize(
    ("assay", "lod", "coa", "failed"),
    [
        # domain.md seed 6: assay 95.5 % or 102.5 %, LOD 12.5 %
        (D("95.5"), D("8.0"), "COA-1", {"assay_percent"}),
        (D("102.5"), D("8.0"), "COA-1", {"assay_percent"}),
        (D("98.5"), D("12.5"), "COA-1", {"lod_percent"}),
        (D("95.99"), D("12.01"), "COA-1", {"assay_percent", "lod_percent"}),
        # missing COA data
        (D("98.5"), D("8.0"), None, {"coa_reference"}),
        (D("98.5"), D("8.0"), "  ", {"coa_reference"}),
        (None, None, None, {"assay_percent", "lod_percent", "coa_reference"}),
        ("", "x", "COA-1", {"assay_percent", "lod_percent"}),
        (D(-1), D(101), "COA-1", {"assay_percent", "lod_percent"}),
    ],
)
def test_active_lot_out_of_specification_is_refused(assay, lod, coa, failed):
    with pytest.raises(ValidationFailed) as info:
        check_release(True, assay, lod, coa)
    assert set(info.value.errors) == failed


def test_release_messages_name_the_specification():
    with pytest.raises(ValidationFailed) as info:
        check_release(True, D("95.5"), D("12.5"), "COA-1")
    errors = info.value.errors

    assert "96.0-102.0 %" in errors["assay_percent"]
    assert "dried basis" in errors["assay_percent"]
    assert "95.5" in errors["assay_percent"]
    assert "12.0 %" in errors["lod_percent"]


def test_non_active_lot_needs_only_a_coa_reference():
    assert check_release(False, None, None, "COA-NACL-7") is None
    assert check_release(False, "n/a", D(50), "COA-NACL-7") is None
    with pytest.raises(ValidationFailed) as info:
        check_release(False, None, None, "")
    assert set(info.value.errors) == {"coa_reference"}
