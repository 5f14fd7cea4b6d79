"""``/patients/<id>`` bodies and answers (SPEC 5.1, 5.7: the pharmacy's record of a patient)."""

from __future__ import annotations

from pharmacy.api.schemas.base import Out, Strict, Text, TextOrList


class PatientPatch(Strict):
    """``PATCH /patients/<id>``: the fields to change; those left out stay as they are."""

    phone: Text(40) | None = None
    address: Text(500) | None = None
    allergies: TextOrList(2000, items=50, item_length=200) | None = None


class PatientOut(Out):
    """A patient as the caller may see them: the pharmacy's record, or a prescriber's entry."""

    id: int
    first_name: str
    last_name: str
    dob: str
    mrn: str | None
    allergies: str
    phone: str
    address: str
