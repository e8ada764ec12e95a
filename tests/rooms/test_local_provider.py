"""The local provider: the whole flow on a laptop, and never a network call."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions_app import services
from sessions_app.models import RecordingStatus, RoomStatus, TrainingSession
from sessions_app.rooms import RoomProviderNotSupported, RoomRole, get_provider
from sessions_app.services import rooms as room_service
from tests.conftest import NOW


@pytest.fixture
def local(no_http):
    provider = get_provider()
    assert provider.name == "local"
    return provider


def test_a_room_is_the_sessions_own_page(local, make_session):
    session = make_session()

    room = local.create_room(session)

    assert room.room_id == f"local-{session.pk}"
    assert room.room_url == f"http://testserver/sessions/{session.pk}/room/"
    assert local.get_room(room.room_id).active is True


def test_retiring_and_ending_need_no_one_else(local, make_session):
    session = make_session()

    local.retire_room(f"local-{session.pk}")
    local.delete_room(f"local-{session.pk}")
    assert local.end_call(f"local-{session.pk}") == 0


def test_join_credentials_lead_to_the_room_page_without_a_token(local, make_session, member):
    session = make_session(room_id="local-x", room_status=RoomStatus.READY)

    credentials = local.join_credentials(session, member, RoomRole.PARTICIPANT, participant_id="p")

    assert credentials.room_url == f"http://testserver/sessions/{session.pk}/room/"
    assert credentials.token is None
    assert credentials.participant_id is None
    assert credentials.role == "participant"


def test_recording_is_simulated_and_says_so(local):
    assert local.simulated_recording is True

    started = local.start_recording("local-x")
    stopped = local.stop_recording("local-x", started.recording_id)

    assert started.status == RecordingStatus.RECORDING
    assert stopped.status == RecordingStatus.READY
    assert started.simulated and stopped.simulated
    assert stopped.recording_id == started.recording_id
    assert stopped.download_url is None  # there is no file, and nothing pretends otherwise


def test_stopping_an_unknown_simulated_recording_finds_none(local):
    assert local.stop_recording("local-x") is None


def test_webhooks_are_refused(local):
    with pytest.raises(RoomProviderNotSupported):
        local.receive_webhook(b"{}", {"rtk-signature": "x"})
    with pytest.raises(RoomProviderNotSupported):
        local.parse_webhook(b"{}", delivery_id="d")
    with pytest.raises(RoomProviderNotSupported):
        local.register_webhook("https://x.example/hook", ["meeting.started"])


def test_the_domain_flow_makes_no_http_call(local, frozen, make_session, instructor, member):
    session = make_session(start_time=NOW + timedelta(minutes=5))

    room_service.ensure_room(session)
    services.start_session(instructor, session.pk)
    services.join_session(user=member, session_id=session.pk)
    services.leave_session(user=member, session_id=session.pk)
    services.end_session(instructor, session.pk)
    assert room_service.retire_room(session.pk) is True

    session.refresh_from_db()
    assert session.room_status == RoomStatus.DELETED


def test_canceling_a_session_without_a_room_calls_nobody_on_cloudflare(
    cloudflare_settings, no_http, make_session, instructor, django_capture_on_commit_callbacks
):
    session = make_session()
    assert session.room_status == RoomStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(instructor, session.pk)

    assert TrainingSession.objects.get(pk=session.pk).status == "canceled"
