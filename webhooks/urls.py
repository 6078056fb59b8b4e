from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhook-endpoints", views.EndpointListView.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/<int:endpoint_id>", views.EndpointView.as_view(), name="webhook-endpoint"),
    path(
        "webhook-endpoints/<int:endpoint_id>/rotate-secret",
        views.RotateSecretView.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/messages",
        views.MessageListView.as_view(),
        name="webhook-messages",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/messages/replay",
        views.ReplayFailedView.as_view(),
        name="webhook-messages-replay-failed",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/messages/<int:message_id>/replay",
        views.MessageReplayView.as_view(),
        name="webhook-message-replay",
    ),
]
