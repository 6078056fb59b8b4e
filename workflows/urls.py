from django.urls import path

from workflows import views

# Fixed paths first: "workflows/cancel" must come before "workflows/<str:key>", which would
# otherwise take "cancel" for an event type. Per-workflow actions (".../<key>/dry-run") do not
# clash, since <str:key> stops at "/".
urlpatterns = [
    path("workflows", views.WorkflowListView.as_view(), name="workflows"),
    path("workflows/cancel", views.CancelView.as_view(), name="workflows-cancel"),
    path("workflows/<str:key>", views.WorkflowView.as_view(), name="workflow"),
]
