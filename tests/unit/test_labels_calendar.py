"""Patient dosing calendar: letter pages, the right months and dose days, vials, discard days,
checkpoints, black-and-white markers, refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pypdfium2 as pdfium
import pytest

from labels import CalendarData, CalendarDose, LabelError, LabelOverflow, render_calendar
from labels.calendar import _weeks, fmt_day

LETTER = (612.0, 792.0)
DOSE = "1 mL (1,000 mcg)"


def high_dose_calendar() -> CalendarData:
    """Return SPEC 2.1's example: 1000 mcg daily x7, weekly x4, monthly; 10 mL vials (SPEC 2.3)."""
    daily = [date(2026, 12, d) for d in range(1, 8)]
    weekly = [date(2026, 12, 14), date(2026, 12, 21), date(2026, 12, 28), date(2027, 1, 4)]
    monthly = [date(2027, 2, 4)]
    doses = [CalendarDose(d, 1, DOSE, 1, date(2026, 12, 28)) for d in daily]
    doses += [CalendarDose(d, 2, DOSE, 1, date(2026, 12, 28)) for d in weekly[:3]]
    doses += [CalendarDose(weekly[3], 2, DOSE, 2, date(2027, 1, 31))]
    doses += [CalendarDose(monthly[0], 3, DOSE, 3, date(2027, 3, 3))]
    return CalendarData(
        pharmacy_name="Riverside Compounding Pharmacy",
        pharmacy_phone="(217) 555-0142",
        patient_name="Margaret A. Thompson",
        rx_number="100023-0",
        drug_strength="Cyanocobalamin 1,000 mcg/mL",
        sig=(
            "Inject 1 mL (1,000 mcg) intramuscularly once daily for 7 doses, then once weekly "
            "for 4 doses, then once monthly."
        ),
        doses=tuple(doses),
        phases=(
            (1, "1,000 mcg once daily for 7 doses"),
            (2, "1,000 mcg once weekly for 4 doses"),
            (3, "1,000 mcg once monthly"),
        ),
        checkpoints=((date(2027, 1, 5), "Lab check (after loading): serum B12, CBC"),),
        vials=(
            (1, date(2026, 12, 1), date(2026, 12, 28)),
            (2, date(2027, 1, 4), date(2027, 1, 31)),
            (3, date(2027, 2, 4), date(2027, 3, 3)),
        ),
    )


def pdf_pages(pdf: bytes) -> list[tuple[tuple[float, float], str]]:
    """Return (size, text with whitespace collapsed) for each page."""
    doc = pdfium.PdfDocument(pdf)
    try:
        out = []
        for page in doc:
            text = " ".join(page.get_textpage().get_text_range().split())
            out.append((tuple(round(v, 1) for v in page.get_size()), text))
        return out
    finally:
        doc.close()


def all_text(pdf: bytes) -> str:
    """Return the text of every page joined."""
    return " ".join(text for _, text in pdf_pages(pdf))


def test_pages_are_us_letter() -> None:
    pages = pdf_pages(render_calendar(high_dose_calendar()))
    assert pages and all(size == LETTER for size, _ in pages)


def test_header_names_pharmacy_patient_rx_drug_and_directions() -> None:
    data = high_dose_calendar()
    first_page = pdf_pages(render_calendar(data))[0][1]
    for value in (
        data.pharmacy_name,
        data.pharmacy_phone,
        data.patient_name,
        data.rx_number,
        data.drug_strength,
        data.sig,
    ):
        assert value in first_page


def test_one_grid_per_month_with_marks_in_order() -> None:
    text = all_text(render_calendar(high_dose_calendar()))
    months = ["December 2026", "January 2027", "February 2027", "March 2027"]
    positions = [text.index(m) for m in months]
    assert positions == sorted(positions)
    assert "November 2026" not in text and "April 2027" not in text


def test_grid_weeks_start_on_sunday() -> None:
    weeks = _weeks(2026, 12)
    assert weeks[0][0] == date(2026, 11, 29) and weeks[0][0].weekday() == 6
    assert weeks[-1][-1] == date(2027, 1, 2)
    assert all(len(w) == 7 for w in weeks)
    assert len(_weeks(2027, 1)) == 6  # Jan 2027 starts on a Friday and has 31 days


def test_every_dose_day_is_listed_with_phase_dose_and_vial() -> None:
    data = high_dose_calendar()
    text = all_text(render_calendar(data))
    for dose in data.doses:
        assert f"{fmt_day(dose.date)} phase {dose.phase}: {DOSE}, vial {dose.vial}" in text
    assert fmt_day(date(2026, 12, 1)) == "Tue, Dec 1, 2026"


def test_vials_discard_days_and_checkpoints_are_marked_and_listed() -> None:
    text = all_text(render_calendar(high_dose_calendar()))
    for marker in ("V1", "V2", "V3", "DISCARD V1", "DISCARD V2", "DISCARD V3", "LAB"):
        assert marker in text
    assert "Vial 1: first use Tue, Dec 1, 2026; throw away on Mon, Dec 28, 2026" in text
    assert "Tue, Jan 5, 2027: Lab check (after loading): serum B12, CBC" in text


def test_phase_legend_uses_numbers_not_only_colour() -> None:
    text = all_text(render_calendar(high_dose_calendar()))
    for number, description in high_dose_calendar().phases:
        assert f"Phase {number}: {description}" in text


def test_a_long_course_flows_over_several_pages() -> None:
    start = date(2027, 1, 1)
    doses = tuple(
        CalendarDose(start + timedelta(days=i), 1 if i < 60 else 2, DOSE, i // 28 + 1)
        for i in range(0, 400, 2)
    )
    data = replace(high_dose_calendar(), doses=doses, vials=(), checkpoints=())
    pages = pdf_pages(render_calendar(data))
    assert len(pages) >= 4 and all(size == LETTER for size, _ in pages)
    text = " ".join(t for _, t in pages)
    for month in ("January", "April", "July", "October", "December"):
        assert f"{month} 2027" in text
    assert "February 2028" in text
    assert fmt_day(doses[-1].date) in text
    assert "Dosing calendar (continued)" in pages[1][1]


def test_output_is_byte_stable() -> None:
    assert render_calendar(high_dose_calendar()) == render_calendar(high_dose_calendar())


@pytest.mark.parametrize(
    "name", ["pharmacy_name", "pharmacy_phone", "patient_name", "rx_number", "drug_strength", "sig"]
)
def test_missing_header_element_is_refused(name: str) -> None:
    with pytest.raises(LabelError) as caught:
        render_calendar(replace(high_dose_calendar(), **{name: " "}))
    assert caught.value.field == name


def test_no_doses_is_refused() -> None:
    with pytest.raises(LabelError, match="doses"):
        render_calendar(replace(high_dose_calendar(), doses=()))


def test_overlong_patient_name_is_refused_not_truncated() -> None:
    with pytest.raises(LabelOverflow) as caught:
        render_calendar(replace(high_dose_calendar(), patient_name="Alexandrina " * 20))
    assert caught.value.element == "patient_name"


def test_dose_without_a_vial_still_prints() -> None:
    data = replace(
        high_dose_calendar(),
        doses=(CalendarDose(date(2027, 5, 3), 1, DOSE),),
        vials=(),
        checkpoints=(),
    )
    text = all_text(render_calendar(data))
    assert "May 2027" in text and f"{fmt_day(date(2027, 5, 3))} phase 1: {DOSE}" in text


def test_next_fill_due_and_uncovered_doses_are_printed() -> None:
    uncovered = (date(2027, 3, 1), date(2027, 4, 1))
    data = replace(high_dose_calendar(), next_fill_due=date(2027, 2, 22), uncovered_doses=uncovered)
    text = " ".join(all_text(render_calendar(data)).split())
    assert f"Next fill due: {fmt_day(date(2027, 2, 22))}" in text
    assert "Doses not yet covered by your vials" in text
    assert "2 dose day(s) need the next fill" in text
    for day in uncovered:
        assert fmt_day(day) in text
    # Without them, neither line appears.
    plain = all_text(render_calendar(high_dose_calendar()))
    assert "Next fill due" not in plain and "not yet covered" not in plain


def test_long_lists_wrap_instead_of_being_cut() -> None:
    checkpoints = tuple(
        (date(2027, 1, 4) + timedelta(days=7 * i), "Lab check: serum B12, CBC, MMA, homocysteine, "
         "folate, ferritin, reticulocyte count, peripheral smear, creatinine " * 2)
        for i in range(12)
    )  # fmt: skip
    uncovered = tuple(date(2027, 6, 1) + timedelta(days=i) for i in range(60))
    data = replace(high_dose_calendar(), checkpoints=checkpoints, uncovered_doses=uncovered)
    text = " ".join(all_text(render_calendar(data)).split())
    assert text.count("peripheral smear, creatinine") == 24
    assert fmt_day(uncovered[-1]) in text and "..." not in text


@pytest.mark.parametrize(
    "name", ["Nguyễn Thị Hồng Ngọc", "Łukasz Wójcik", "Şule Yılmaz", "Αικατερίνη Παπαδοπούλου",
             "Ирина Кузнецова"],
)  # fmt: skip
def test_names_in_every_script_print_on_the_calendar(name: str) -> None:
    assert name in all_text(render_calendar(replace(high_dose_calendar(), patient_name=name)))
