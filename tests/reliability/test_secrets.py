"""Secrets never leave the process: not in logs when a provider fails, not in error pages
with ``DEBUG`` off, not on the staff status page. ``manage.py check --deploy`` is clean
with production settings."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import responses
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from sessions_app.jobs import rooms as rooms_job
from sessions_app.storage import delivery
from sessions_app.storage.client import ZeroDBClient
from tests.conftest import NOW
from tests.reliability.conftest import CF_MEETINGS, CF_TOKEN, SESSIONS, client_for

ROOT = Path(__file__).resolve().parents[2]

ZERODB_KEY = "zdb-key-R3l1ab1l1ty-4c5d6e"
ZERODB_BASE = "https://zerodb.test"
EMAIL_PASSWORD = "smtp-pass-R3l1ab1l1ty"
REDIS_PASSWORD = "redis-pass-R3l1ab1l1ty"


def secrets() -> dict[str, str]:
    """Every secret the running settings hold, by name."""
    found = {
        "SECRET_KEY": settings.SECRET_KEY,
        "SIMPLE_JWT.SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "CLOUDFLARE_API_TOKEN": settings.CLOUDFLARE_API_TOKEN,
        "ZERODB_API_KEY": settings.ZERODB_API_KEY,
        "EMAIL_HOST_PASSWORD": settings.EMAIL_HOST_PASSWORD,
        "REDIS password": REDIS_PASSWORD if REDIS_PASSWORD in settings.REDIS_URL else "",
    }
    return {name: value for name, value in found.items() if value}


def assert_no_secret_in(*texts: str) -> None:
    for name, value in secrets().items():
        for text in texts:
            assert value not in text, f"{name} leaked"


@pytest.fixture
def configured(settings):
    """A site whose every credential is set (the local room provider stays active)."""
    settings.CLOUDFLARE_API_TOKEN = CF_TOKEN
    settings.EMAIL_HOST_PASSWORD = EMAIL_PASSWORD
    settings.REDIS_URL = f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0"
    return settings


# --- Logs when a provider fails -----------------------------------------------------------


def test_a_failing_cloudflare_leaves_its_token_out_of_logs_and_answers(
    frozen, cloudflare, wire, caplog, instructor, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    echo = {"success": False, "errors": [{"code": 1, "message": f"bad Bearer {CF_TOKEN}"}]}
    wire.post(CF_MEETINGS, status=500, json=echo)
    wire.post(CF_MEETINGS, status=401, json=echo)

    with django_capture_on_commit_callbacks(execute=True):
        created = client_for(instructor).post(
            SESSIONS,
            {"title": "Kata", "start_time": "2026-06-01T17:00:00Z", "duration_minutes": 60},
            format="json",
        )
    report = rooms_job.run(NOW)
    joined = client_for(instructor).post(f"{SESSIONS}/{created.json()['id']}/start")

    assert created.status_code == 201
    assert report["retrying"] + report["failed"] == 1
    assert joined.status_code == 409
    assert len(wire.calls) >= 3
    assert "Room creation failed" in caplog.text
    assert_no_secret_in(caplog.text, created.content.decode(), joined.content.decode())


@pytest.mark.django_db(transaction=True)
def test_a_failing_zerodb_leaves_its_key_out_of_logs(settings, caplog, make_session):
    settings.ZERODB_API_KEY = ZERODB_KEY
    settings.ZERODB_PROJECT_ID = "proj-rel"
    settings.ZERODB_API_BASE_URL = ZERODB_BASE
    settings.ZERODB_RETRIES = 1
    caplog.set_level(logging.DEBUG)
    waits: list[float] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as wire:
        wire.add_passthru("http://127.0.0.1")
        for method in (responses.GET, responses.POST, responses.PUT, responses.DELETE):
            wire.add(
                method,
                re.compile(rf"{ZERODB_BASE}/.*"),
                status=500,
                json={"detail": f"upstream said x-api-key: {ZERODB_KEY}"},
            )
        make_session(title="Mirrored")
        client = ZeroDBClient.from_settings(sleep=waits.append)
        try:
            report = delivery.drain(client, seconds=5)
        finally:
            client.close()
        calls = len(wire.calls)

    assert report.retrying >= 1
    assert calls >= 1
    assert "500" in " ".join(report.errors)
    assert_no_secret_in(caplog.text)


# --- Error pages with DEBUG off -----------------------------------------------------------


def boom(*args, **kwargs):
    raise RuntimeError("the database said something unexpected")


@pytest.fixture
def production_errors(configured, monkeypatch):
    configured.DEBUG = False
    # A bug of ours, on a page and on the API.
    monkeypatch.setattr("sessions_app.views._upcoming", boom)
    monkeypatch.setattr("sessions_app.api.listing.represent", boom)
    return configured


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 500),
        (SESSIONS, 500),
        ("/nowhere/", 404),
        ("/api/nowhere", 404),
        ("/admin/", 302),
        ("/sessions/status/?ids=" + "x" * 5000, 200),
    ],
)
def test_an_error_page_with_debug_off_shows_no_secret_and_no_traceback(
    production_errors, caplog, member, path, status
):
    token = str(AccessToken.for_user(member))
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}")
    client.force_login(member)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    response = client.get(path)

    body = response.content.decode()
    assert response.status_code == status
    assert "Traceback" not in body and "settings" not in body.lower()
    assert "the database said" not in body
    assert_no_secret_in(body, caplog.text)
    for credential in (token, cookie):
        assert credential not in body and credential not in caplog.text
    if status == 500:
        assert "the database said" in caplog.text  # logged for us, shown to nobody


def test_a_csrf_failure_page_with_debug_off_shows_no_secret(production_errors, member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)

    response = client.post("/accounts/logout/")

    assert response.status_code == 403
    assert_no_secret_in(response.content.decode())
    assert "CSRF_COOKIE" not in response.content.decode()


def test_a_request_for_another_host_is_a_plain_400(production_errors, caplog):
    response = Client(raise_request_exception=False).get("/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert "ALLOWED_HOSTS" not in response.content.decode()
    assert_no_secret_in(response.content.decode(), caplog.text)


def test_the_staff_status_page_names_services_without_their_credentials(configured, admin_user):
    client = Client()
    client.force_login(admin_user)

    response = client.get("/status/")

    assert response.status_code == 200
    assert "Redis" in response.content.decode()
    assert_no_secret_in(response.content.decode())


# --- manage.py check --deploy -------------------------------------------------------------


# What the settings read from the environment; none of it leaks in from this process.
SETTINGS_VARIABLES = ("DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS",
                      "DATABASE_URL", "REDIS_URL", "SITE_URL", "TIME_ZONE")  # fmt: skip
SETTINGS_PREFIXES = ("CLOUDFLARE_", "ZERODB_", "EMAIL_", "SECURE_", "SESSION_", "CSRF_", "JWT_")


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production process: no test settings, no DEBUG, real secrets."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SETTINGS_VARIABLES and not key.startswith(SETTINGS_PREFIXES)
    }
    env.update(
        DJANGO_SETTINGS_MODULE="wwmaa.settings",
        DEBUG="0",
        SECRET_KEY="prod-" + "k3y-" * 16,
        ALLOWED_HOSTS="live.wwmaa.example",
        CSRF_TRUSTED_ORIGINS="https://live.wwmaa.example",
        SITE_URL="https://live.wwmaa.example",
        DATABASE_URL=f"sqlite:///{ROOT / 'never-created.sqlite3'}",
        CLOUDFLARE_ACCOUNT_ID="acc-prod",
        CLOUDFLARE_API_TOKEN="cf-prod-token",
        CLOUDFLARE_CALLS_APP_ID="app-prod",
    )
    env.update(overrides)
    return env


def test_the_deploy_check_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS:" not in output and "ERRORS:" not in output, output
    assert not (ROOT / "never-created.sqlite3").exists()


def test_the_deploy_check_fails_loudly_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_session_cookie_is_never_readable_by_scripts_nor_sent_over_plain_http():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
            "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0)",
        ],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.stdout.split() == ["True"] * 5, result.stderr
