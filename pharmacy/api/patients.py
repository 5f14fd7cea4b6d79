"""``/api/v1/patients/<id>``: read a patient, and edit the pharmacy's record (SPEC 5.1, 5.7).

The same rules as the patient page: pharmacy staff change the phone and address, only a
pharmacist the allergies (orders only ever add to them); every change is audited. A
prescriber reads only what they entered, and only for their own patients.
"""

from __future__ import annotations

from flask import jsonify

from pharmacy.api.base import ApiError, api_roles, api_user, bp
from pharmacy.api.body import json_body
from pharmacy.api.schemas.base import operation, validate
from pharmacy.api.schemas.common import ErrorOut
from pharmacy.api.schemas.patients import PatientOut, PatientPatch
from pharmacy.roles import PHARMACIST, PHARMACY_STAFF, PRESCRIBER
from pharmacy.services import followup
from pharmacy.services import patients as service


@bp.get("/patients/<int:patient_id>")
@api_roles(PRESCRIBER, *PHARMACY_STAFF)
@operation(responses={200: PatientOut, 404: ErrorOut})
def get_patient(patient_id: int):
    """Return the patient: the pharmacy's record, or for a prescriber what they entered."""
    patient = followup.get_patient(patient_id, api_user())
    return jsonify(service.patient_to_dict(patient, api_user()))


@bp.patch("/patients/<int:patient_id>")
@api_roles(*PHARMACY_STAFF)
@operation(
    request=PatientPatch, responses={200: PatientOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
)
def patch_patient(patient_id: int):
    """Change the phone and address (pharmacy staff) or the allergies (pharmacists), audited."""
    changes = validate(PatientPatch, json_body()).model_dump(exclude_unset=True)
    if "allergies" in changes and api_user().role != PHARMACIST:
        raise ApiError(
            403,
            "Only a pharmacist may change a patient's allergies.",
            fields={"allergies": "Only a pharmacist may change a patient's allergies."},
        )
    patient = service.update_patient(
        patient_id,
        actor=api_user(),
        phone=changes.get("phone") or ("" if "phone" in changes else None),
        address=changes.get("address") or ("" if "address" in changes else None),
        allergies=changes.get("allergies") or ("" if "allergies" in changes else None),
    )
    return jsonify(service.patient_to_dict(patient, api_user()))
