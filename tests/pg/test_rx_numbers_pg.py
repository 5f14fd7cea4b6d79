"""Twenty prescribers submit at once on PostgreSQL: twenty distinct, sequential Rx numbers."""

from __future__ import annotations

from tests.conftest import issue_token, requires_pg
from tests.web.test_orders_api import run_parallel_submissions


@requires_pg
def test_twenty_parallel_submissions_get_distinct_rx_numbers_pg(pg_app):
    headers = {"Authorization": f"Bearer {issue_token(pg_app, 'prescriber')}"}
    numbers = run_parallel_submissions(pg_app, headers)
    assert sorted(int(n) for n in numbers) == list(range(100001, 100021))
