"""P2: throughput of the event detail page with 50 sessions against a plain template of the
same size rendered without the database (``bench.views.plain_event``), same gunicorn
server, same load. Goal: ratio >= 0.5.

PostgreSQL database ``wwmaa_bench_p2`` (created and dropped here); gunicorn with sync
workers on 127.0.0.1; keep-alive clients; the two pages alternate round by round and each
figure is the median round. For a logged-in member and for an anonymous visitor.

    .venv/bin/python bench/p2_event_page.py [--rounds 5] [--requests 300]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

DATABASE = "wwmaa_bench_p2"
SESSIONS = 50
GOAL = 0.5


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="per page and round")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--concurrency", type=int, default=2 * (os.cpu_count() or 1))
    args = parser.parse_args()

    env = common.configure(common.pg_create(DATABASE))
    try:
        common.setup_django()
        from bench.fixtures import make_event, make_people, session_cookie

        people = make_people()
        event = make_event(SESSIONS, people)
        viewers = {"member": {"Cookie": session_cookie(people["member"])}, "anonymous": {}}
        common.close_connections()

        rows, figures = [], {}
        with common.gunicorn(env, workers=args.workers) as address:
            for viewer, headers in viewers.items():
                page = f"/events/{event.pk}/"
                status, body, _ = common.request(address, "GET", page, headers)
                if status != 200 or body.count(b"data-session-card ") != SESSIONS:
                    raise common.CannotRun(f"the event page answered {status}")
                plain = f"/bench/plain-event/?bytes={len(body)}"
                loads = common.interleaved(
                    address,
                    {"event page": (page, headers), "plain template": (plain, headers)},
                    concurrency=args.concurrency,
                    per_round=args.requests,
                    rounds=args.rounds,
                )
                for name, measured in loads.items():
                    common.expect_ok(measured, name)
                real = common.median_throughput(loads["event page"])
                baseline = common.median_throughput(loads["plain template"])
                ratio = real / baseline
                figures[viewer] = {
                    "event_page_rps": round(real, 1),
                    "plain_rps": round(baseline, 1),
                    "ratio": round(ratio, 3),
                    "event_page_bytes": len(body),
                    "plain_bytes": loads["plain template"][0].body_bytes,
                    "met": ratio >= GOAL,
                }
                rows.append(
                    [
                        viewer,
                        f"{real:.0f}/s ({len(body) // 1024} KiB)",
                        f"{baseline:.0f}/s ({loads['plain template'][0].body_bytes // 1024} KiB)",
                        f"{ratio:.2f}",
                        "met" if ratio >= GOAL else "MISSED",
                    ]
                )
    finally:
        common.close_connections()
        common.pg_drop(DATABASE)

    common.print_table(
        f"P2 — event page ({SESSIONS} sessions) vs plain template, {args.workers} gunicorn "
        f"workers, {args.concurrency} clients (goal: ratio >= {GOAL})",
        ["viewer", "event page", "plain template", "ratio", "goal"],
        rows,
    )
    common.save(
        "p2",
        {"figure": "P2", "goal": f">= {GOAL}", "met": all(f["met"] for f in figures.values()),
         "viewers": figures, "workers": args.workers, "concurrency": args.concurrency},
    )  # fmt: skip


if __name__ == "__main__":
    common.main(run)
