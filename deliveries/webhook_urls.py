from django.urls import path

from deliveries import webhooks

urlpatterns = [
    path("twilio/status", webhooks.twilio_status, name="twilio-status"),
]
