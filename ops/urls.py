from django.urls import path

from ops import views

urlpatterns = [
    path("health", views.HealthView.as_view(), name="health"),
    path("health/live", views.LivenessView.as_view(), name="health-live"),
    path("metrics", views.metrics_view, name="metrics"),
]
