"""``EMAIL_URL`` (``smtp://user:pass@host:587?tls=1``) to Django's ``EMAIL_*`` settings.

One variable is easier to hand to a container than six; the individual ``EMAIL_*``
variables still work and are used when ``EMAIL_URL`` is not set.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

DEFAULT_PORTS = {"smtp": 25, "submission": 587, "smtps": 465}
TRUE = {"1", "true", "yes", "on"}


def parse_email_url(url: str) -> dict[str, Any]:
    """``smtp://`` plain (STARTTLS with ``?tls=1``), ``submission://`` STARTTLS, ``smtps://`` TLS."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ImproperlyConfigured(f"EMAIL_URL scheme must be one of {sorted(DEFAULT_PORTS)}.")
    query = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
    return {
        "EMAIL_HOST": parts.hostname or "",
        "EMAIL_PORT": parts.port or DEFAULT_PORTS[parts.scheme],
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": parts.scheme == "submission" or query.get("tls") in TRUE,
        "EMAIL_USE_SSL": parts.scheme == "smtps" or query.get("ssl") in TRUE,
    }
