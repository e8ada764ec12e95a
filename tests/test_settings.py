"""Configuration from the environment: the typed helpers, and the settings module itself.

The settings module is imported in a fresh interpreter with an environment built for each
test, so nothing here changes the settings of the test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from wwmaa.env import env_bool, env_int, env_list, env_str, env_timezone

BASE_DIR = Path(__file__).resolve().parent.parent

# Every variable the settings module reads (and the test settings set), removed from the
# environment the settings are imported under, so each test starts from nothing.
SETTINGS_VARIABLES = {
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "DB_CONN_MAX_AGE",
    "DB_PREPARE_THRESHOLD",
    "DEBUG",
    "DEFAULT_FROM_EMAIL",
    "DJANGO_SETTINGS_MODULE",
    "LOG_LEVEL",
    "Q_WORKERS",
    "REDIS_URL",
    "SECRET_KEY",
    "SITE_URL",
    "TIME_ZONE",
}
SETTINGS_PREFIXES = ("CLOUDFLARE_", "ZERODB_", "EMAIL_", "SECURE_", "SESSION_", "CSRF_")


def import_settings(**variables: str) -> subprocess.CompletedProcess:
    """Import wwmaa.settings with only ``variables`` set; print what the tests look at."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS_VARIABLES and not name.startswith(SETTINGS_PREFIXES)
    }
    environ.update(variables)
    code = (
        "import json, wwmaa.settings as s; "
        "print(json.dumps({'DEBUG': s.DEBUG, 'DATABASE': s.DATABASES['default'], "
        "'Q_CLUSTER': s.Q_CLUSTER, 'ROOM_PROVIDER': s.ROOM_PROVIDER, "
        "'TIME_ZONE': s.TIME_ZONE, 'SESSION_COOKIE_SECURE': "
        "getattr(s, 'SESSION_COOKIE_SECURE', False)}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def settings_with(**variables: str) -> dict:
    result = import_settings(**variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refused(**variables: str) -> str:
    """Import the settings, expect it to fail, and return the last line of the error."""
    result = import_settings(**variables)
    assert result.returncode != 0
    assert result.stdout == ""
    return result.stderr.strip().splitlines()[-1]


# The helpers.


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("1", True), ("TRUE", True), (" yes ", True), ("on", True)],
        *[("0", False), ("false", False), ("No", False), ("off", False), ("", False)],
    ],
)
def test_env_bool_reads_clear_yes_and_no_values(raw, expected):
    assert env_bool("DEBUG", environ={"DEBUG": raw}) is expected


def test_env_bool_falls_back_to_the_default_when_unset():
    assert env_bool("DEBUG", True, environ={}) is True
    assert env_bool("DEBUG", False, environ={}) is False


def test_env_bool_rejects_maybe_naming_the_variable():
    with pytest.raises(ImproperlyConfigured, match=r"^EMAIL_USE_TLS='maybe' is not a boolean"):
        env_bool("EMAIL_USE_TLS", environ={"EMAIL_USE_TLS": "maybe"})


def test_env_int_reads_an_integer_within_its_bounds():
    assert env_int("PORT", 25, environ={"PORT": " 587 "}, minimum=1, maximum=65535) == 587
    assert env_int("PORT", 25, environ={"PORT": "1"}, minimum=1, maximum=65535) == 1
    assert env_int("PORT", 25, environ={"PORT": "65535"}, minimum=1, maximum=65535) == 65535


def test_env_int_uses_the_default_when_unset_or_blank():
    assert env_int("PORT", 25, environ={}) == 25
    assert env_int("PORT", 25, environ={"PORT": "  "}) == 25


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "PORT=0 is below the minimum of 1."),
        ("65536", "PORT=65536 is above the maximum of 65535."),
        ("twenty", "PORT='twenty' is not an integer."),
        ("2.5", "PORT='2.5' is not an integer."),
    ],
)
def test_env_int_rejects_values_out_of_bounds_or_not_integers(raw, message):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_int("PORT", 25, environ={"PORT": raw}, minimum=1, maximum=65535)
    assert str(excinfo.value) == message


def test_env_list_splits_on_commas_and_drops_empty_items():
    environ = {"ALLOWED_HOSTS": " live.wwmaa.org, ,www.wwmaa.org,"}

    assert env_list("ALLOWED_HOSTS", environ=environ) == ["live.wwmaa.org", "www.wwmaa.org"]
    assert env_list("ALLOWED_HOSTS", environ={"ALLOWED_HOSTS": ""}) == []


def test_env_list_returns_a_copy_of_the_default_when_unset():
    default = ["localhost"]

    hosts = env_list("ALLOWED_HOSTS", default, environ={})
    hosts.append("evil.example")

    assert hosts == ["localhost", "evil.example"]
    assert default == ["localhost"]


def test_env_str_strips_and_falls_back_to_the_default():
    assert env_str("SITE_URL", "x", environ={"SITE_URL": " https://live.wwmaa.org "}) == (
        "https://live.wwmaa.org"
    )
    assert env_str("SITE_URL", "x", environ={}) == "x"


def test_env_timezone_accepts_an_iana_name():
    assert env_timezone("TIME_ZONE", "UTC", environ={"TIME_ZONE": "Europe/Berlin"}) == (
        "Europe/Berlin"
    )
    assert env_timezone("TIME_ZONE", "UTC", environ={}) == "UTC"


@pytest.mark.parametrize("raw", ["Mars/Olympus", "America", "posixrules", "../etc/passwd", ""])
def test_env_timezone_rejects_a_bad_zone(raw):
    with pytest.raises(ImproperlyConfigured, match=r"is not an IANA time zone name") as excinfo:
        env_timezone("TIME_ZONE", "UTC", environ={"TIME_ZONE": raw})
    assert str(excinfo.value).startswith(f"TIME_ZONE={raw!r}")


# The settings module.


def test_the_settings_refuse_debug_maybe():
    error = refused(DEBUG="maybe", SECRET_KEY="k")

    assert "ImproperlyConfigured: DEBUG='maybe' is not a boolean" in error


def test_the_settings_refuse_to_run_in_production_without_a_secret_key():
    error = refused(DEBUG="0")

    assert "SECRET_KEY must be set when DEBUG is off" in error


@pytest.mark.parametrize("url", ["mysqlx://db/wwmaa", "not a url", "postgres://u@h:port/db"])
def test_the_settings_refuse_a_bad_database_url(url):
    error = refused(DEBUG="1", DATABASE_URL=url)

    assert "ImproperlyConfigured: DATABASE_URL is not a database URL" in error


def test_the_settings_refuse_a_database_url_without_a_database_name():
    error = refused(DEBUG="1", DATABASE_URL="postgres://wwmaa@db.internal:5432")

    assert "ImproperlyConfigured: DATABASE_URL names no database" in error


def test_the_settings_refuse_a_bad_time_zone():
    error = refused(DEBUG="1", TIME_ZONE="Europe/Atlantis")

    assert "ImproperlyConfigured: TIME_ZONE='Europe/Atlantis' is not an IANA" in error


def test_debug_alone_gives_a_laptop_setup_on_sqlite():
    settings = settings_with(DEBUG="1")

    database = settings["DATABASE"]
    assert settings["DEBUG"] is True
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(BASE_DIR / "db.sqlite3")
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "PRAGMA busy_timeout = 5000" in database["OPTIONS"]["init_command"]
    assert settings["Q_CLUSTER"]["orm"] == "default"
    assert "redis" not in settings["Q_CLUSTER"]
    assert settings["ROOM_PROVIDER"] == "local"
    assert settings["TIME_ZONE"] == "America/Los_Angeles"


def test_an_empty_database_url_means_the_default_sqlite_file():
    settings = settings_with(DEBUG="1", DATABASE_URL="")

    assert settings["DATABASE"]["NAME"] == str(BASE_DIR / "db.sqlite3")


def test_a_postgres_database_url_selects_postgresql():
    settings = settings_with(
        SECRET_KEY="k", DATABASE_URL="postgres://wwmaa:s3cret@db.internal:5433/wwmaa_live"
    )

    database = settings["DATABASE"]
    assert database["ENGINE"] == "wwmaa.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.internal",
        5433,
        "wwmaa_live",
    )
    assert (database["USER"], database["PASSWORD"]) == ("wwmaa", "s3cret")
    assert "transaction_mode" not in database["OPTIONS"]
    # Server-side binding, and psycopg's prepared statements after five runs of a query.
    assert database["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": 5}


@pytest.mark.parametrize(("value", "threshold"), [("0", None), ("1", 1), ("20", 20)])
def test_prepared_statements_follow_db_prepare_threshold(value, threshold):
    settings = settings_with(
        SECRET_KEY="k", DATABASE_URL="postgres://db.internal/wwmaa", DB_PREPARE_THRESHOLD=value
    )

    assert settings["DATABASE"]["OPTIONS"]["prepare_threshold"] == threshold


@pytest.mark.parametrize("value", ["-1", "often"])
def test_a_bad_db_prepare_threshold_is_refused(value):
    error = refused(
        SECRET_KEY="k", DATABASE_URL="postgres://db.internal/wwmaa", DB_PREPARE_THRESHOLD=value
    )

    assert "DB_PREPARE_THRESHOLD" in error


def test_with_nothing_set_the_settings_are_a_laptops():
    settings = settings_with()

    assert settings["DEBUG"] is True
    assert settings["DATABASE"]["ENGINE"] == "django.db.backends.sqlite3"


def test_production_settings_harden_the_cookies():
    settings = settings_with(DEBUG="0", SECRET_KEY="k")

    assert settings["DEBUG"] is False
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_redis_url_switches_the_job_broker_to_redis():
    settings = settings_with(DEBUG="1", REDIS_URL="redis://cache.internal:6379/2")

    assert settings["Q_CLUSTER"]["redis"] == "redis://cache.internal:6379/2"
    assert "orm" not in settings["Q_CLUSTER"]


def test_all_three_cloudflare_credentials_select_the_cloudflare_room_provider():
    settings = settings_with(
        DEBUG="1",
        CLOUDFLARE_ACCOUNT_ID="account",
        CLOUDFLARE_API_TOKEN="token",
        CLOUDFLARE_CALLS_APP_ID="app",
    )

    assert settings["ROOM_PROVIDER"] == "cloudflare"


@pytest.mark.parametrize(
    "missing", ["CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_CALLS_APP_ID"]
)
def test_any_missing_cloudflare_credential_keeps_the_local_room_provider(missing):
    credentials = {
        "CLOUDFLARE_ACCOUNT_ID": "account",
        "CLOUDFLARE_API_TOKEN": "token",
        "CLOUDFLARE_CALLS_APP_ID": "app",
    }
    del credentials[missing]

    assert settings_with(DEBUG="1", **credentials)["ROOM_PROVIDER"] == "local"
