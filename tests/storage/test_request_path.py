"""No web request ever calls ZeroDB: it queues an entry and kicks a worker, nothing more."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sessions_app.models import TrainingSession
from sessions_app.storage.outbox import DRAIN_TASK
from tests.storage.support import admin_form, pending

# Real commits, so that on_commit callbacks (the kick) run as they do in production.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("zerodb_on", "frozen"),
]


def test_saving_a_session_in_the_admin_calls_no_zerodb(
    client, admin_user, instructor, no_calls, broker
):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:sessions_app_trainingsession_add"),
        admin_form(instructor=str(instructor.pk)),
    )

    assert response.status_code == 302
    session = TrainingSession.objects.get()
    assert pending() == {("training_sessions", str(session.pk)): 1}
    # The kick went to the broker for a worker (django-q2 runs in sync mode in tests, and
    # still nothing ran here).
    (drain,) = [call for call in broker.calls if call["func"] == DRAIN_TASK]
    assert drain["q_options"]["sync"] is False

    response = client.post(
        reverse("admin:sessions_app_trainingsession_change", args=[session.pk]),
        admin_form(instructor=str(instructor.pk), title="Renamed"),
    )
    assert response.status_code == 302
    assert pending() == {("training_sessions", str(session.pk)): 1}


def test_an_admin_action_calls_no_zerodb(client, admin_user, make_session, no_calls):
    session = make_session()
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:sessions_app_trainingsession_changelist"),
        {"action": "cancel_sessions", "index": "0", "_selected_action": [str(session.pk)]},
    )

    assert response.status_code == 302
    assert TrainingSession.objects.get().status == "canceled"
    assert pending() == {("training_sessions", str(session.pk)): 1}


def test_the_outbox_admin_shows_dead_letters_to_admins_only(
    client, admin_user, instructor, make_session, no_calls
):
    from sessions_app.storage.models import OutboxEntry, OutboxState

    make_session()
    OutboxEntry.objects.update(state=OutboxState.DEAD, last_error="422: tags: too many")
    url = reverse("admin:sessions_app_outboxentry_changelist")

    client.force_login(instructor)
    assert client.get(url).status_code == 403
    client.force_login(admin_user)
    page = client.get(url + "?state=dead")
    assert page.status_code == 200
    assert b"422: tags: too many" in page.content

    entry = OutboxEntry.objects.get()
    response = client.post(
        url, {"action": "retry_dead_letters", "index": "0", "_selected_action": [str(entry.pk)]}
    )
    assert response.status_code == 302
    assert OutboxEntry.objects.get().state == OutboxState.PENDING
