import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wwmaa.settings")
application = get_wsgi_application()

# The JWT backend (PyJWT and cryptography) is otherwise imported by a worker's first
# authenticated request, which then waits a tenth of a second or more.
import rest_framework_simplejwt.state  # noqa: E402,F401

import wwmaa.authentication  # noqa: E402,F401
