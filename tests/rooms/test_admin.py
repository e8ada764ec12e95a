"""The providers' bookkeeping in the admin: read-only, for admins only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import RoomCall, RoomParticipant, WebhookDelivery

pytestmark = pytest.mark.django_db

MODELS = ["webhookdelivery", "roomcall", "roomparticipant"]


@pytest.fixture
def rows(make_session, member):
    session = make_session(room_id="m-1", room_status="ready")
    WebhookDelivery.objects.create(
        provider="cloudflare", delivery_id="d-1", event="meeting.started", body="{}"
    )
    RoomCall.objects.create(session=session, room_id="m-1", call_id="call-1")
    RoomParticipant.objects.remember(session, member, participant_id="p-1", role="participant")


@pytest.mark.parametrize("model", MODELS)
def test_an_admin_reads_them_and_can_change_nothing(client, admin_user, rows, model):
    client.force_login(admin_user)
    listing = client.get(reverse(f"admin:sessions_app_{model}_changelist"))
    obj = {
        "webhookdelivery": WebhookDelivery,
        "roomcall": RoomCall,
        "roomparticipant": RoomParticipant,
    }[model].objects.get()
    detail = client.get(reverse(f"admin:sessions_app_{model}_change", args=[obj.pk]))

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert 'type="submit" value="Save"' not in detail.content.decode()
    assert client.get(reverse(f"admin:sessions_app_{model}_add")).status_code == 403


@pytest.mark.parametrize("model", MODELS)
def test_an_instructor_does_not_see_them(client, instructor, rows, model):
    client.force_login(instructor)

    assert client.get(reverse(f"admin:sessions_app_{model}_changelist")).status_code == 403
