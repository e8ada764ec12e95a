"""The participant id kept per (session, user), so a rejoin refreshes instead of adding."""

from __future__ import annotations

import pytest

from sessions_app.models import RoomParticipant, TrainingSession
from tests.rooms.conftest import MEETING

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(make_session):
    return make_session(room_id=MEETING, room_status="ready")


def test_a_remembered_participant_is_found_for_the_same_room_and_role(session, member):
    RoomParticipant.objects.remember(session, member, participant_id="p-1", role="participant")

    assert RoomParticipant.objects.known(session, member, "participant") == "p-1"


def test_remembering_again_replaces_the_one_row(session, member):
    RoomParticipant.objects.remember(session, member, participant_id="p-1", role="participant")
    RoomParticipant.objects.remember(session, member, participant_id="p-2", role="host")

    assert RoomParticipant.objects.count() == 1
    assert RoomParticipant.objects.known(session, member, "host") == "p-2"


def test_a_participant_of_an_earlier_room_or_another_role_is_not_reused(session, member):
    RoomParticipant.objects.remember(session, member, participant_id="p-1", role="participant")

    assert RoomParticipant.objects.known(session, member, "host") is None
    TrainingSession.objects.filter(pk=session.pk).update(room_id="a-new-meeting")
    session.refresh_from_db()
    assert RoomParticipant.objects.known(session, member, "participant") is None
