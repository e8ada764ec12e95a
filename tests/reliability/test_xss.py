"""Script in every field a user can edit shows as text: on every page that shows it, in
the HTML part of every email, in flash messages, the calendar file and the CSV export.

Pages are parsed, not searched: a finding is an element the payload created (a ``<script>``
with its code, an ``on…`` attribute, a ``javascript:`` address), and the payload must be
there as *text*, so a page that simply dropped the field would not pass.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client

from events_app.models import Event
from sessions_app import emails
from sessions_app.jobs.models import EmailKind, EmailStatus, SessionEmail
from sessions_app.models import (
    RoomStatus,
    SessionAttendance,
    SessionRegistration,
    SessionStatus,
    TrainingSession,
)
from tests.conftest import NOW, make_user
from wwmaa.models import Role

pytestmark = pytest.mark.usefixtures("frozen")

# One payload per field, each marked with its field's name so a finding names the field.
PAYLOADS = {
    "session.title": '<script>alert("session.title")</script>',
    "session.description": '"><img src=x onerror=alert("session.description")>',
    "session.tag": "<svg/onload=alert('session.tag')>",
    "event.title": "</title><script>alert('event.title')</script>",
    "event.description": "<a href=\"javascript:alert('event.description')\">x</a>",
    "event.location": "' autofocus onfocus='alert(\"event.location\")",
    "instructor.name": "<iframe src=javascript:alert('instructor.name')>",
    "member.name": '<body onload=alert("member.name")>',
}
MARKERS = set(PAYLOADS)


class Scan(HTMLParser):
    """What a browser would build from a page: elements, attributes and text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on"):
                self.findings.append(f"<{tag} {name}={value!r}>")
            if name in {"href", "src", "action", "formaction"} and (value or "").strip().lower(
            ).startswith("javascript:"):  # fmt: skip
                self.findings.append(f"<{tag} {name}={value!r}>")
            if name == "autofocus" and tag not in {"input", "textarea", "select", "button"}:
                self.findings.append(f"<{tag} autofocus>")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and "alert(" in data:
            self.findings.append(f"<script>{data[:80]}</script>")
        elif not self._in_script:
            self.text.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def assert_only_text(html: str, *expected_fields: str) -> None:
    """No element came from a payload, and each expected field's payload is there as text."""
    scan = Scan(html)
    assert scan.findings == []
    for field in expected_fields:
        assert PAYLOADS[field] in scan.all_text, f"{field} is not shown as text"


@pytest.mark.parametrize("field", PAYLOADS)
def test_the_scan_finds_each_payload_when_it_is_left_unescaped(field):
    # The same payloads pasted raw into an element's body and into a quoted attribute, as a
    # template that forgot to escape would: each one must be caught by one of the two.
    raw = PAYLOADS[field]
    pages = [f"<p>{raw}</p>", f"<div data-title='{raw}'></div>", f'<div title="{raw}"></div>']

    assert any(Scan(page).findings for page in pages)


@pytest.fixture
def hostile(make_session, member):
    """An event, an instructor and a session whose every text field carries a payload,
    a member (with a payload name) holding a seat and registered."""
    event = Event.objects.create(
        title=PAYLOADS["event.title"],
        description=PAYLOADS["event.description"],
        location=PAYLOADS["event.location"],
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=10),
        timezone="Europe/Berlin",
        is_public=True,
    )
    instructor = make_user(
        "evil-instructor", Role.INSTRUCTOR, first_name=PAYLOADS["instructor.name"]
    )
    member.first_name = PAYLOADS["member.name"]
    member.save()
    session = make_session(
        event=event,
        instructor=instructor,
        title=PAYLOADS["session.title"],
        description=PAYLOADS["session.description"],
        tags=[PAYLOADS["session.tag"]],
        start_time=NOW + timedelta(minutes=5),
        is_public=True,
        members_only=False,
        room_status=RoomStatus.READY,
        room_id="local-hostile",
    )
    SessionAttendance.objects.create(session=session, user=member, joined_at=NOW)
    SessionRegistration.objects.create(session=session, user=member)
    return event, instructor, session


def logged_in(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


PAGES = [
    # (who looks, address, the fields the page shows)
    ("anonymous", "/", ["session.title", "instructor.name"]),
    ("member", "/", ["session.title", "instructor.name", "member.name"]),
    ("anonymous", "/events/", ["event.title", "event.location"]),
    (
        "anonymous",
        "/events/{event}/",
        ["event.title", "event.description", "event.location", "session.title"],
    ),
    (
        "member",
        "/sessions/{session}/",
        ["session.title", "session.description", "session.tag", "instructor.name"],
    ),
    ("member", "/sessions/{session}/room/", ["session.title", "instructor.name"]),
    ("instructor", "/my/sessions/", ["session.title", "member.name"]),
    ("admin", "/status/", []),
    ("member", "/accounts/logout/", ["member.name"]),
    ("admin", "/admin/sessions_app/trainingsession/", ["session.title"]),
    ("admin", "/admin/sessions_app/trainingsession/{session}/change/", []),
    ("admin", "/admin/events_app/event/", ["event.title"]),
]


@pytest.mark.parametrize(("who", "address", "fields"), PAGES)
def test_every_page_shows_hostile_text_as_text(hostile, member, admin_user, who, address, fields):
    event, instructor, session = hostile
    viewer = {"anonymous": None, "member": member, "instructor": instructor, "admin": admin_user}
    address = address.format(event=event.pk, session=session.pk)

    response = logged_in(viewer[who]).get(address)

    assert response.status_code == 200
    assert_only_text(response.content.decode(), *fields)


def test_a_flash_message_naming_the_session_shows_its_title_as_text(hostile):
    _event, instructor, session = hostile
    client = logged_in(instructor)

    response = client.post(f"/my/sessions/{session.pk}/start/", follow=True)

    assert TrainingSession.objects.get(pk=session.pk).status == SessionStatus.LIVE
    assert_only_text(response.content.decode(), "session.title")
    assert any(PAYLOADS["session.title"] in str(m) for m in response.context["messages"])


def test_the_api_returns_hostile_text_unchanged_as_json_that_no_browser_sniffs(hostile, member):
    _event, _instructor, session = hostile
    client = Client()
    client.force_login(member)

    response = client.get(f"/api/training/sessions/{session.pk}")

    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["title"] == PAYLOADS["session.title"]
    assert response.json()["instructor"]["name"] == PAYLOADS["instructor.name"]


@pytest.mark.parametrize("kind", list(EmailKind))
def test_every_email_shows_hostile_text_as_text_in_html_and_verbatim_in_plain_text(
    hostile, member, kind
):
    _event, _instructor, session = hostile
    if kind == EmailKind.ROOM_FAILED:
        session.room_status = RoomStatus.FAILED
    email = SessionEmail(
        id=uuid.uuid4(),
        session=session,
        user=member,
        kind=kind,
        start_time=session.start_time,
        previous_start_time=session.start_time - timedelta(days=1),
        status=EmailStatus.SENDING,
    )

    message = emails.build_message(email, now=NOW)

    html = message.alternatives[0].content
    assert_only_text(html, "session.title", "member.name")
    assert PAYLOADS["session.title"] in message.body  # plain text: shown as written
    assert "\n" not in message.subject and PAYLOADS["session.title"] in message.subject


def test_the_calendar_file_keeps_hostile_text_inside_its_own_lines(hostile, member):
    _event, _instructor, session = hostile
    session.description = "line one\r\nATTENDEE:mailto:evil@example.com\r\nEND:VEVENT"
    session.save()

    ics = logged_in(member).get(f"/sessions/{session.pk}/calendar.ics").content.decode()

    lines = ics.replace("\r\n ", "").split("\r\n")  # unfold continuation lines
    assert not any(line.startswith("ATTENDEE:mailto:evil") for line in lines)
    assert sum(line == "END:VEVENT" for line in lines) == 1


def test_the_attendance_export_keeps_a_formula_as_text(hostile):
    _event, instructor, session = hostile
    SessionAttendance.objects.filter(session=session).update(joined_at=NOW)
    evil = make_user("formula", Role.MEMBER, first_name='=HYPERLINK("http://evil.example")')
    SessionAttendance.objects.create(session=session, user=evil, joined_at=NOW)

    response = logged_in(instructor).get(f"/my/sessions/{session.pk}/attendance.csv")

    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text
