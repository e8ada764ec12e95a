"""A tiny task for the qcluster smoke test: proves a real worker ran it."""

from __future__ import annotations

from pathlib import Path


def touch(path: str) -> str:
    Path(path).write_text("ran\n")
    return f"touched {path}"
