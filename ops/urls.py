from django.urls import path

from ops import views
from ops.workflow_dry_run import DryRunView

urlpatterns = [
    path("health", views.HealthView.as_view(), name="health"),
    path("health/live", views.LivenessView.as_view(), name="health-live"),
    path("metrics", views.metrics_view, name="metrics"),
    path("workflows/<str:key>/dry-run", DryRunView.as_view(), name="workflow-dry-run"),
]
