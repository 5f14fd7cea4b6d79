"""``labels.fit_problems``: which order texts no label could print (SPEC 5.8), with the
renderers' own layouts, font and minimum sizes."""

from __future__ import annotations

import pytest

from labels import LabelError, Stock, VialLabel, check_fit, fit_problems, render_pdf
from tests.unit.test_labels_datamatrix import NAMES, gs1_vial

SIG = (
    "Inject 1 mL (1,000 mcg) intramuscularly once daily for 7 doses, then once weekly for "
    "4 doses, then once monthly."
)


def long_sig(phases: int) -> str:
    """Return directions of ``phases`` phases, as the sig writer words them."""
    parts = [f"once every {n + 1} days for {n + 2} doses" for n in range(phases - 1)]
    return (
        "Inject 1 mL (1,000 mcg) intramuscularly " + ", then ".join(parts) + ", then once monthly."
    )


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_names_in_every_script_fit(name: str) -> None:
    assert fit_problems({"patient_name": name, "directions": SIG}) == {}


def test_a_character_no_font_has_is_named() -> None:
    problems = fit_problems({"patient_name": "Wang 王 Li", "directions": SIG})
    assert list(problems) == ["patient_name"]
    assert "U+738B" in problems["patient_name"]
    with pytest.raises(LabelError) as caught:
        check_fit({"patient_name": "Wang 王 Li"})
    assert caught.value.field == "patient_name"


def test_control_characters_are_refused() -> None:
    assert "control" in fit_problems({"directions": "Inject\x07 1 mL"})["directions"]


def test_names_too_long_for_any_label_are_named() -> None:
    fits = "Maximiliana " + "A" * 20 + " de la Cruz-Ortega"  # 49 characters
    assert fit_problems({"patient_name": fits}) == {}
    too_long = "Maximiliana Alexandrina Wilhelmina de la Cruz-Ortega y Montenegro-Vasquez"
    problem = fit_problems({"patient_name": too_long})["patient_name"]
    assert "label even at" in problem and f"{len(too_long)} characters" in problem


def test_what_fit_accepts_really_renders() -> None:
    # The check and the renderer agree: a name fit_problems passes prints on the vial label.
    name = "Maximiliana Alexandrina de la Cruz-Ortega Montes"
    assert fit_problems({"patient_name": name}) == {}
    render_pdf([gs1_vial(patient_name=name)])


def test_twenty_phase_directions_do_not_fit() -> None:
    assert fit_problems({"directions": long_sig(4)}) == {}
    problem = fit_problems({"directions": long_sig(20)})["directions"]
    assert "prescription label" in problem


def test_the_configured_stock_counts() -> None:
    name = "Maximiliana Alexandrina de la Cruz-Ortega Montes"
    narrow = {VialLabel: Stock(1.5, 1.0)}
    assert "patient_name" in fit_problems({"patient_name": name}, narrow)
