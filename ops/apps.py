import time

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: health, Prometheus metrics, the admin dashboard."""

    name = "ops"
    verbose_name = "Operations"
    # Process start, for the "uptime" of GET /api/health.
    started_at = time.time()
