"""The patient page's lists, the patient's lab results and symptom reports over the API and a
batch's fills, paged on PostgreSQL: the same tests, against a PostgreSQL database (dated
positions compare as rows there)."""

from __future__ import annotations

import pytest

from tests.conftest import requires_pg
from tests.web.test_batch_page_paging import *  # the same tests, collected here
from tests.web.test_followup_paging import *
from tests.web.test_patient_page_paging import *

pytestmark = [requires_pg, pytest.mark.pg]


@pytest.fixture
def app(pg_app):
    """Run the imported tests on the PostgreSQL clone instead of the SQLite copy."""
    return pg_app
