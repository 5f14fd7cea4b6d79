"""The default lab reference ranges (SPEC 7.2 *(default)*) are pharmacy settings an admin edits."""

from __future__ import annotations

from decimal import Decimal

from pharmacy.extensions import db
from pharmacy.models import PharmacySettings


def _form(client) -> dict:
    """Return the settings page's current values, as the browser would post them."""
    import re

    html = client.get("/admin/settings").get_data(as_text=True)
    data = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    address = re.search(r'<textarea[^>]*name="address"[^>]*>([^<]*)</textarea>', html)
    data["address"] = (address.group(1).strip() if address else "") or "1 Main St"
    data["phone"] = data.get("phone") or "555-0100"
    data.pop("csrf_token", None)
    return data


def test_ranges_are_edited_and_checked(app, client, as_user):
    as_user("admin")
    data = _form(client)
    assert data["ref_b12_low_pg_ml"] == "200.00" and data["ref_mcv_high_fl"] == "100.00"
    data["ref_b12_low_pg_ml"] = "250"
    response = client.post("/admin/settings", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(PharmacySettings, 1).ref_b12_low_pg_ml == Decimal(250)
    bad = dict(data, ref_hemoglobin_low_g_dl="18")
    response = client.post("/admin/settings", data=bad)
    assert response.status_code == 422
    assert b"The high end must be above the low end." in response.data
    with app.app_context():
        assert db.session.get(PharmacySettings, 1).ref_hemoglobin_low_g_dl == Decimal(12)
