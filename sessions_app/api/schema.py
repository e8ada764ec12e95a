"""Hooks that shape the generated OpenAPI document."""

from __future__ import annotations

from typing import Any


def paths_without_trailing_slash(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Document every path as SPEC §9 writes it, without the optional trailing slash.

    The routes accept both (``/?``); the generator would otherwise print the slash.
    """
    result["paths"] = {
        (path.rstrip("/") or "/"): operations for path, operations in result["paths"].items()
    }
    return result
