"""Running requests truly at once, for the PostgreSQL concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections


def run_together(functions: Sequence[Callable[[], Any]], timeout: float = 120) -> list[Any]:
    """Run each function in its own thread, all released at once by a barrier.

    Returns the results in order. Any exception in a thread, or a thread still running
    after ``timeout``, fails the calling test. Each thread closes its own database
    connections, so none leak into the next test.
    """
    barrier = threading.Barrier(len(functions))
    results: list[Any] = [None] * len(functions)
    errors: list[BaseException] = []

    def run(index: int, function: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = function()
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert not errors, errors
    return results
