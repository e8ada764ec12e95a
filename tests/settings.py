"""Test settings: the real settings module, made fast and hermetic."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-secret-key")

from wwmaa.settings import *  # noqa: F403
from wwmaa.settings import Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
SITE_URL = "http://testserver"
ROOM_PROVIDER = "local"
ZERODB_API_KEY = ""
LOGGING = {"version": 1, "disable_existing_loggers": False}

# A file (not in-memory) SQLite database, so race tests' threads share it; one per test
# process so that two runs on one machine never collide.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"wwmaa-test-{os.getpid()}.sqlite3")
    }

# Per-process cache, cleared between tests (tests/conftest.py), whatever CACHE_URL says.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
