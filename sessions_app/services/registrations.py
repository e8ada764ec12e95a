"""RSVPs: a member says "I'll be there", for reminders and a calendar entry."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from sessions_app.models import SessionRegistration, SessionStatus, TrainingSession
from sessions_app.services.eligibility import may_see
from sessions_app.services.errors import LoginRequired, NotAllowed, NotVisible
from sessions_app.services.lifecycle import status_conflict
from wwmaa import roles


def register(user, session_id) -> tuple[SessionRegistration, bool]:
    """Register the user for a scheduled or live session; returns (registration, created).

    Registering twice returns the existing registration. It never grants a seat or the
    right to join.
    """
    if user is None or not user.is_authenticated:
        raise LoginRequired("Log in to register.")
    session = TrainingSession.objects.filter(pk=session_id).first()
    # A missing session and one the user may not see get the same answer, so that
    # neither reveals whether a members-only session exists.
    if session is None or not may_see(user, session):
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


def unregister(user, session_id) -> bool:
    """Withdraw the user's registration; returns whether there was one.

    Anyone may withdraw a registration they hold (even one for a session they can no
    longer see). Otherwise a session the user may not see answers like a missing one:
    "False" would tell a public user that a members-only session exists.
    """
    if user is None or not user.is_authenticated:
        raise LoginRequired("Log in first.")
    deleted, _ = SessionRegistration.objects.filter(session_id=session_id, user=user).delete()
    if deleted:
        return True
    session = TrainingSession.objects.filter(pk=session_id).first()
    if session is None or not may_see(user, session):
        raise NotVisible("Session not found.")
    return False
