"""Load a small demo: people of every role, an event, and sessions around now.

Idempotent: running it again updates the same rows (fixed ids) and moves the sessions so
they are around the new "now"; nothing is duplicated.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from events_app.models import Event
from sessions_app.models import (
    RoomStatus,
    SessionAttendance,
    SessionStatus,
    TrainingSession,
)
from wwmaa.models import Role, User

NAMESPACE = uuid.UUID("5f0c0f9e-5d1e-4a53-9a57-7a0d1f6f2a10")

# username, role, first name, last name, password
# One account per role; three instructors because the demo's sessions around "now" would
# otherwise overlap for one instructor, which the schedule rules forbid.
PEOPLE = [
    ("admin", Role.ADMIN, "Ada", "Admin", "demo-admin-pass"),
    ("board", Role.BOARD_MEMBER, "Hana", "Board", "demo-board-pass"),
    ("sensei", Role.INSTRUCTOR, "Kenji", "Sato", "demo-instructor-pass"),
    ("sensei2", Role.INSTRUCTOR, "Maria", "Lopez", "demo-instructor-pass"),
    ("sensei3", Role.INSTRUCTOR, "Yuki", "Tanaka", "demo-instructor-pass"),
    ("member", Role.MEMBER, "Mia", "Member", "demo-member-pass"),
    ("member2", Role.MEMBER, "Max", "Member", "demo-member-pass"),
    ("visitor", Role.PUBLIC, "Pat", "Public", "demo-public-pass"),
]


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


class Command(BaseCommand):
    help = "Create demo users, an event and sessions around now (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (the demo passwords are public).",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "load_demo creates accounts with public passwords; run it with DEBUG=1 "
                "or pass --force."
            )
        now = timezone.now().replace(second=0, microsecond=0)
        with transaction.atomic():
            people = {row[0]: self._person(*row) for row in PEOPLE}
            event = self._event(now)
            self._sessions(now, event, people)
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Log in at /accounts/login/ as:"))
        for username, role, _first, _last, password in PEOPLE:
            self.stdout.write(f"  {role.label:<13} {username:<9} password: {password}")

    def _person(self, username, role, first, last, password) -> User:
        user, _ = User.objects.get_or_create(username=username)
        user.role = role
        user.first_name, user.last_name = first, last
        user.email = f"{username}@wwmaa.example"
        user.is_superuser = role == Role.ADMIN
        user.set_password(password)
        user.save()
        return user

    def _event(self, now) -> Event:
        event, _ = Event.objects.update_or_create(
            id=demo_id("event"),
            defaults={
                "title": "Winter Camp (online)",
                "description": "A week of live classes for every level.",
                "starts_at": now - timedelta(days=1),
                "ends_at": now + timedelta(days=6),
                "timezone": settings.TIME_ZONE,
                "location": "Online",
                "is_public": True,
            },
        )
        return event

    def _sessions(self, now, event, people) -> None:
        sensei, sensei2, sensei3 = people["sensei"], people["sensei2"], people["sensei3"]
        plans = [
            (
                "soon",
                sensei,
                "Kata fundamentals",
                now + timedelta(minutes=8),
                45,
                None,
                True,
                False,
            ),
            ("live", sensei2, "Sparring drills", now - timedelta(minutes=15), 60, 30, True, True),
            ("tomorrow", sensei, "Weapons basics", now + timedelta(days=1), 60, 20, True, False),
            (
                "members",
                sensei,
                "Black belt preparation",
                now + timedelta(days=2),
                90,
                12,
                False,
                True,
            ),
            ("full", sensei3, "Private coaching", now + timedelta(minutes=5), 30, 1, True, True),
        ]
        for key, instructor, title, start, minutes, capacity, is_public, members_only in plans:
            live = key == "live"
            session, _ = TrainingSession.objects.update_or_create(
                id=demo_id(f"session-{key}"),
                defaults={
                    "event": event,
                    "instructor": instructor,
                    "title": title,
                    "description": f"Demo session: {title.lower()}.",
                    "start_time": start,
                    "duration_minutes": minutes,
                    "capacity": capacity,
                    "is_public": is_public,
                    "members_only": members_only,
                    "tags": ["demo"],
                    "status": SessionStatus.LIVE if live else SessionStatus.SCHEDULED,
                    "started_at": start if live else None,
                    "ended_at": None,
                    "canceled_at": None,
                    "end_reason": None,
                    "archived_at": None,
                    "room_status": RoomStatus.PENDING,
                    "room_id": None,
                    "room_url": None,
                },
            )
            if key == "full":
                SessionAttendance.objects.get_or_create(
                    session=session,
                    user=people["member2"],
                    defaults={"joined_at": now, "segment_started_at": now, "last_seen_at": now},
                )
