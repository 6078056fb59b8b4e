"""Structured logging: structlog for Relay's own lines, and Django's stdlib logs routed through it.

Every line goes through one chain: context bound with ``structlog.contextvars`` (the request
id on HTTP, ``stage``/``event_id``/``delivery_id``/``channel``/``provider`` in the pipeline)
is merged in, then a renderer writes JSON lines (production, or ``LOG_FORMAT=json``) or the
coloured console format (development). Stdlib records (Django, uvicorn, nats) are formatted
by the same ``ProcessorFormatter``, so a log shipper sees one format.
"""

from __future__ import annotations

import sys
from typing import Any

import structlog
from structlog.processors import ExceptionRenderer
from structlog.tracebacks import ExceptionDictTransformer

SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def use_json(debug: bool, log_format: str) -> bool:
    """JSON unless developing: ``LOG_FORMAT`` (json|console) wins over the ``DEBUG`` default."""
    if log_format in {"json", "console"}:
        return log_format == "json"
    return not debug


def configure_logging(debug: bool, log_format: str = "", level: str = "INFO") -> dict[str, Any]:
    """Configure structlog and return the stdlib ``LOGGING`` dict for Django's settings."""
    as_json = use_json(debug, log_format.strip().lower())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if as_json:
        # Tracebacks as data, without local variables (they may hold secrets).
        final.append(ExceptionRenderer(ExceptionDictTransformer(show_locals=False)))
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [*final, renderer],
                "foreign_pre_chain": SHARED_PROCESSORS,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structlog"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Replaces the handlers of Django's default config, which would print a second copy.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            # Django's access-style lines duplicate the request_finished line of the middleware.
            "django.server": {"level": "WARNING"},
            # uvicorn configures its own handlers before Django starts; send its lines here instead.
            # Its access lines repeat the request_finished line, so only problems pass.
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }
