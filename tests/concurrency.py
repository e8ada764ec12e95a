"""Running test code on several real threads at once, for race tests."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import close_old_connections, connection


def run_together(functions: list[Callable[[], object]]) -> list[object]:
    """Run every function in its own thread, released at once; return results or errors."""
    barrier = threading.Barrier(len(functions))
    results: list[object] = [None] * len(functions)

    def worker(index: int, func: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = func()
        except Exception as exc:  # the outcome under test, kept for the assertions
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    close_old_connections()
    return results
