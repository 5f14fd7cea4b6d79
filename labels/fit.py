"""Tell, before an order is accepted, which of its texts no label could print (SPEC 5.8).

An order's texts reach several printed boxes: the patient's name is on the prescription label,
on every fill vial label and on the dosing calendar; the directions (the sig) are on the
prescription label and the calendar. ``fit_problems`` tries each text in every box it reaches,
with the same layouts, fonts and minimum sizes as the renderers, and reports each text that has a
character the label font lacks or that does not fit even at its box's smallest legible size.
Order entry turns the report into a 422 naming the field; the live plan preview shows it as a
warning while the prescriber types.
"""

from __future__ import annotations

from collections.abc import Mapping

from labels.calendar import header_blocks
from labels.data import LabelError, LabelOverflow, PrescriptionLabel, Stock, VialLabel
from labels.fonts import missing_glyphs
from labels.layout import _CONTROL, TextBlock, fit_text, layout_for

# Texts an order gives the labels, by label field; "sig" is the calendar's name for directions.
ORDER_TEXTS = ("patient_name", "directions", "prescriber", "drug_strength", "rx_reference")
# Stand-ins for the label fields that share a box with an order's text (widest plausible).
_SAMPLES = {"rx_number": "99999999", "fill_number": "11"}
_WHERE = {"prescription": "prescription label", "vial": "vial label", "calendar": "dosing calendar"}


def fit_problems(
    texts: Mapping[str, str], stocks: Mapping[type, Stock] | None = None
) -> dict[str, str]:
    """Return ``{label field: reason}`` for every text that cannot be printed.

    :param texts: label field name (``patient_name``, ``directions``, ``prescriber``,
        ``drug_strength``, ``rx_reference``) -> the text as it would be printed.
    :param stocks: the label stock per label type (default: each type's own stock).
    """
    stocks = stocks or {}
    problems: dict[str, str] = {}
    for name, text in texts.items():
        if _CONTROL.search(text):
            problems[name] = "control characters cannot be printed"
            continue
        missing = missing_glyphs(text)
        if missing:
            chars = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing)
            problems[name] = f"the label font cannot print {chars}"
    for kind, block in _blocks(stocks):
        keys = [f for f in block.fields if f in texts and f not in problems]
        if not keys or not all(f in texts or f in _SAMPLES for f in block.fields):
            continue
        text = block.template.format_map(
            {f: texts.get(f, _SAMPLES.get(f, "")) for f in block.fields}
        )
        try:
            fit_text(block, text.upper() if block.upper else text)
        except LabelOverflow:
            for key in keys:
                problems.setdefault(
                    key,
                    f"{len(texts[key])} characters do not fit on the {_WHERE[kind]} even at "
                    f"{block.min_pt:g} pt",
                )
    return problems


def check_fit(texts: Mapping[str, str], stocks: Mapping[type, Stock] | None = None) -> None:
    """Refuse texts that no label could print.

    :raise LabelError: naming the first field at fault (see ``fit_problems``).
    """
    problems = fit_problems(texts, stocks)
    if problems:
        name, reason = next(iter(problems.items()))
        raise LabelError(name, reason)


def _blocks(stocks: Mapping[type, Stock]) -> list[tuple[str, TextBlock]]:
    """Return every text box an order's texts reach, with the kind of output it is on."""
    out: list[tuple[str, TextBlock]] = []
    for label_type in (PrescriptionLabel, VialLabel):
        layout = layout_for(label_type, stocks.get(label_type))
        out += [(layout.kind, block) for block in layout.texts]
    out += [("calendar", block) for block in header_blocks()]
    return out
