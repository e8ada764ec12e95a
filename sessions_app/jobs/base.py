"""What every job shares: its report, the capped loop over its unit, and back-off.

A tick calls its unit until the unit finds no work, the cap is reached or the time budget
is spent; whatever is left is found by the next tick, five minutes later. The budget keeps
a tick well inside django-q2's task timeout (``Q_CLUSTER["timeout"]``), after which the
worker would be killed in the middle of a unit.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

# Units one tick runs at most, and seconds after which it starts no new unit.
DEFAULT_LIMIT = 500
DEFAULT_SECONDS = 60.0


@dataclass
class JobReport:
    """What one tick did, as counts under fixed labels: ``reminders: 12 sent, 3 skipped``."""

    name: str
    labels: tuple[str, ...]
    #: Counts shown only when not zero (e.g. the emails a rooms tick sent).
    quiet_labels: tuple[str, ...] = ()
    #: Put before an email outcome ("sent") to make its label ("emails sent").
    email_prefix: str = ""
    counts: Counter = field(default_factory=Counter)
    units: int = 0
    stopped: str = ""

    def add(self, label: str, count: int = 1) -> None:
        if label not in self.labels and label not in self.quiet_labels:
            raise ValueError(f"{self.name} has no count named {label!r}")
        self.counts[label] += count

    def add_email(self, outcome: str, count: int = 1) -> None:
        """Count an email outcome (``sent``, ``skipped``, ``retrying``, ``failed``)."""
        self.add(f"{self.email_prefix}{outcome}", count)

    def __getitem__(self, label: str) -> int:
        return self.counts[label]

    def __str__(self) -> str:
        shown = [*self.labels, *(label for label in self.quiet_labels if self.counts[label])]
        summary = ", ".join(f"{self.counts[label]} {label}" for label in shown)
        if self.stopped:
            summary += f" (stopped early: {self.stopped}; the next tick goes on)"
        return f"{self.name}: {summary}"


def run_units(
    unit: Callable[[], bool],
    report: JobReport,
    *,
    limit: int = DEFAULT_LIMIT,
    seconds: float = DEFAULT_SECONDS,
) -> JobReport:
    """Call ``unit`` until it finds no work, ``limit`` units ran or ``seconds`` passed."""
    deadline = time.monotonic() + seconds
    while unit():
        report.units += 1
        if report.units >= limit:
            report.stopped = f"{limit} units"
            break
        if time.monotonic() >= deadline:
            report.stopped = f"{seconds:g} seconds"
            break
    return report


def backoff(attempt: int, *, base: timedelta, cap: timedelta) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1, 2, …): doubling, capped."""
    return min(cap, base * (2 ** max(0, attempt - 1)))
