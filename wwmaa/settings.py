"""Settings for WWMAA Live, read from the environment in one place.

Every default is for a laptop with nothing installed: SQLite, the database as job broker,
console email and the local room provider. Production sets environment variables only
(see ``.env.example``).
"""

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from wwmaa.env import env_bool, env_int, env_list, env_str, env_timezone

BASE_DIR = Path(__file__).resolve().parent.parent

# On by default, as a laptop needs; a deployment sets DEBUG=0 (then SECRET_KEY is required
# and `manage.py check --deploy` is clean).
DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for local development)."
        )
    # Development only: a fixed, obviously unsafe key so sessions survive restarts.
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "csp",
    "wwmaa",
    "events_app",
    "sessions_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "wwmaa.middleware.UserTimezoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "wwmaa.urls"
WSGI_APPLICATION = "wwmaa.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # Templates drawn many times a page (the session card), placed by Django templates;
        # in the apps' jinja2/ folders.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "APP_DIRS": True,
        "OPTIONS": {"environment": "wwmaa.jinja2.environment"},
    },
]

# Database: SQLite file by default. SQLite is set up for several writers at once: every
# transaction takes the write lock when it begins (IMMEDIATE), so a read-then-write inside
# it cannot interleave with another writer, and a waiting writer retries for five seconds
# instead of failing with "database is locked".
# An empty DATABASE_URL (a blank line in an .env file) means "not set", not a URL to parse.
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
try:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
except (ValueError, KeyError) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if not _database.get("NAME"):
    raise ImproperlyConfigured(
        "DATABASE_URL names no database (e.g. postgres://user@host:5432/wwmaa)."
    )
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;",
    }
    _database["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
if _database["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with psycopg's compiled timestamp loader and integers sent as text
    # (wwmaa/postgresql/base.py).
    _database["ENGINE"] = "wwmaa.postgresql"
    # Parameters bound by the server, and a query run more than DB_PREPARE_THRESHOLD times
    # on a connection prepared there (psycopg's default, 5): the hot reads (the caller's
    # account, a join's session, the lists) then skip parsing and planning, 0.1 to 0.2 ms
    # each. Django leaves prepared statements off for connection poolers that cannot keep
    # them; 0 does the same here (PgBouncer before 1.21 in transaction mode).
    _prepare_threshold = env_int("DB_PREPARE_THRESHOLD", 5, minimum=0)
    _database["OPTIONS"] = {
        "server_side_binding": True,
        "prepare_threshold": _prepare_threshold or None,
    }
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "wwmaa.User"
# Django's ModelBackend, reading a session's account with SQL worked out once.
AUTHENTICATION_BACKENDS = ["wwmaa.authentication.AccountBackend"]
# Django's database sessions, read with SQL worked out once.
SESSION_ENGINE = "wwmaa.sessions"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_timezone("TIME_ZONE", "America/Los_Angeles")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Development serves static files straight from the app directories, no collectstatic run
# needed. Pinned to DEBUG as read here because the test runner turns settings.DEBUG off at
# run time, and WhiteNoise would then warn (an error in the test suite) that STATIC_ROOT
# does not exist.
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG

# Email, with Django's own setting names. Console in development, SMTP in production.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or None
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "WWMAA Live <live@wwmaa.example>")

# Background jobs (django-q2): the database is the broker unless Redis is configured.
# Scheduled ticks and the cleanup are in sessions_app/jobs; several qcluster processes
# may run at once, every job being safe on two workers.
REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER = {
    "name": "wwmaa",
    "workers": env_int("Q_WORKERS", 2, minimum=1, maximum=64),
    # A task still running after this many seconds is killed. A job tick starts no new
    # unit after 60 seconds (sessions_app.jobs.base), so it ends well within it.
    "timeout": 120,
    # Database broker: a task not acknowledged this long after it was handed out goes to
    # another worker. Longer than the timeout, or a slow task would run twice at once.
    "retry": 180,
    "max_attempts": 3,
    # After the cluster was down, a missed schedule runs once, not once per missed slot.
    "catch_up": False,
    # Daily schedules (the 02:00 cleanup) are wall-clock times in the site's zone.
    "time_zone": TIME_ZONE,
    # Database broker: seconds between looks at an empty queue.
    "poll": 1,
    # Successful task results kept for the admin (a day of ticks is about 1,200).
    "save_limit": env_int("Q_SAVE_LIMIT", 1000, minimum=0),
    "label": "Background jobs",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# Cache: API throttle counts live here, so several web processes need a shared one. Kept
# apart from REDIS_URL because clearing a Redis cache empties its whole database, which
# must never be the job queue's.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r} must be a redis:// URL.")
    if REDIS_URL and CACHE_URL == REDIS_URL:
        raise ImproperlyConfigured(
            "CACHE_URL must name another Redis database than REDIS_URL (e.g. /1 and /0)."
        )
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Video rooms: Cloudflare RealtimeKit when its three credentials are set, local otherwise.
CLOUDFLARE_ACCOUNT_ID = env_str("CLOUDFLARE_ACCOUNT_ID")
CLOUDFLARE_API_TOKEN = env_str("CLOUDFLARE_API_TOKEN")
CLOUDFLARE_CALLS_APP_ID = env_str("CLOUDFLARE_CALLS_APP_ID")
CLOUDFLARE_API_BASE_URL = env_str(
    "CLOUDFLARE_API_BASE_URL", "https://api.cloudflare.com/client/v4"
).rstrip("/")
CLOUDFLARE_HOST_PRESET = env_str("CLOUDFLARE_HOST_PRESET", "group_call_host")
CLOUDFLARE_PARTICIPANT_PRESET = env_str("CLOUDFLARE_PARTICIPANT_PRESET", "group_call_participant")
CLOUDFLARE_WEBHOOK_PUBLIC_KEY = env_str("CLOUDFLARE_WEBHOOK_PUBLIC_KEY")
# The RealtimeKit browser packages the room page loads (npm @cloudflare/realtimekit-ui and
# @cloudflare/realtimekit, released together): pinned, so a new release never reaches
# the room page untested.
REALTIMEKIT_UI_VERSION = env_str("REALTIMEKIT_UI_VERSION", "2.0.2")
if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?", REALTIMEKIT_UI_VERSION):
    raise ImproperlyConfigured(
        f"REALTIMEKIT_UI_VERSION={REALTIMEKIT_UI_VERSION!r} is not a version such as 2.0.2."
    )
ROOM_PROVIDER = (
    "cloudflare"
    if CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN and CLOUDFLARE_CALLS_APP_ID
    else "local"
)

# ZeroDB mirror: off unless an API key is configured.
ZERODB_API_BASE_URL = env_str("ZERODB_API_BASE_URL", "https://api.ainative.studio").rstrip("/")
ZERODB_PROJECT_ID = env_str("ZERODB_PROJECT_ID")
ZERODB_API_KEY = env_str("ZERODB_API_KEY")
ZERODB_AUTH_HEADER = env_str("ZERODB_AUTH_HEADER", "x-api-key").lower()
if ZERODB_AUTH_HEADER not in {"x-api-key", "bearer"}:
    raise ImproperlyConfigured(
        f"ZERODB_AUTH_HEADER={ZERODB_AUTH_HEADER!r} must be 'x-api-key' or 'bearer'."
    )
ZERODB_PATH_PREFIX = env_str("ZERODB_PATH_PREFIX", "/v1/projects/{project_id}/database")
ZERODB_TIMEOUT_SECONDS = env_int("ZERODB_TIMEOUT_SECONDS", 10, minimum=1, maximum=120)
# Quick retries of one idempotent call inside the worker; the outbox's back-off (first
# delay, then doubling up to the cap) takes over when they are spent.
ZERODB_RETRIES = env_int("ZERODB_RETRIES", 2, minimum=0, maximum=10)
ZERODB_BACKOFF_SECONDS = env_int("ZERODB_BACKOFF_SECONDS", 5, minimum=1, maximum=3600)
ZERODB_BACKOFF_MAX_SECONDS = env_int("ZERODB_BACKOFF_MAX_SECONDS", 300, minimum=1, maximum=86400)
# Rows whose calls one drain run keeps in flight at once (each row's own calls stay in
# order, on one connection). 1 (one call at a time) unless the calls wait on the network:
# with ZeroDB next door the threads only compete for the CPU (see BENCHMARKS.md, P6).
ZERODB_SEND_THREADS = env_int("ZERODB_SEND_THREADS", 1, minimum=1, maximum=16)
# How long one scheduled drain may keep starting deliveries (django-q2 kills a task at 120 s).
ZERODB_DRAIN_SECONDS = env_int("ZERODB_DRAIN_SECONDS", 30, minimum=1, maximum=90)
if not ZERODB_PATH_PREFIX.startswith("/"):
    raise ImproperlyConfigured(f"ZERODB_PATH_PREFIX={ZERODB_PATH_PREFIX!r} must start with '/'.")
if ZERODB_API_KEY and "{project_id}" in ZERODB_PATH_PREFIX and not ZERODB_PROJECT_ID:
    raise ImproperlyConfigured("ZERODB_PROJECT_ID must be set when ZERODB_API_KEY is set.")

# REST API. JWT for scripts and apps, the browser session (with CSRF) for the site's own
# pages. JWT comes first so that a request without credentials is answered 401 with a
# WWW-Authenticate header, not 403.
_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def _throttle_rate(name: str, default: str) -> str:
    """A DRF rate such as ``60/min``; checked here, as DRF would only fail on a request."""
    value = env_str(name, default)
    if not _RATE.match(value):
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate such as 60/min or 1000/day.")
    return value


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "wwmaa.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "sessions_app.api.negotiation.ContentNegotiation",
    "DEFAULT_PARSER_CLASSES": [
        "sessions_app.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["sessions_app.api.filters.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "sessions_app.api.pagination.LimitOffsetPagination",
    "EXCEPTION_HANDLER": "sessions_app.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # Counted in the default cache, which is per process (local memory): with several web
    # processes each counts on its own until a shared cache (Redis) is configured.
    "DEFAULT_THROTTLE_RATES": {
        "anon": _throttle_rate("API_THROTTLE_ANON", "120/min"),
        "user": _throttle_rate("API_THROTTLE_USER", "600/min"),
        "token": _throttle_rate("API_THROTTLE_TOKEN", "20/min"),
        "join": _throttle_rate("API_THROTTLE_JOIN", "30/min"),
    },
    # Clients are told apart by REMOTE_ADDR unless the site sits behind this many proxies
    # (then X-Forwarded-For is read); trusting the header by default would let anyone pick
    # a new address per request and never be throttled.
    "NUM_PROXIES": env_int("API_NUM_PROXIES", 0, minimum=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7, minimum=1)),
    # Its own key, so that a token can never be replayed as a signature of something else
    # Django signs with SECRET_KEY; derived from it unless set, and always 64 characters
    # (HS256 wants at least 32 bytes of key).
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY")
    or hashlib.sha256(f"wwmaa-jwt-signing:{SECRET_KEY}".encode()).hexdigest(),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "WWMAA Live API",
    "DESCRIPTION": (
        "Live training sessions of the association. Authenticate with "
        "`POST /api/auth/token` and send `Authorization: Bearer <access>`. Errors carry a "
        "human `detail` and a stable `code`; 400 answers add a list of messages per field."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page loads Swagger UI from this site's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sessions_app.api.schema.paths_without_trailing_slash",
    ],
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": "sessions_app.models.SessionStatus",
        "RoomStatusEnum": "sessions_app.models.RoomStatus",
        "RecordingStatusEnum": "sessions_app.models.RecordingStatus",
        "EndReasonEnum": "sessions_app.models.EndReason",
    },
}

# Security headers on every response, in development too, so that a page breaking under
# them shows up before production. SecurityMiddleware sends nosniff, the referrer policy
# and the opener policy; XFrameOptionsMiddleware forbids framing; django-csp sends the
# Content-Security-Policy: this site's own scripts, styles and images only, no inline
# script, nothing may frame it. The Cloudflare room page adds the RealtimeKit UI kit's
# CDN for itself (sessions_app.room_views). The admin and the API docs page keep Django's
# and drf-spectacular's inline styles and scripts, so they are left out of it.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/", "/api/docs"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "media-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Production hardening, on whenever DEBUG is off.
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 3600, minimum=0)
    # The site runs on a host of its own (live.wwmaa.org): its subdomains are HTTPS too.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    # Preloading binds the whole domain for months: its owner's decision, off unless set.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    # Django's own default logging prints to the console too; one line per event is enough.
    "loggers": {"django": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
