"""``make bench``: every figure of issue 8, one script after the other, then one table.

Each script prints its own table and leaves its figure in ``bench/results/``; this prints
the summary (and writes it to ``bench/results/summary.md`` for BENCHMARKS.md). Exits
non-zero only when a script could not run; a missed goal is a figure, not a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SCRIPTS = [
    ("P1", "p1_queries.py"),
    ("P2", "p2_event_page.py"),
    ("P3", "p3_session_list.py"),
    ("P4", "p4_join_storm.py"),
    ("P5", "p5_jobs_scale.py"),
    ("P6", "p6_zerodb_drain.py"),
]


def measured(figure: str, result: dict) -> str:
    """The figure in one cell."""
    if figure == "P1":
        counts = {
            name: "/".join(map(str, r["counts"].values())) for name, r in result["requests"].items()
        }
        return "; ".join(f"{name} {c}" for name, c in counts.items()) + " (1/10/100 sessions)"
    if figure == "P2":
        return "; ".join(
            f"{viewer} {v['ratio']:.2f} ({v['event_page_rps']:.0f} vs {v['plain_rps']:.0f} req/s)"
            for viewer, v in result["viewers"].items()
        )
    if figure == "P3":
        return (
            f"{result['ratio']:.2f} ({result['list_rps']:.0f} vs {result['memory_rps']:.0f} req/s)"
        )
    if figure == "P4":
        admitted = "/".join(str(r["admitted"]) for r in result["rounds"])
        return (
            f"admitted {admitted}; p95 ratio {result['p95_ratio']:.2f} (join "
            f"{result['join_p50_ms']:.0f}/{result['join_p95_ms']:.0f} ms, healthz "
            f"{result['health_p50_ms']:.0f}/{result['health_p95_ms']:.0f} ms p50/p95)"
        )
    if figure == "P5":
        return "; ".join(
            f"{job} {j['ratio']:.2f} ({j['queries_small']}/{j['queries_large']} queries)"
            for job, j in result["jobs"].items()
        )
    if figure == "P6":
        return (
            f"{result['ratio']:.2f} ({result['drain_rows_per_s']:.0f} rows/s vs "
            f"{result['raw_requests_per_s']:.0f} requests/s)"
        )
    return json.dumps(result)


def main() -> int:
    failed = []
    rows = []
    for figure, script in SCRIPTS:
        (common.RESULTS / f"{figure.lower()}.json").unlink(missing_ok=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(common.ROOT / "bench" / script)])  # noqa: S603
        seconds = time.perf_counter() - started
        path = common.RESULTS / f"{figure.lower()}.json"
        if code != 0 or not path.exists():
            failed.append(figure)
            rows.append([figure, "could not run", "", ""])
            continue
        result = json.loads(path.read_text())
        rows.append([figure, measured(figure, result), result["goal"],
                     ("met" if result["met"] else "MISSED") + f" ({seconds:.0f} s)"])  # fmt: skip
    header = ["figure", "measured", "goal", "result"]
    common.print_table("Summary", header, rows)
    info = common.machine()
    machine = (
        f"{info['cpus']} CPUs, {info['memory']}, Python {info['python']}, "
        f"PostgreSQL {info['postgresql']}, {info['platform']}"
    )
    print(f"\n  machine: {machine}")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    (common.RESULTS / "summary.md").write_text("\n".join(lines) + f"\n\nMachine: {machine}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
