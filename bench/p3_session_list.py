"""P3: throughput of the session list API (100 rows) against a minimal DRF view returning
the same JSON from memory (``bench.views.MemorySessions``), same gunicorn server, same
load, same caller (a member with a JWT). Goal: ratio >= 0.4.

PostgreSQL database ``wwmaa_bench_p3`` (created and dropped here).

    .venv/bin/python bench/p3_session_list.py [--rounds 5] [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

DATABASE = "wwmaa_bench_p3"
ROWS = 100
GOAL = 0.4


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint and round")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--concurrency", type=int, default=2 * (os.cpu_count() or 1))
    args = parser.parse_args()

    env = common.configure(common.pg_create(DATABASE))
    memory = Path(tempfile.mkdtemp(prefix="wwmaa-bench-")) / "sessions.json"
    try:
        common.setup_django()
        from django.test import Client
        from rest_framework_simplejwt.tokens import AccessToken

        from bench.fixtures import make_event, make_people

        people = make_people()
        make_event(ROWS, people)
        headers = {"Authorization": f"Bearer {AccessToken.for_user(people['member'])}"}
        path = f"/api/training/sessions?limit={ROWS}"
        answer = Client(HTTP_HOST="127.0.0.1").get(path, headers=headers)
        if answer.status_code != 200 or len(answer.json()["results"]) != ROWS:
            raise common.CannotRun(f"the session list answered {answer.status_code}")
        memory.write_text(json.dumps(answer.json()))
        common.close_connections()

        env = {**env, "BENCH_MEMORY_JSON": str(memory)}
        with common.gunicorn(env, workers=args.workers) as address:
            _, real_body, _ = common.request(address, "GET", path, headers)
            _, memory_body, _ = common.request(address, "GET", "/bench/memory-sessions", headers)
            if json.loads(real_body)["results"] != json.loads(memory_body)["results"]:
                raise common.CannotRun("the in-memory answer differs from the real one")
            loads = common.interleaved(
                address,
                {"list API": (path, headers), "from memory": ("/bench/memory-sessions", headers)},
                concurrency=args.concurrency,
                per_round=args.requests,
                rounds=args.rounds,
            )
        for name, measured in loads.items():
            common.expect_ok(measured, name)
    finally:
        common.close_connections()
        common.pg_drop(DATABASE)
        memory.unlink(missing_ok=True)
        memory.parent.rmdir()

    real = common.median_throughput(loads["list API"])
    baseline = common.median_throughput(loads["from memory"])
    ratio = real / baseline
    common.print_table(
        f"P3 — session list API ({ROWS} rows) vs the same JSON from memory, {args.workers} "
        f"gunicorn workers, {args.concurrency} clients (goal: ratio >= {GOAL})",
        ["list API", "from memory", "ratio", "goal"],
        [
            [
                f"{real:.0f}/s",
                f"{baseline:.0f}/s",
                f"{ratio:.2f}",
                "met" if ratio >= GOAL else "MISSED",
            ]
        ],
    )
    common.save(
        "p3",
        {"figure": "P3", "goal": f">= {GOAL}", "met": ratio >= GOAL, "list_rps": round(real, 1),
         "memory_rps": round(baseline, 1), "ratio": round(ratio, 3),
         "bytes": len(real_body), "workers": args.workers, "concurrency": args.concurrency},
    )  # fmt: skip


if __name__ == "__main__":
    common.main(run)
