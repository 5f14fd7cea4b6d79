"""Therapy follow-up domain (SPEC 7.1-7.4), table-driven: unit conversions, flags, checkpoint
statuses at their boundaries, PDC, clinical alerts, symptoms, the FHIR Observation mapping."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from pharmacy.domain import followup as fu
from pharmacy.domain.errors import DomainError
from pharmacy.domain.fhir import FhirError
from pharmacy.domain.fhir_observation import from_observation, to_observation
from pharmacy.domain.regimen import Phase

D = Decimal

# --- unit conversions (SPEC 7.2 table) ----------------------------------------------------


@pytest.mark.parametrize(
    ("test", "value", "unit", "canonical"),
    [
        ("b12", "350", "pg/mL", "350"),
        ("b12", "350", "pmol/L", "474.25"),  # x 1.355
        ("b12", "147.6", "pmol/L", "199.998"),  # just under 200 stays exact in Decimal
        ("b12", "412", "ng/L", "412"),  # x 1
        ("mma", "0.52", "umol/L", "520"),  # x 1000
        ("mma", "0.52", "µmol/L", "520"),  # the micro sign reads as u
        ("mma", "380", "nmol/L", "380"),
        ("homocysteine", "12.4", "umol/L", "12.4"),
        ("hemoglobin", "118", "g/L", "11.8"),  # x 0.1
        ("hemoglobin", "13.2", "g/dL", "13.2"),
        ("mcv", "104", "fL", "104"),
    ],
)
def test_to_canonical(test, value, unit, canonical):
    assert fu.to_canonical(fu.LAB_TESTS[test], D(value), unit) == D(canonical)


@pytest.mark.parametrize(
    ("test", "unit"),
    [
        ("b12", "pg/dL"),
        ("b12", "nmol/L"),
        ("mma", "mg/dL"),
        ("hemoglobin", "mmol/L"),
        ("mcv", "um3"),
    ],
)
def test_unknown_unit(test, unit):
    with pytest.raises(DomainError) as caught:
        fu.to_canonical(fu.LAB_TESTS[test], D(1), unit)
    assert caught.value.field == "unit"


def test_unknown_test():
    with pytest.raises(DomainError) as caught:
        fu.lab_test("ferritin")
    assert caught.value.field == "test"
    assert "b12" in caught.value.message


DEFAULT = fu.Range(D(200), D(900))


@pytest.mark.parametrize(
    ("value", "unit", "low", "high", "flag"),
    [
        ("199.99", "pg/mL", None, None, "low"),
        ("200", "pg/mL", None, None, "normal"),  # the range's ends are normal
        ("900", "pg/mL", None, None, "normal"),
        ("900.01", "pg/mL", None, None, "high"),
        ("147", "pmol/L", None, None, "low"),  # 199.185 pg/mL
        ("148", "pmol/L", None, None, "normal"),  # 200.54 pg/mL
        ("250", "pg/mL", "300", None, "low"),  # the lab's low end wins, high from default
        ("250", "pg/mL", "100", "240", "high"),
        ("200", "pmol/L", "150", "600", "normal"),  # range in the value's unit, converted
    ],
)
def test_flags(value, unit, low, high, flag):
    result = fu.lab_value(
        fu.LAB_TESTS["b12"],
        D(value),
        unit,
        default=DEFAULT,
        low=D(low) if low else None,
        high=D(high) if high else None,
    )
    assert result.flag == flag
    assert result.range_given is bool(low or high)


@pytest.mark.parametrize(
    ("value", "unit", "low", "high", "field"),
    [
        ("-1", "pg/mL", None, None, "value"),
        ("0", "pg/mL", None, None, "value"),
        ("1000000000", "pg/mL", None, None, "value"),  # a B12 of 10^9
        ("40000", "pmol/L", None, None, "value"),  # 54,200 pg/mL: above the ceiling
        ("300", "pg/mL", "-5", None, "reference_low"),
        ("300", "pg/mL", "900", "200", "reference_low"),
        ("300", "pg/mL", None, "100", "reference_high"),  # below the default low end
    ],
)
def test_bad_values(value, unit, low, high, field):
    with pytest.raises(DomainError) as caught:
        fu.lab_value(
            fu.LAB_TESTS["b12"],
            D(value),
            unit,
            default=DEFAULT,
            low=D(low) if low else None,
            high=D(high) if high else None,
        )
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("day", "field_error"),
    [
        (date(2027, 1, 10), None),
        (date(2027, 1, 11), "future"),
        (date(1960, 5, 4), None),
        (date(1960, 5, 3), "birth"),
    ],
)
def test_result_dates(day, field_error):
    if field_error is None:
        fu.check_result_date(day, today=date(2027, 1, 10), dob=date(1960, 5, 4), field="d")
        return
    with pytest.raises(DomainError) as caught:
        fu.check_result_date(day, today=date(2027, 1, 10), dob=date(1960, 5, 4), field="d")
    assert caught.value.field == "d" and field_error in caught.value.message


# --- checkpoint statuses at their boundaries (SPEC 7.4) -----------------------------------

CP = date(2027, 4, 5)


def _r(test: str, offset: int, rid: int = 1) -> fu.Result:
    return fu.Result(rid, test, CP + timedelta(days=offset))


@pytest.mark.parametrize(
    ("today_offset", "status"),
    [
        (-15, "upcoming"),
        (-14, "due"),  # 14 days before: due
        (0, "due"),
        (14, "due"),  # 14 days after: still due
        (15, "overdue"),
        (200, "overdue"),
    ],
)
def test_status_without_results(today_offset, status):
    state = fu.checkpoint_status(CP, ("b12", "cbc"), [], CP + timedelta(days=today_offset))
    assert state.status == status
    assert state.results == ()


@pytest.mark.parametrize(
    ("results", "status"),
    [
        ([_r("b12", -14, 1), _r("hemoglobin", 30, 2)], "done"),  # both window ends count
        ([_r("b12", -15, 1), _r("hemoglobin", 0, 2)], "overdue"),  # B12 one day too early
        ([_r("b12", 0, 1), _r("hemoglobin", 31, 2)], "overdue"),  # CBC one day too late
        ([_r("b12", 0, 1), _r("mcv", 3, 2)], "done"),  # the CBC met by MCV
        ([_r("b12", 0, 1)], "overdue"),  # no CBC
        ([_r("hemoglobin", 0, 1), _r("mcv", 0, 2)], "overdue"),  # no B12
        ([_r("b12", 0, 1), _r("homocysteine", 0, 2)], "overdue"),  # not a CBC
    ],
)
def test_status_with_results(results, status):
    state = fu.checkpoint_status(CP, ("b12", "cbc"), results, CP + timedelta(days=20))
    assert state.status == status


def test_done_lists_the_results_that_meet_it():
    results = [_r("b12", 1, 7), _r("mcv", 2, 8), _r("hemoglobin", 2, 9), _r("b12", 40, 10)]
    state = fu.checkpoint_status(CP, ("b12", "cbc"), results, CP)
    assert state.status == "done"
    assert [r.id for r in state.results] == [7, 8, 9]


def test_extra_tests_must_be_met_too():
    results = [_r("b12", 0, 1), _r("hemoglobin", 0, 2)]
    assert fu.checkpoint_status(CP, ("b12", "cbc", "mma"), results, CP).status == "due"
    results.append(_r("mma", 5, 3))
    assert fu.checkpoint_status(CP, ("b12", "cbc", "mma"), results, CP).status == "done"


# --- PDC (SPEC 7.4) -----------------------------------------------------------------------


def _monthly(start: date, n: int) -> list[date]:
    from dateutil.relativedelta import relativedelta

    return [start + relativedelta(months=k) for k in range(n)]


@pytest.mark.parametrize(
    ("dispensed", "today", "value", "flagged", "days"),
    [
        # Monthly doses, all dispensed, Jan 1 .. Dec 31 2027: every day covered.
        (_monthly(date(2027, 1, 1), 12), date(2027, 12, 31), "1.00", False, 365),
        # Ten of twelve months dispensed: 304 of 365 days = 0.83.
        (_monthly(date(2027, 1, 1), 10), date(2027, 12, 31), "0.83", False, 365),
        # Nine months: Jan 1 .. Sep 30 = 273 of 365 = 0.75, flagged.
        (_monthly(date(2027, 1, 1), 9), date(2027, 12, 31), "0.75", True, 365),
        # Since the first fill only: 3 doses from Jan 1, asked on Mar 31 = 90/90.
        (_monthly(date(2027, 1, 1), 3), date(2027, 3, 31), "1.00", False, 90),
        # The last 365 days only: two years of doses, asked on 2028-12-31.
        (_monthly(date(2027, 1, 1), 24), date(2028, 12, 31), "1.00", False, 365),
    ],
)
def test_pdc(dispensed, today, value, flagged, days):
    schedule = _monthly(date(2027, 1, 1), 40)
    result = fu.pdc(fu.dose_spans(schedule, dispensed), today)
    assert result is not None
    assert result.value == D(value)
    assert result.flagged is flagged
    assert result.days == days


def test_pdc_boundary_080_is_not_flagged():
    # 292 of 365 days = 0.8000: not below 0.80.
    start = date(2027, 1, 1)
    spans = [(start, start + timedelta(days=292))]
    result = fu.pdc(spans, date(2027, 12, 31))
    assert result.value == D("0.80") and result.flagged is False
    spans = [(start, start + timedelta(days=290))]  # 290/365 = 0.7945 -> 0.79
    assert fu.pdc(spans, date(2027, 12, 31)).flagged is True


def test_pdc_none_before_first_dose_and_without_doses():
    assert fu.pdc([], date(2027, 1, 1)) is None
    spans = [(date(2027, 2, 1), date(2027, 3, 1))]
    assert fu.pdc(spans, date(2027, 1, 15)) is None


def test_pdc_ends_with_a_finished_regimen():
    spans = [(date(2027, 1, 1), date(2027, 2, 1))]
    result = fu.pdc(spans, date(2027, 12, 31), regimen_end=date(2027, 1, 31))
    assert result.value == D("1.00") and result.days == 31


def test_dose_spans():
    schedule = [date(2027, 1, 1), date(2027, 1, 8), date(2027, 2, 8)]
    assert fu.dose_spans(schedule, [date(2027, 1, 1), date(2027, 2, 8)]) == [
        (date(2027, 1, 1), date(2027, 1, 8)),
        (date(2027, 2, 8), date(2027, 3, 11)),  # the last dose covers the gap before it
    ]


# --- clinical frame and its alerts (SPEC 7.1) ---------------------------------------------

DAILY = Phase(1000, 1, "day", 7)
ALTERNATE = Phase(1000, 2, "day", 14)
EVERY_3_DAYS = Phase(1000, 3, "day", 7)
WEEKLY = Phase(1000, 1, "week", 4)
MWF = Phase(1000, 1, "week", 6, ("mon", "wed", "fri"))
MONTHLY_OPEN = Phase(1000, 1, "month", None)
MONTHLY_3 = Phase(1000, 1, "month", 3)


@pytest.mark.parametrize(
    ("cause", "neuro", "phases", "codes"),
    [
        ("pernicious_anemia", False, (DAILY, MONTHLY_3), {"maintenance_ends": "warning"}),
        ("malabsorption", False, (DAILY, MONTHLY_3), {"maintenance_ends": "warning"}),
        ("gastric_surgery", False, (MONTHLY_3,), {"maintenance_ends": "warning"}),
        ("pernicious_anemia", False, (DAILY, MONTHLY_OPEN), {}),
        ("dietary", False, (DAILY, MONTHLY_3), {}),
        ("unknown", True, (DAILY, MONTHLY_OPEN), {}),
        ("unknown", True, (ALTERNATE, MONTHLY_OPEN), {}),  # every 2 days is often enough
        ("unknown", True, (EVERY_3_DAYS, MONTHLY_OPEN), {"neurologic_loading": "info"}),
        ("unknown", True, (WEEKLY, MONTHLY_OPEN), {"neurologic_loading": "info"}),
        ("unknown", True, (MWF, MONTHLY_OPEN), {"neurologic_loading": "info"}),  # 7/3 days
        ("unknown", False, (WEEKLY, MONTHLY_OPEN), {}),
        (
            "pernicious_anemia",
            True,
            (WEEKLY, MONTHLY_3),
            {"maintenance_ends": "warning", "neurologic_loading": "info"},
        ),
    ],
)
def test_clinical_alerts(cause, neuro, phases, codes):
    alerts = fu.clinical_alerts(fu.ClinicalFrame(cause, neuro), phases)
    assert {a.code: a.level for a in alerts} == codes


@pytest.mark.parametrize(
    ("stored", "tests"),
    [
        (["MMA"], ("mma",)),
        (["b12", "cbc"], ("b12", "cbc")),
        (["homocysteine", "B12"], ("b12", "homocysteine")),
        (["ferritin"], ()),
    ],
)
def test_normalise_tests(stored, tests):
    assert fu.normalise_tests(stored) == tests


def test_order_frame_parsing():
    from pharmacy.domain.order_input import parse_frame

    errors: dict[str, str] = {}
    frame = parse_frame({}, errors)
    assert frame == fu.ClinicalFrame() and not errors
    assert frame.to_dict() == {
        "cause": "unknown",
        "neurologic_symptoms": False,
        "monitoring": {"tests": ["b12", "cbc"], "interval_months": 3},
    }
    frame = parse_frame(
        {"cause": "medication", "monitoring": {"tests": ["mma", "b12"], "interval_months": 12}},
        errors,
    )
    assert frame.tests == ("b12", "mma") and frame.interval_months == 12 and not errors
    parse_frame({"monitoring": {"interval_months": True, "tests": "b12"}}, errors)
    assert set(errors) == {"monitoring.interval_months", "monitoring.tests"}


# --- symptoms (SPEC 7.3) ------------------------------------------------------------------


def test_symptoms():
    checked = fu.check_symptoms({"mood": "same", "fatigue": "better"})
    assert list(checked) == ["fatigue", "mood"]  # list order
    assert fu.is_worse({"fatigue": "better", "balance": "new"})
    assert not fu.is_worse({"fatigue": "resolved"})
    for bad, field in (
        ({"headache": "worse"}, "symptoms.headache"),
        ({"fatigue": "terrible"}, "symptoms.fatigue"),
        ({}, "symptoms"),
    ):
        with pytest.raises(DomainError) as caught:
            fu.check_symptoms(bad)
        assert caught.value.field == field


def test_schema_literals_match_the_domain():
    from pharmacy.api.schemas.followup import Change, Decision

    assert Change.__args__ == fu.CHANGES
    assert Decision.__args__ == fu.DECISIONS


# --- FHIR Observation mapping --------------------------------------------------------------


def _obs(**overrides):
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "subject": {"reference": "Patient/12"},
        "effectiveDateTime": "2027-01-08",
        "valueQuantity": {"value": 118, "system": "http://unitsofmeasure.org", "code": "g/L"},
    }
    resource.update(overrides)
    return resource


def test_from_observation():
    mapped = from_observation(_obs(performer=[{"display": "Quest"}]))
    assert mapped.patient_id == 12
    assert mapped.body == {
        "test": "hemoglobin",
        "value": D(118),
        "unit": "g/L",
        "effective_date": "2027-01-08",
        "lab": "Quest",
    }


@pytest.mark.parametrize(
    ("overrides", "expression"),
    [
        (
            {"code": {"coding": [{"system": "http://loinc.org", "code": "1-8"}]}},
            "Observation.code.coding[0].code",
        ),
        ({"valueQuantity": {"value": "abc", "code": "g/L"}}, "Observation.valueQuantity.value"),
        (
            {"valueQuantity": {"value": 1, "code": "g/L", "system": "http://snomed.info/sct"}},
            "Observation.valueQuantity.system",
        ),
        ({"effectiveDateTime": "January"}, "Observation.effectiveDateTime"),
        ({"subject": {"reference": "Group/3"}}, "Observation.subject"),
        ({"status": None}, "Observation.status"),
    ],
)
def test_from_observation_issues(overrides, expression):
    with pytest.raises(FhirError) as caught:
        from_observation(_obs(**overrides))
    assert expression in [i.expression for i in caught.value.issues]


def test_to_observation_is_valid_r4():
    from fhir.resources.R4B.observation import Observation

    resource = to_observation(
        {
            "id": 5,
            "patient_id": 12,
            "test": "b12",
            "value": 474.25,
            "unit": "pg/mL",
            "reference_low": 200,
            "reference_high": 900,
            "flag": "normal",
            "effective_date": "2027-01-08",
            "recorded_at": "2027-01-10T15:00:00+00:00",
            "lab": "LabCorp",
        }
    )
    Observation.parse_obj(resource)
    assert resource["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "2132-9",
        "display": "Vitamin B12",
    }
