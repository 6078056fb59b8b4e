from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from ops.views import dashboard_view
from ops.workflow_dry_run import workflow_test_view

urlpatterns = [
    path("admin/dashboard/", dashboard_view, name="ops-dashboard"),
    path("admin/workflows/workflow/<path:object_id>/test/", workflow_test_view, name="workflow-test"),
    path("admin/", admin.site.urls),
    path(
        "api/schema",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    path("api/", include("notifications.urls")),
    path("api/", include("preferences.urls")),
    path("api/", include("deliveries.urls")),
    path("api/", include("ops.urls")),
    path("api/", include("workflows.urls")),
    path("api/webhooks/", include("deliveries.webhook_urls")),
    path("", include("realtime.urls")),
]

handler404 = "config.http_errors.not_found"
