"""The page at ``/``, the inbox API under ``/api/inbox`` and the demo endpoints under ``/api/demo``."""

from django.urls import path, re_path

from realtime import demo, page, views

urlpatterns = [
    path("", page.index, name="home"),
    path("api/inbox", views.InboxListView.as_view(), name="inbox"),
    path("api/inbox/counts", views.InboxCountsView.as_view(), name="inbox-counts"),
    path("api/inbox/bulk", views.InboxBulkView.as_view(), name="inbox-bulk"),
    path("api/inbox/read-all", views.InboxReadAllView.as_view(), name="inbox-read-all"),
    re_path(
        r"^api/inbox/(?P<message_id>[0-9]{1,18})/(?P<action>read|seen|archive|unsnooze)$",
        views.InboxActionView.as_view(),
        name="inbox-action",
    ),
    re_path(
        r"^api/inbox/(?P<message_id>[0-9]{1,18})/snooze$",
        views.InboxSnoozeView.as_view(),
        name="inbox-snooze",
    ),
    re_path(
        r"^api/inbox/(?P<message_id>[0-9]{1,18})/actions/(?P<key>[A-Za-z0-9_-]{1,64})$",
        views.InboxCompleteActionView.as_view(),
        name="inbox-complete-action",
    ),
    path("api/demo/session", demo.DemoSessionView.as_view(), name="demo-session"),
    path("api/demo/event", demo.DemoEventView.as_view(), name="demo-event"),
    path("api/demo/events/<str:event_id>", demo.DemoEventStatusView.as_view(), name="demo-event-status"),
]
