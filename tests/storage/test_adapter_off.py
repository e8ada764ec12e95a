"""Without ZERODB_API_KEY the mirror is off: nothing is queued, kicked or sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_q.models import OrmQ

from sessions_app import services
from sessions_app.models import TrainingSession
from sessions_app.storage.models import OutboxEntry, RowMapping
from sessions_app.storage.outbox import DRAIN_TASK, is_enabled
from sessions_app.storage.tasks import drain_outbox
from tests.conftest import NOW
from tests.storage.support import admin_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def test_the_whole_life_of_a_session_queues_and_sends_nothing(
    instructor,
    member,
    admin_user,
    client,
    no_calls,
    django_capture_on_commit_callbacks,
):
    assert not is_enabled()
    with django_capture_on_commit_callbacks(execute=True):
        session = services.create_session(
            instructor,
            {"title": "Kata", "start_time": NOW + timedelta(minutes=20), "duration_minutes": 30},
        )
        services.update_session(instructor, session.pk, {"description": "Forms"})
        services.start_session(instructor, session.pk)
        services.join_session(member, session.pk)
        services.record_presence(member, session.pk)
        services.leave_session(member, session.pk)
        services.end_session(instructor, session.pk)
        client.force_login(admin_user)
        response = client.post(
            reverse("admin:sessions_app_trainingsession_add"),
            admin_form(instructor=str(instructor.pk), title="Admin made"),
        )
        assert response.status_code == 302
        TrainingSession.objects.filter(pk=session.pk).delete()

    assert drain_outbox() == "ZeroDB is off"
    assert OutboxEntry.objects.count() == 0
    assert RowMapping.objects.count() == 0
    assert not [task for task in OrmQ.objects.all() if task.task["func"] == DRAIN_TASK]


def test_status_says_so(no_calls, capsys):
    call_command("zerodb", "status")
    assert capsys.readouterr().out.startswith("ZeroDB: off")
