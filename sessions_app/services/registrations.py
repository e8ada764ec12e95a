"""RSVPs: a member says "I'll be there", for reminders and a calendar entry."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from sessions_app.models import SessionRegistration, SessionStatus, TrainingSession
from sessions_app.services.eligibility import may_see
from sessions_app.services.errors import LoginRequired, NotAllowed, NotVisible
from sessions_app.services.lifecycle import status_conflict
from wwmaa import roles


def register(session_id, user) -> tuple[SessionRegistration, bool]:
    """Register the user for a scheduled or live session; returns (registration, created).

    Registering twice returns the existing registration. It never grants a seat or the
    right to join.
    """
    if user is None or not user.is_authenticated:
        raise LoginRequired("Log in to register.")
    session = TrainingSession.objects.get(pk=session_id)
    if not may_see(user, session):
        raise NotVisible("Session not found.")
    if not roles.is_member(user):
        raise NotAllowed("Only members can register for sessions.", "members_only")
    if session.status not in {SessionStatus.SCHEDULED, SessionStatus.LIVE}:
        raise status_conflict(session.status)
    try:
        with transaction.atomic():
            return SessionRegistration.objects.get_or_create(session=session, user=user)
    except IntegrityError:
        # A concurrent request registered the same user a moment earlier.
        return SessionRegistration.objects.get(session=session, user=user), False


def unregister(session_id, user) -> bool:
    """Withdraw the user's registration; returns whether there was one."""
    if user is None or not user.is_authenticated:
        raise LoginRequired("Log in first.")
    deleted, _ = SessionRegistration.objects.filter(session_id=session_id, user=user).delete()
    if not deleted and not TrainingSession.objects.filter(pk=session_id).exists():
        raise NotVisible("Session not found.")
    return bool(deleted)
