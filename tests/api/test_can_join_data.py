"""``can_join_data`` (every refused join's answer) writes what ``CanJoinSerializer`` does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sessions_app.api.serializers import CanJoinSerializer, can_join_data
from sessions_app.services import JoinDecision, Reason
from sessions_app.services.eligibility import MESSAGES

OPENS = datetime(2026, 6, 1, 17, 50, tzinfo=UTC)


@pytest.mark.parametrize(
    "decision",
    [
        JoinDecision(True, Reason.OK, MESSAGES[Reason.OK], seats_left=3),
        JoinDecision(False, Reason.FULL, MESSAGES[Reason.FULL], seats_left=0),
        JoinDecision(False, Reason.TOO_EARLY, MESSAGES[Reason.TOO_EARLY], opens_at=OPENS),
        JoinDecision(
            False,
            Reason.TOO_EARLY,
            MESSAGES[Reason.TOO_EARLY],
            opens_at=OPENS.astimezone(timezone(timedelta(hours=2))).replace(microsecond=250),
        ),
        JoinDecision(False, Reason.LOGIN_REQUIRED, MESSAGES[Reason.LOGIN_REQUIRED]),
    ],
    ids=["ok", "full", "too-early", "too-early-offset", "login"],
)
def test_the_answer_is_the_serializers(decision):
    assert can_join_data(decision) == CanJoinSerializer(decision).data


def test_the_opening_time_is_utc_with_z():
    decision = JoinDecision(False, Reason.TOO_EARLY, "", opens_at=OPENS)

    assert can_join_data(decision)["opens_at"] == "2026-06-01T17:50:00Z"
