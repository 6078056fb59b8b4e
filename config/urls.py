from typing import Any

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from ops.views import dashboard_view
from ops.workflow_dry_run import workflow_test_view

PUBLIC: dict[str, list[Any]] = {"authentication_classes": [], "permission_classes": []}

urlpatterns = [
    path("admin/dashboard/", dashboard_view, name="ops-dashboard"),
    path("admin/workflows/workflow/<path:object_id>/test/", workflow_test_view, name="workflow-test"),
    path("admin/", admin.site.urls),
    # The schema and its two readers are public (no credentials), like /api/health.
    path("api/schema", SpectacularAPIView.as_view(**PUBLIC), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema", **PUBLIC), name="api-docs"),
    path(
        "api/redoc",
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html", **PUBLIC),
        name="api-redoc",
    ),
    path("api/", include("notifications.urls")),
    path("api/", include("preferences.urls")),
    path("api/", include("deliveries.urls")),
    path("api/", include("ops.urls")),
    path("api/", include("workflows.urls")),
    path("api/", include("webhooks.urls")),
    path("api/webhooks/", include("deliveries.webhook_urls")),
    path("", include("realtime.urls")),
]

handler404 = "config.http_errors.not_found"
