"""Test doubles for the jobs: a thread-safe room provider and a mail server that fails."""

from __future__ import annotations

import threading
from collections import deque

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from sessions_app.rooms.base import Room
from sessions_app.rooms.local import LocalRoomProvider


class FakeRoomProvider(LocalRoomProvider):
    """Counts every create and retire call, across threads; can be told to fail.

    ``get_provider`` makes one instance per thread, so the record is kept on the class;
    the ``fake_provider`` fixture resets it.
    """

    name = "fake"
    lock = threading.Lock()
    created: list = []
    retired: list = []
    create_errors: deque = deque()
    retire_errors: deque = deque()

    @classmethod
    def reset(cls) -> None:
        with cls.lock:
            cls.created = []
            cls.retired = []
            cls.create_errors = deque()
            cls.retire_errors = deque()

    def create_room(self, session) -> Room:
        with self.lock:
            self.created.append(session.pk)
            error = self.create_errors.popleft() if self.create_errors else None
        if error is not None:
            raise error
        return Room(room_id=f"fake-{session.pk}", room_url=f"http://rooms.test/{session.pk}")

    def retire_room(self, room_id: str) -> None:
        with self.lock:
            self.retired.append(room_id)
            error = self.retire_errors.popleft() if self.retire_errors else None
        if error is not None:
            raise error


class FlakyEmailBackend(LocmemBackend):
    """The test mail server, refusing mail to the addresses in ``refuse`` (an SMTP error)."""

    refuse: set[str] = set()
    opened = 0

    def open(self):
        type(self).opened += 1
        return super().open()

    def send_messages(self, messages):
        for message in messages:
            refused = set(message.to) & self.refuse
            if refused:
                import smtplib

                raise smtplib.SMTPRecipientsRefused(dict.fromkeys(refused, (550, b"no")))
        return super().send_messages(messages)
