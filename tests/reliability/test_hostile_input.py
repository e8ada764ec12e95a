"""Hostile input, through the API and the pages: every answer is a clear 4xx (or the
request's plain success), never a 500.

``tests/api/test_malformed_input.py`` covers bad values field by field on create and
update; here the same kinds of input reach every endpoint that reads a body, the query
strings, the form pages and the admin, and the well-formed but unusual (emoji, scripts
written right to left, daylight-saving gaps) is shown to work end to end.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client

from sessions_app.models import SessionStatus, TrainingSession
from tests.conftest import NOW, make_user
from tests.reliability.conftest import SESSIONS, client_for
from wwmaa.models import Role

pytestmark = pytest.mark.usefixtures("frozen", "unthrottled")

GOOD = {"title": "Kata", "start_time": "2026-06-02T18:00:00Z", "duration_minutes": 60}


def detail(session, suffix: str = "") -> str:
    return f"{SESSIONS}/{session.pk}{suffix}"


@pytest.fixture
def joinable(make_session):
    """A public session starting in five minutes: anyone logged in may act on it."""
    return make_session(start_time=NOW + timedelta(minutes=5), is_public=True, capacity=5)


# Every API endpoint that takes a body, as (method, path template, who calls it).
WRITES = [
    ("POST", SESSIONS, "instructor"),
    ("PATCH", "{session}", "instructor"),
    ("PUT", "{session}", "instructor"),
    ("POST", "{session}/start", "instructor"),
    ("POST", "{session}/end", "instructor"),
    ("POST", "{session}/join", "member"),
    ("POST", "{session}/leave", "member"),
    ("POST", "{session}/registration", "member"),
    ("DELETE", "{session}/registration", "member"),
    ("POST", "/api/auth/token", "anonymous"),
    ("POST", "/api/auth/token/refresh", "anonymous"),
]
# The endpoints that read their body, and so must refuse one they cannot read.
READS_BODY = {SESSIONS, "{session}", "/api/auth/token", "/api/auth/token/refresh"}


def write_path(template: str, session) -> str:
    return template.replace("{session}", detail(session))


def assert_clear_refusal(response, status: int | None = None) -> dict:
    """A 4xx (``status`` when given) with a JSON ``detail`` and ``code``."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if status is not None:
        assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["detail"] and body["code"]
    return body


class Unreadable:
    """A request body stream that records any attempt to read it."""

    def __init__(self):
        self.reads = 0

    def read(self, *args):
        self.reads += 1
        return b""

    readline = read


# --- Size ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "template", "who"), WRITES)
def test_a_body_above_the_configured_limit_is_refused_before_it_is_read(
    cast, joinable, method, template, who
):
    stream = Unreadable()
    declared = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1

    response = client_for(cast[who]).generic(
        method,
        write_path(template, joinable),
        content_type="application/json",
        CONTENT_LENGTH=str(declared),
        **{"wsgi.input": stream},
    )

    if template in READS_BODY:
        assert assert_clear_refusal(response, 413)["code"] == "too_large"
        assert stream.reads == 0
    else:
        assert response.status_code < 500
    assert TrainingSession.objects.count() == 1


def test_the_limit_is_django_s_upload_cap_of_two_and_a_half_megabytes():
    # The documented default, relied on by the API's parsers; a change should be deliberate.
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440


@pytest.mark.parametrize(
    "path",
    ["/sessions/{session}/rsvp/", "/sessions/{session}/join/", "/api/webhooks/cloudflare"],
)
def test_an_oversized_form_or_webhook_post_is_a_400_unread(member, joinable, path):
    # As in production: the CSRF check reads the form, so the cap applies before any view.
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    client.cookies[settings.CSRF_COOKIE_NAME] = "x" * 32
    stream = Unreadable()

    response = client.generic(
        "POST",
        path.replace("{session}", str(joinable.pk)),
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        **{"wsgi.input": stream},
    )

    assert response.status_code == 400
    assert stream.reads == 0
    assert not joinable.attendance.exists() and not joinable.registrations.exists()


# --- Unreadable and mislabelled bodies ----------------------------------------------------

UNREADABLE = [
    pytest.param("{bad", "application/json", id="malformed JSON"),
    pytest.param('{"title": "Kata"', "application/json", id="truncated JSON"),
    pytest.param("[" * 50_000, "application/json", id="nested fifty thousand deep"),
    pytest.param(b"\xc3\x28{}", "application/json", id="invalid UTF-8"),
    pytest.param(b"{}", "application/json; charset=utf-16", id="not the charset declared"),
    pytest.param('{"title": "\\u0000"}', "application/json", id="an escaped NUL"),
    pytest.param(b"--x\r\nnope", "multipart/form-data", id="multipart without a boundary"),
]


@pytest.mark.parametrize(("method", "template", "who"), WRITES)
@pytest.mark.parametrize(("raw", "content_type"), UNREADABLE)
def test_an_unreadable_body_to_any_endpoint_is_a_clear_4xx(
    cast, joinable, method, template, who, raw, content_type
):
    response = client_for(cast[who]).generic(
        method, write_path(template, joinable), raw, content_type=content_type
    )

    if template in READS_BODY:
        assert_clear_refusal(response, 400)
    else:
        # Actions take no body: whatever junk comes with one is never read.
        assert response.status_code < 500


WRONG_TYPES = ["text/plain", "application/xml", "text/html", "image/png", "application/yaml"]


@pytest.mark.parametrize(("method", "template", "who"), WRITES)
@pytest.mark.parametrize("content_type", WRONG_TYPES)
def test_a_content_type_the_api_does_not_read_is_a_415(
    cast, joinable, method, template, who, content_type
):
    response = client_for(cast[who]).generic(
        method, write_path(template, joinable), json.dumps(GOOD), content_type=content_type
    )

    if template in READS_BODY:
        assert assert_clear_refusal(response, 415)["code"] == "unsupported_media_type"
    else:
        assert response.status_code < 500


def test_json_sent_as_a_form_is_read_as_a_form_and_refused_field_by_field(instructor):
    response = client_for(instructor).post(
        SESSIONS, json.dumps(GOOD), content_type="application/x-www-form-urlencoded"
    )

    body = assert_clear_refusal(response, 400)
    assert body[json.dumps(GOOD)] == ["Unknown field."]
    assert TrainingSession.objects.count() == 0


# --- Text ---------------------------------------------------------------------------------

UNICODE_TITLES = [
    pytest.param("Kata 🥋 für Anfänger", id="emoji and umlauts"),
    pytest.param("空手道の型 — 初級", id="Japanese"),
    pytest.param("تمارين الكاراتيه", id="right to left"),
    pytest.param("👨‍👩‍👧‍👦 family class", id="a joined emoji sequence"),
    pytest.param("Z̤͔ͧ̑̓ä͖̭̈̇lgo", id="stacked combining marks"),
    pytest.param("🥋" * 200, id="two hundred astral characters"),
    pytest.param("\u202eevil\u202c title", id="bidi override"),
]


@pytest.mark.parametrize("title", UNICODE_TITLES)
def test_a_title_in_any_script_is_kept_exactly_through_api_and_page(
    instructor, member, event, title
):
    owner = client_for(instructor)

    created = owner.post(
        SESSIONS,
        {**GOOD, "title": title, "event_id": str(event.pk), "is_public": True, "tags": ["🥋"]},
        format="json",
    )

    assert created.status_code == 201, created.content
    assert created.json()["title"] == title
    assert TrainingSession.objects.get().title == title
    listed = client_for(member).get(SESSIONS, {"tag": "🥋"}).json()["results"]
    assert [row["title"] for row in listed] == [title]
    page = Client().get(f"/events/{event.pk}/")
    assert title in page.content.decode()


def test_a_title_of_two_hundred_and_one_emoji_is_refused_by_length(instructor):
    response = client_for(instructor).post(SESSIONS, {**GOOD, "title": "🥋" * 201}, format="json")

    assert "title" in assert_clear_refusal(response, 400)


@pytest.mark.parametrize(
    "field", ["title", "description", "tags"], ids=["title", "description", "a tag"]
)
def test_a_nul_character_in_any_text_field_is_a_400(instructor, field):
    value = ["ka\x00ta"] if field == "tags" else "Ka\x00ta"

    response = client_for(instructor).post(SESSIONS, {**GOOD, field: value}, format="json")

    assert field in assert_clear_refusal(response, 400)
    assert TrainingSession.objects.count() == 0


QUERY_NULS = ["tag", "instructor", "event", "status", "sort_by", "sort_order", "limit", "offset"]


@pytest.mark.parametrize("name", QUERY_NULS)
def test_a_nul_in_a_list_filter_is_a_400_or_ignored(member, joinable, name):
    response = client_for(member).get(f"{SESSIONS}?{name}=a%00b")

    assert response.status_code in {200, 400}, response.content[:300]
    if response.status_code == 400:
        assert name in response.json()
    else:
        assert response.json()["results"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/?q=%00",
        "/events/?page=%00",
        "/sessions/status/?ids=%00",
        "/sessions/status/?ids=" + "%00," * 100,
        f"{SESSIONS}/upcoming?instructor=%00",
    ],
)
def test_a_nul_in_a_page_s_query_string_is_never_a_server_error(member, joinable, path):
    client = Client()
    client.force_login(member)

    response = client.get(path)

    assert response.status_code in {200, 400}


def test_a_nul_in_a_login_is_refused_like_a_wrong_password(member):
    form = Client().post("/accounts/login/", {"username": "mia\x00", "password": "pw"})
    token = Client().post(
        "/api/auth/token", {"username": "mia\x00", "password": "pw"}, "application/json"
    )

    assert form.status_code == 200 and "_auth_user_id" not in form.client.session
    assert token.status_code == 400 and "username" in token.json()


@pytest.mark.parametrize(
    "target", ["%00", "/ok%00", "/%00//evil.example/", "%0d%0aSet-Cookie:%20x=1", "//%00evil"]
)
def test_a_login_s_next_address_with_control_characters_stays_on_this_site(member, target):
    response = Client().post(
        f"/accounts/login/?next={target}", {"username": "mia", "password": "pw"}
    )

    location = response["Location"]
    assert response.status_code == 302
    assert location.startswith("/") and not location.startswith("//")
    assert not {"\x00", "\r", "\n"} & set(location)
    assert "x" not in response.cookies


# --- Long query strings -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tag", "instructor", "event", "status", "sort_by", "search"])
def test_a_hundred_kilobyte_query_value_is_a_400_or_ignored(member, joinable, name):
    response = client_for(member).get(SESSIONS, {name: "x" * 100_000})

    assert response.status_code in {200, 400}
    if response.status_code == 200:
        assert response.json()["count"] in {0, 1}


def test_more_query_parameters_than_django_allows_are_a_400(member):
    query = "&".join(f"status=s{i}" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = client_for(member).get(f"{SESSIONS}?{query}")

    assert assert_clear_refusal(response, 400)["code"] == "parse_error"


def test_a_status_poll_for_thousands_of_ids_answers_at_most_a_page(member, joinable):
    ids = ",".join([str(joinable.pk)] * 5000)
    client = Client()
    client.force_login(member)

    response = client.get("/sessions/status/", {"ids": ids})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["sessions"]] == [str(joinable.pk)]


# --- Datetimes ----------------------------------------------------------------------------

NAIVE = ["2026-06-02T18:00:00", "2026-06-02 18:00", "2026-06-02T18:00:00.123456"]
OUT_OF_RANGE = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "10000-01-01T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-06-02T24:01:00Z",
    "2026-06-02T18:00:00+99:00",
    "+002026-06-02T18:00:00Z",
    "1e308",
]


@pytest.mark.parametrize("value", NAIVE)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_naive_start_time_is_refused_with_a_message_asking_for_an_offset(
    instructor, make_session, method, value
):
    path = SESSIONS if method == "POST" else detail(make_session())

    response = client_for(instructor).generic(
        method, path, json.dumps({**GOOD, "start_time": value}), content_type="application/json"
    )

    body = assert_clear_refusal(response, 400)
    assert "offset" in " ".join(body["start_time"])


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_an_impossible_or_out_of_range_start_time_is_a_400(instructor, make_session, method, value):
    path = SESSIONS if method == "POST" else detail(make_session())

    response = client_for(instructor).generic(
        method, path, json.dumps({**GOOD, "start_time": value}), content_type="application/json"
    )

    assert "start_time" in assert_clear_refusal(response, 400)


# The spring-forward night: 02:00–03:00 does not exist in Berlin on 28 March 2027 nor in
# Los Angeles on 14 March 2027; 01:00–02:00 happens twice in Los Angeles on 7 November 2027.
BERLIN_GAP = "2027-03-28T02:30:00"
LA_GAP = ("2027-03-14", "02:30:00")
LA_REPEATED = ("2027-11-07", "01:30:00")


def admin_form(**fields) -> dict[str, str]:
    """What the session admin's add form posts, inline management forms included."""
    form = {
        "title": "Admin made",
        "duration_minutes": "60",
        "chat_enabled": "on",
        "members_only": "on",
        **{
            f"{prefix}-{name}": value
            for prefix in ("attendance", "registrations")
            for name, value in (
                ("TOTAL_FORMS", "0"),
                ("INITIAL_FORMS", "0"),
                ("MIN_NUM_FORMS", "0"),
                ("MAX_NUM_FORMS", "1000"),
            )
        },
    }
    return {**form, **fields}


@pytest.fixture
def berlin_instructor(db):
    return make_user("jonas", Role.INSTRUCTOR, timezone="Europe/Berlin")


def test_a_time_in_the_gap_written_with_an_offset_is_taken_as_that_exact_instant(berlin_instructor):
    response = client_for(berlin_instructor).post(
        SESSIONS, {**GOOD, "start_time": f"{BERLIN_GAP}+01:00"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["start_time"] == "2027-03-28T01:30:00Z"
    session = TrainingSession.objects.get()
    assert session.start_time == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert session.end_time - session.start_time == timedelta(minutes=60)


def test_a_time_in_the_gap_without_an_offset_is_refused_not_guessed(berlin_instructor):
    response = client_for(berlin_instructor).post(
        SESSIONS, {**GOOD, "start_time": BERLIN_GAP}, format="json"
    )

    assert "start_time" in assert_clear_refusal(response, 400)
    assert TrainingSession.objects.count() == 0


@pytest.mark.parametrize(("day", "time"), [LA_GAP, LA_REPEATED], ids=["skipped", "repeated"])
def test_the_admin_form_refuses_a_local_time_that_does_not_exist_or_happens_twice(
    admin_user, day, time
):
    client = Client()
    client.force_login(admin_user)  # in America/Los_Angeles, the site's zone

    response = client.post(
        "/admin/sessions_app/trainingsession/add/",
        admin_form(start_time_0=day, start_time_1=time, instructor=str(admin_user.pk)),
    )

    errors = response.context["adminform"].form.errors
    assert response.status_code == 200  # the form again, with the error
    assert list(errors) == ["start_time"]
    assert "may be ambiguous or it may not exist" in errors["start_time"][0]
    assert TrainingSession.objects.count() == 0


def test_the_admin_form_takes_the_same_local_time_on_an_ordinary_day(admin_user):
    client = Client()
    client.force_login(admin_user)

    response = client.post(
        "/admin/sessions_app/trainingsession/add/",
        admin_form(
            start_time_0="2027-03-15", start_time_1="02:30:00", instructor=str(admin_user.pk)
        ),
    )

    assert response.status_code == 302
    assert TrainingSession.objects.get().start_time == datetime(2027, 3, 15, 9, 30, tzinfo=UTC)


def test_a_session_moved_onto_the_gap_with_an_offset_keeps_its_real_duration(
    berlin_instructor, make_session
):
    session = make_session(instructor=berlin_instructor, status=SessionStatus.SCHEDULED)

    response = client_for(berlin_instructor).patch(
        detail(session), {"start_time": f"{BERLIN_GAP}+02:00"}, format="json"
    )

    assert response.status_code == 200, response.content
    session.refresh_from_db()
    assert session.start_time == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    assert session.end_time == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
