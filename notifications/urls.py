from django.urls import path

from notifications import devices, topics, views

urlpatterns = [
    path("events/batch", views.EventBatchView.as_view(), name="events-batch"),
    path("subscribers/<str:user_id>", views.SubscriberView.as_view(), name="subscriber"),
    path("subscribers/<str:user_id>/token", views.SubscriberTokenView.as_view(), name="subscriber-token"),
    path(
        "subscribers/<str:user_id>/devices",
        devices.SubscriberDevicesView.as_view(),
        name="subscriber-devices",
    ),
    path("topics/<str:key>", topics.TopicView.as_view(), name="topic"),
    path("topics/<str:key>/subscribers", topics.TopicMembersView.as_view(), name="topic-subscribers"),
]
