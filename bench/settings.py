"""Settings of the benchmark servers: the production settings, plus a few bench pages.

``bench.common.configure`` sets the environment (DEBUG off, a real secret key, …) before
this is imported. Only two things differ from production: the URLs add the baselines the
figures compare against (``bench.urls``), and static files are served by name, without
the manifest a ``collectstatic`` run would write (no page is measured with its assets).
"""

from wwmaa.settings import *  # noqa: F403
from wwmaa.settings import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# No collectstatic run: assets are found in the apps, as in development.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
