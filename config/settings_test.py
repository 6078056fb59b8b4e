"""Test settings: production settings plus per-run isolation and short timings.

Every test run gets its own database, cache prefix, channel-layer prefix and NATS
subject prefix, so runs never see each other's state (and may run side by side).
"""

import os
import uuid

RUN_ID = os.environ.setdefault("RELAY_TEST_RUN_ID", uuid.uuid4().hex[:8])
os.environ.setdefault("SECRET_KEY", "relay-test-secret")
os.environ.setdefault("RELAY_ACK_WAIT", "3")
os.environ.setdefault("RELAY_PUBLISH_TIMEOUT", "1.5")
os.environ.setdefault("RELAY_NATS_PREFIX", f"t{RUN_ID}.")
os.environ.setdefault("RELAY_CACHE_PREFIX", f"relay-test-{RUN_ID}")
os.environ.setdefault("RELAY_CHANNEL_PREFIX", f"relay-test-{RUN_ID}")
os.environ.setdefault("RELAY_VAR_DIR", f"/tmp/relay-test-{RUN_ID}")
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
