"""Helpers shared by the ZeroDB mirror tests."""

from __future__ import annotations

from collections import Counter

from sessions_app.storage.fieldmap import TABLES, content_hash
from sessions_app.storage.models import OutboxEntry, OutboxState

API_KEY = "zdb-test-key-7f3a9c"
PROJECT = "proj-123"
BASE = "https://zerodb.test"
ROOT = f"{BASE}/v1/projects/{PROJECT}/database"


def row_answer(row_id: str, data: dict, table: str = "training_sessions") -> dict:
    """A row as ZeroDB answers it."""
    return {
        "row_id": row_id,
        "project_id": PROJECT,
        "table_id": f"tbl-{table}",
        "table_name": table,
        "row_data": data,
        "created_at": "2026-06-01T16:00:00Z",
        "updated_at": "2026-06-01T16:00:00Z",
    }


def mirror_snapshot() -> dict[tuple[str, str], str]:
    """Every mirrored row's document hash, by (table, id)."""
    snapshot = {}
    for spec in TABLES.values():
        for obj in spec.rows():
            snapshot[(spec.name, str(obj.pk))] = content_hash(spec, spec.to_document(obj))
    return snapshot


def changed_rows(before: dict, after: dict) -> set[tuple[str, str]]:
    """Rows created, deleted or whose document changed between two snapshots."""
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def pending() -> Counter:
    """Pending outbox entries per (table, id)."""
    return Counter(
        (table, str(object_id))
        for table, object_id in OutboxEntry.objects.filter(state=OutboxState.PENDING).values_list(
            "table", "object_id"
        )
    )


def admin_form(**fields) -> dict[str, str]:
    """What the session admin's add or change form posts (inline management included)."""
    form = {
        "title": "Admin made",
        "description": "",
        "duration_minutes": "60",
        "capacity": "",
        "event": "",
        "tags_text": "",
        "chat_enabled": "on",
        "members_only": "on",
        "start_time_0": "2026-06-03",
        "start_time_1": "10:00:00",
    }
    for prefix in ("attendance", "registrations"):
        form.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    form.update(fields)
    return form
