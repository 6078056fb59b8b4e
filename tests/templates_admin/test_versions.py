"""Every save keeps the words it replaces; the admin brings any of them back."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from notifications.models import Event
from templates_admin.rendering import render
from tests.factories import EventFactory, SubscriberFactory
from tests.templates_admin.conftest import MakeTemplate
from tests.templates_admin.test_admin import form

pytestmark = pytest.mark.django_db


def welcome() -> Event:
    return EventFactory(data={"userName": "Ada"})


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("editor", "editor@example.com", "pw"))
    return client


def test_each_admin_save_keeps_the_previous_version(staff: Client, make_template: MakeTemplate) -> None:
    template = make_template(channel="sms", text_body="v1 {{ userName }}")
    change = reverse("admin:templates_admin_notificationtemplate_change", args=[template.pk])
    for text in ("v2 {{ userName }}", "v3 {{ userName }}"):
        response = staff.post(change, form(channel="sms", subject="", html_body="", text_body=text))
        assert response.status_code == 302, response.content
    template.refresh_from_db()
    assert template.version == 3
    assert [(v.version, v.text_body, v.saved_by) for v in template.versions.all()] == [
        (2, "v2 {{ userName }}", "editor"),
        (1, "v1 {{ userName }}", "tests"),
    ]
    assert render(welcome(), SubscriberFactory(), "sms")["body"] == "v3 Ada"


def test_save_without_changes_keeps_no_version(staff: Client, make_template: MakeTemplate) -> None:
    template = make_template(channel="sms", text_body="same")
    change = reverse("admin:templates_admin_notificationtemplate_change", args=[template.pk])
    staff.post(change, form(channel="sms", subject="", html_body="", text_body="same", sample_data="{}"))
    template.refresh_from_db()
    assert (template.version, template.versions.count()) == (1, 0)


def test_rollback_restores_old_words_as_a_new_version(staff: Client, make_template: MakeTemplate) -> None:
    template = make_template(channel="sms", text_body="v1 {{ userName }}")
    template.text_body = "broken {{ userName }}"
    template.save()  # a plain save does not version; the service does
    change = reverse("admin:templates_admin_notificationtemplate_change", args=[template.pk])
    staff.post(change, form(channel="sms", subject="", html_body="", text_body="v2 {{ userName }}"))
    page = staff.get(change)
    assert b"Roll back to v1" in page.content

    rollback = reverse("admin:templates_admin_notificationtemplate_rollback", args=[template.pk, 1])
    assert staff.get(rollback).status_code == 405
    response = staff.post(rollback)
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.version, template.text_body) == (3, "broken {{ userName }}")
    assert [v.version for v in template.versions.all()] == [2, 1]
    assert render(welcome(), SubscriberFactory(), "sms")["body"] == "broken Ada"
    assert (
        staff.post(
            reverse("admin:templates_admin_notificationtemplate_rollback", args=[template.pk, 9])
        ).status_code
        == 404
    )
