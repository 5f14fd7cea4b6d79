"""Run the same request from many threads at once, each with its own client."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_at_once(app, count: int, request: Callable) -> list:
    """Call ``request(client, i)`` from ``count`` threads released together; return results.

    Each thread has its own test client, so its own app context, session and
    database connection: the requests really race.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            results[i] = request(client, i)
        except BaseException as exc:  # noqa: BLE001  surfaced below, with the thread's index
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]
    return results
