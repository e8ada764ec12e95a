"""Settings for the real ``qcluster`` the smoke test starts in a subprocess.

The test settings, pointed at the test database of the pytest run that started it
(``WWMAA_SMOKE_DB_NAME``), with a real cluster instead of django-q2's sync mode, on the
broker the test asks for (``WWMAA_SMOKE_BROKER``: ``orm`` or ``redis``).
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, Q_CLUSTER

DATABASES["default"]["NAME"] = os.environ["WWMAA_SMOKE_DB_NAME"]

Q_CLUSTER = {key: value for key, value in Q_CLUSTER.items() if key not in {"sync", "orm", "redis"}}
Q_CLUSTER.update(
    {
        # Its own name, hence its own Redis list: a cluster never takes another's tasks.
        "name": os.environ["WWMAA_SMOKE_CLUSTER"],
        "workers": 1,
        "poll": 0.2,
        # The guard calls the scheduler once its counter of slept seconds reaches 30; a
        # 30-second cycle makes that the first pass, right after start-up. Stopping does
        # not wait for the cycle.
        "guard_cycle": 30,
    }
)
if os.environ["WWMAA_SMOKE_BROKER"] == "redis":
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]
else:
    Q_CLUSTER["orm"] = "default"
