"""P1: SQL queries of the event page, the session list API and the event detail API with 1,
10 and 100 sessions. Goal: the same count at every size (no query per session).

The sessions are those of ``bench.fixtures``: every per-row lookup has something to find.
Runs in-process on a throwaway SQLite file: ``.venv/bin/python bench/p1_queries.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SIZES = (1, 10, 100)


def count(client, path: str, **headers) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    if response.status_code != 200:
        raise common.CannotRun(f"{path} answered {response.status_code}")
    return len(queries)


def run() -> None:
    with common.sqlite_database() as url:
        common.configure(url)
        common.setup_django()
        from django.test import Client
        from rest_framework_simplejwt.tokens import AccessToken

        from bench.fixtures import make_event, make_people

        people = make_people()
        events = {size: str(make_event(size, people).pk) for size in SIZES}
        browser = Client(HTTP_HOST="127.0.0.1")
        browser.force_login(people["member"])
        anonymous = Client(HTTP_HOST="127.0.0.1")
        api = Client(HTTP_HOST="127.0.0.1")
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(people['member'])}"}

        measures = {
            "event page, member": lambda e: count(browser, f"/events/{e}/"),
            "event page, anonymous": lambda e: count(anonymous, f"/events/{e}/"),
            "session list API (limit 100)": lambda e: count(
                api, f"/api/training/sessions?event={e}&limit=100", **bearer
            ),
            "event detail API": lambda e: count(api, f"/api/events/{e}", **bearer),
        }
        rows, figures = [], {}
        for name, measure in measures.items():
            counts = [measure(events[size]) for size in SIZES]
            equal = len(set(counts)) == 1
            figures[name] = {"counts": dict(zip(SIZES, counts, strict=True)), "equal": equal}
            rows.append([name, *counts, "met" if equal else "MISSED"])
        common.close_connections()

    common.print_table(
        "P1 — SQL queries per request (goal: equal across sizes)",
        ["request", *(f"{size} session(s)" for size in SIZES), "goal"],
        rows,
    )
    common.save(
        "p1",
        {"figure": "P1", "goal": "equal", "met": all(f["equal"] for f in figures.values()),
         "requests": figures},
    )  # fmt: skip


if __name__ == "__main__":
    common.main(run)
