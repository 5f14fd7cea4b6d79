"""What the patient page needs (SPEC 7.8): the patient, their orders, and the therapy block."""

from __future__ import annotations

from datetime import date
from typing import Any

from pharmacy.domain.followup import CAUSE_LABELS, LAB_TESTS, SYMPTOM_LABELS
from pharmacy.models import Patient, User
from pharmacy.services import orders as order_service
from pharmacy.services.patient_therapy import PageCursors, patient_therapy
from pharmacy.therapy.forms import DECISION_LABELS, ObservationForm, ReviewForm, SymptomForm
from pharmacy.therapy.trend import trend_from_rows, trend_svg


def therapy_block(
    patient: Patient,
    viewer: User,
    *,
    until: date | None = None,
    cursors: PageCursors | None = None,
    **forms: Any,
) -> dict[str, Any]:
    """Return the therapy block's context: trend picture, checkpoints, reviews and forms.

    :param until: the last day of the trend picture's window (None: the current window).
    :param cursors: where the block's lists start.
    :raise ValidationFailed: ``until`` before the patient's birth.
    """
    today = order_service.local_today()
    data = patient_therapy(patient, viewer, today=today, until=until, cursors=cursors)
    window = data["window"]
    chart = trend_svg(
        trend_from_rows(
            today=today,
            observations=data["trend_observations"],
            ranges=data["ranges"],
            doses=data["doses"],
            checkpoints=data["checkpoints"],
            reports=data["trend_reports"],
            show_today=window.current,
            extra_days=() if window.current else (window.start, window.end),
        )
    )
    observation_form = forms.get("observation_form") or ObservationForm()
    if not observation_form.effective_date.data:
        observation_form.effective_date.data = today.isoformat()
    symptom_form = forms.get("symptom_form") or SymptomForm()
    if not symptom_form.report_date.data:
        symptom_form.report_date.data = today.isoformat()
    return {
        "therapy": data,
        "trend_chart": chart,
        "observation_form": observation_form,
        "symptom_form": symptom_form,
        "review_form": forms.get("review_form") or ReviewForm(formdata=None),
        "blank_review_form": ReviewForm(formdata=None),
        "review_rx": forms.get("review_rx"),
        "cause_labels": CAUSE_LABELS,
        "decision_labels": DECISION_LABELS,
        "test_names": {code: t.name for code, t in LAB_TESTS.items()},
        "symptom_labels": SYMPTOM_LABELS,
        "today": today,
    }
