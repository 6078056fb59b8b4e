from django.urls import path

from deliveries import views

urlpatterns = [
    path("events", views.EventCollectionView.as_view(), name="events"),
    path("events/<str:event_id>", views.EventDetailView.as_view(), name="event-detail"),
    path("deliveries", views.DeliveryListView.as_view(), name="deliveries"),
    path("deliveries/stats", views.DeliveryStatsView.as_view(), name="delivery-stats"),
    path("deliveries/<int:delivery_id>", views.DeliveryDetailView.as_view(), name="delivery-detail"),
]
