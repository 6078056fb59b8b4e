from django.urls import path

from preferences import unsubscribe, views

urlpatterns = [
    path("preferences", views.PreferenceListView.as_view(), name="preferences"),
    path("preferences/bulk", views.PreferenceBulkView.as_view(), name="preferences-bulk"),
    path("preferences/quiet-hours", views.QuietHoursView.as_view(), name="preferences-quiet-hours"),
    path("preferences/<int:pk>", views.PreferenceDetailView.as_view(), name="preference-detail"),
    path("unsubscribe/<str:token>", unsubscribe.unsubscribe_view, name="unsubscribe"),
]
