"""The demo pharmacy tells the follow-up story (SPEC 7): a patient in maintenance whose B12
rises into range, and one whose latest symptom report is worse."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from pharmacy.database import write_intent
from pharmacy.extensions import db
from pharmacy.models import Observation, Patient
from pharmacy.services.audit import verify_chain
from pharmacy.services.demo import load_demo
from pharmacy.services.followup import symptoms_worse_items

NOW = datetime(2027, 3, 15, 15, tzinfo=UTC)


def test_demo_follow_up_story(app, client, as_user):
    with time_machine.travel(NOW, tick=False):
        with app.app_context(), write_intent():
            added = load_demo()
            assert "2 patients in follow-up" in added
            assert load_demo() == []  # idempotent
            maria = db.session.execute(
                db.select(Patient).where(Patient.mrn == "MRN-30112")
            ).scalar_one()
            b12 = (
                db.session.execute(
                    db.select(Observation)
                    .where(Observation.patient_id == maria.id, Observation.test == "b12")
                    .order_by(Observation.effective_date)
                )
                .scalars()
                .all()
            )
            assert [o.flag for o in b12] == ["low", "normal", "normal", "normal"]
            assert [float(o.value) for o in b12] == sorted(float(o.value) for o in b12)
            worse = symptoms_worse_items(today=NOW.date())
            assert [i["patient"]["last_name"] for i in worse] == ["Brooks"]
            assert verify_chain().ok
            maria_id = maria.id
        as_user("pharmacist")
        html = client.get(f"/patients/{maria_id}").get_data(as_text=True)
    assert "B12 rose from 148 to 612 pg/mL" in html
