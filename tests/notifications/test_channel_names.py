"""Channel fields are checked against the registered channels (settings.RELAY_CHANNELS), not
model choices: every API answers an unknown channel with a 400 naming the registered ones,
and the admin offers them all."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from preferences.models import Preference
from templates_admin.models import NotificationTemplate
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

REGISTERED = "use one of: email, sms, push, in_app, webhook"


def errors_text(response: Any) -> str:
    return json.dumps(response.json()["errors"])


def test_an_event_for_an_unknown_channel_is_400_naming_the_registered_ones(
    api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    response = api.post("/api/events", event_body(channels=["email", "fax"]), format="json")

    assert response.status_code == 400
    assert '\\"fax\\" is not a registered channel' in errors_text(response)
    assert REGISTERED in errors_text(response)


def test_an_event_for_the_webhook_channel_is_accepted(
    api: APIClient, event_body: Callable[..., dict[str, Any]]
) -> None:
    response = api.post("/api/events", event_body(channels=["webhook"]), format="json")

    assert response.status_code == 202, response.content


def test_a_preference_for_an_unknown_channel_is_400_and_webhook_is_accepted(api: APIClient) -> None:
    SubscriberFactory(user_id="pref-ch")
    body = {"userId": "pref-ch", "eventType": "account", "enabled": False}

    refused = api.post("/api/preferences", {**body, "channel": "fax"}, format="json")
    accepted = api.post("/api/preferences", {**body, "channel": "webhook"}, format="json")

    assert refused.status_code == 400 and REGISTERED in json.dumps(refused.json()["errors"]["channel"])
    assert accepted.status_code == 201
    assert Preference.objects.get().channel == "webhook"


def test_the_deliveries_filter_refuses_an_unknown_channel(api: APIClient) -> None:
    response = api.get("/api/deliveries?channel=fax")

    assert response.status_code == 400
    assert REGISTERED in json.dumps(response.json()["errors"]["channel"])


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "pw"))
    return client


def test_the_admin_offers_every_registered_channel(staff: Client) -> None:
    template_form = staff.get(reverse("admin:templates_admin_notificationtemplate_add")).content.decode()
    preference_form = staff.get(reverse("admin:preferences_preference_add")).content.decode()

    for name in ("email", "sms", "push", "in_app", "webhook"):
        assert f'<option value="{name}"' in template_form
        assert f'<option value="{name}"' in preference_form
    assert '<option value="*" selected>' in preference_form


def test_a_webhook_template_is_saved_and_one_without_a_body_is_refused(staff: Client) -> None:
    url = reverse("admin:templates_admin_notificationtemplate_add")
    fields = {
        "event_type": "build",
        "channel": "webhook",
        "locale": "en",
        "active": "on",
        "subject": "Build {{ status }}",
        "sample_data": "{}",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }

    refused = staff.post(url, {**fields, "text_body": ""})
    saved = staff.post(url, {**fields, "text_body": "{{ branch }} is {{ status }}"})

    assert refused.status_code == 200 and b"A webhook template needs this field." in refused.content
    assert saved.status_code == 302
    assert NotificationTemplate.objects.get().channel == "webhook"
