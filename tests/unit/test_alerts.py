"""SPEC 2.7 order alerts: one case per alert, thresholds from settings, levels and ordering."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pharmacy.domain.alerts import AlertFacts, Thresholds, has_stop, is_under_one_year, order_alerts
from pharmacy.domain.regimen import Phase

TODAY = date(2026, 12, 1)


def facts(**overrides) -> AlertFacts:
    base = {
        "phases": (Phase(1000, 1, "day", 7), Phase(1000, 1, "month", None)),
        "concentration_mcg_per_ml": Decimal(1000),
        "vial_volume_ml": Decimal(10),
        "container": "multiple-dose",
        "route": "IM",
        "patient_dob": date(1960, 5, 4),
        "today": TODAY,
    }
    base.update(overrides)
    return AlertFacts(**base)


def codes(f: AlertFacts) -> dict[str, str]:
    return {a.code: a.level for a in order_alerts(f)}


def test_clean_order_has_no_alerts():
    assert order_alerts(facts()) == []


@pytest.mark.parametrize(
    "overrides, code, level",
    [
        ({"phases": (Phase(1500, 1, "day", 7),)}, "dose_above_max", "warning"),
        (
            {"phases": (Phase(3000, 1, "day", 7),), "vial_volume_ml": Decimal(30)},
            "volume_above_route_max",
            "warning",
        ),
        (
            {
                "route": "SC",
                "phases": (Phase(1000, 1, "day", 7),),
                "concentration_mcg_per_ml": Decimal(500),
            },
            "volume_above_route_max",
            "warning",
        ),
        ({"phases": (Phase(50, 1, "day", 7),)}, "dose_volume_below_min", "warning"),
        ({"other_active_orders": ("100001",)}, "duplicate_active_order", "warning"),
        (
            {"benzyl_alcohol": True, "patient_dob": date(2026, 3, 1)},
            "benzyl_alcohol_infant",
            "stop",
        ),
        ({"formulation_matches": False}, "no_matching_formulation", "warning"),
        ({"route": "IV"}, "route_iv", "stop"),
    ],
)
def test_each_alert(overrides, code, level):
    found = codes(facts(**overrides))
    assert found.get(code) == level, found


def test_messages_name_phases_and_limits():
    alerts = order_alerts(
        facts(
            phases=(
                Phase(1000, 1, "day", 7),
                Phase(2000, 1, "week", 4),
                Phase(2500, 1, "month", None),
            ),
            vial_volume_ml=Decimal(10),
        )
    )
    high = next(a for a in alerts if a.code == "dose_above_max")
    assert "Phases 2 and 3" in high.message and "2,000, 2,500 mcg" in high.message
    assert "1,000 mcg" in high.message
    volume = next(a for a in alerts if a.code == "volume_above_route_max")
    assert "2.5 mL" in volume.message and "intramuscular maximum of 2 mL" in volume.message


def test_route_limits_come_from_thresholds():
    strict = Thresholds(
        max_dose_mcg=500,
        im_max_ml=Decimal("0.5"),
        sc_max_ml=Decimal("0.5"),
        min_dose_volume_ml=Decimal("0.05"),
    )
    found = codes(facts(thresholds=strict, phases=(Phase(1000, 1, "day", 7),)))
    assert found == {"dose_above_max": "warning", "volume_above_route_max": "warning"}
    # 1 mL is exactly at the SC default maximum: no alert (the SPEC says "above").
    assert "volume_above_route_max" not in codes(facts(route="SC"))


def test_benzyl_alcohol_only_under_one_year():
    assert "benzyl_alcohol_infant" not in codes(facts(benzyl_alcohol=True))
    # The first birthday is the cut-off.
    assert is_under_one_year(date(2025, 12, 2), TODAY)
    assert not is_under_one_year(date(2025, 12, 1), TODAY)
    # Leap-day birthday: first birthday counted on Feb 28.
    assert not is_under_one_year(date(2024, 2, 29), date(2025, 2, 28))


def test_iv_has_no_route_volume_limit_but_stops():
    alerts = order_alerts(
        facts(route="IV", phases=(Phase(3000, 1, "day", 7),), vial_volume_ml=Decimal(30))
    )
    assert alerts[0].code == "route_iv"
    assert "volume_above_route_max" not in {a.code for a in alerts}
    assert has_stop(alerts) and has_stop([a.to_dict() for a in alerts])


def test_stop_alerts_come_first():
    alerts = order_alerts(
        facts(route="IV", formulation_matches=False, other_active_orders=("100001", "100002"))
    )
    assert [a.level for a in alerts] == ["stop", "warning", "warning"]
    assert "100001, 100002" in alerts[2].message or "100001, 100002" in alerts[1].message
    assert not has_stop(order_alerts(facts(formulation_matches=False)))
    assert alerts[0].to_dict().keys() == {"code", "level", "message"}
