"""Test settings: production settings plus per-run isolation and short timings.

Every test run, and every pytest-xdist worker of a run, gets its own database, cache prefix,
channel-layer prefix and NATS subject prefix, so they never see each other's state (and may
run side by side).
"""

import os
import uuid

# pytest-xdist's workers (gw0, gw1, ...) inherit the controller's environment, this run's id
# included: each adds its own name, so two workers never share streams, keys or files (the
# database gets the worker's suffix from pytest-django).
RUN_ID = os.environ.setdefault("RELAY_TEST_RUN_ID", uuid.uuid4().hex[:8]) + os.environ.get(
    "PYTEST_XDIST_WORKER", ""
)
os.environ.setdefault("SECRET_KEY", "relay-test-secret")
os.environ.setdefault("RELAY_ACK_WAIT", "3")
os.environ.setdefault("RELAY_PUBLISH_TIMEOUT", "1.5")
if os.environ.get("RELAY_TEST_ISOLATED_AS") != RUN_ID:  # inherited (or none yet): this process's own
    os.environ["RELAY_TEST_ISOLATED_AS"] = RUN_ID
    os.environ["RELAY_NATS_PREFIX"] = f"t{RUN_ID}."
    os.environ["RELAY_CACHE_PREFIX"] = f"relay-test-{RUN_ID}"
    os.environ["RELAY_CHANNEL_PREFIX"] = f"relay-test-{RUN_ID}"
    os.environ["RELAY_VAR_DIR"] = f"/tmp/relay-test-{RUN_ID}"
# API throttles far above anything a test does; the throttle test lowers them itself.
os.environ.setdefault("RELAY_API_RATE", "100000/s")
os.environ.setdefault("RELAY_SUBSCRIBER_API_RATE", "100000/s")

from config.settings import *  # noqa: E402,F403
from config.settings import DATABASES, VAR_DIR  # noqa: E402

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_relay_{RUN_ID}"}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
