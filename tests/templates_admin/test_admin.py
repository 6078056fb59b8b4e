"""The admin through Django's test client, logged in as staff: save validation, preview, rollback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from templates_admin.models import NotificationTemplate
from tests.templates_admin.conftest import MakeTemplate

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:templates_admin_notificationtemplate_add")
DRAFT_URL = reverse("admin:templates_admin_notificationtemplate_draft_preview")


@pytest.fixture
def staff(client: Client) -> Client:
    user = User.objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    return client


def form(**fields: Any) -> dict[str, Any]:
    data = {
        "event_type": "account",
        "channel": "email",
        "locale": "en",
        "active": "on",
        "subject": "Hi {{ userName }}",
        "text_body": "Hello {{ userName }}",
        "html_body": "<p>Hello {{ userName }}</p>",
        "sample_data": '{"userName": "Ada"}',
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return data


def test_change_form_has_the_live_preview_panel(staff: Client) -> None:
    page = staff.get(ADD_URL)
    assert f'data-url="{DRAFT_URL}"'.encode() in page.content
    assert b"templates_admin/preview.js" in page.content


def test_staff_saves_a_template_with_normalised_locale(staff: Client) -> None:
    response = staff.post(ADD_URL, form(locale="de_at"))
    assert response.status_code == 302, response.content
    template = NotificationTemplate.objects.get()
    assert (template.locale, template.version, template.updated_by) == ("de-AT", 1, "editor")


def test_save_refuses_syntax_error_with_line_number(staff: Client) -> None:
    response = staff.post(ADD_URL, form(text_body="Hello\n{% if userName %}unclosed"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "line 2" in errors["text_body"][0]
    assert "endif" in errors["text_body"][0]
    assert not NotificationTemplate.objects.exists()


def test_save_refuses_unknown_filter_with_line_number(staff: Client) -> None:
    response = staff.post(ADD_URL, form(html_body="<p>\n\n{{ userName|shout }}</p>"))
    errors = response.context["adminform"].form.errors
    assert errors["html_body"] == ["line 3: Invalid filter: 'shout'"]
    assert not NotificationTemplate.objects.exists()


def test_save_refuses_a_malformed_locale_or_event_type(staff: Client) -> None:
    response = staff.post(ADD_URL, form(locale="relay", event_type="a/b"))
    errors = response.context["adminform"].form.errors
    assert errors["locale"] == ["Use a language tag such as 'de' or 'de-AT'."]
    assert "event_type" in errors
    assert not NotificationTemplate.objects.exists()


def test_save_refuses_a_second_active_template_for_the_same_key(
    staff: Client, make_template: MakeTemplate
) -> None:
    make_template(subject="Hi", text_body="x")
    response = staff.post(ADD_URL, form())
    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors)
    assert staff.post(ADD_URL, form(active="")).status_code == 302


def test_changelist_filters_by_event_type_channel_and_locale(
    staff: Client, make_template: MakeTemplate
) -> None:
    make_template(event_type="account", channel="sms", locale="de", text_body="a")
    make_template(event_type="order.shipped", channel="sms", locale="en", text_body="b")
    url = reverse("admin:templates_admin_notificationtemplate_changelist")
    response = staff.get(url, {"event_type": "order.shipped", "channel": "sms", "locale": "en"})
    assert [str(t) for t in response.context["cl"].result_list] == ["order.shipped / sms / en"]


def test_preview_page_renders_email_with_sample_json(staff: Client, make_template: MakeTemplate) -> None:
    template = make_template(
        subject="Hi {{ userName }}",
        text_body="Text",
        html_body="<p>{{ userName }}</p>",
        sample_data={"userName": "Ada"},
    )
    url = reverse("admin:templates_admin_notificationtemplate_preview", args=[template.pk])
    shown = staff.get(url)
    assert shown.status_code == 200
    assert shown.context["preview"].content["subject"] == "Hi Ada"
    assert b"Hi Ada" in shown.content

    edited = staff.post(url, {"sample": json.dumps({"userName": "<b>Grace</b>"})})
    assert edited.context["preview"].content["html"] == "<p>&lt;b&gt;Grace&lt;/b&gt;</p>"
    # The HTML is shown in a sandboxed iframe, escaped once more into its srcdoc attribute.
    assert b'srcdoc="&lt;p&gt;&amp;lt;b&amp;gt;Grace' in edited.content


def test_preview_page_shows_sms_segments_and_missing_variables(
    staff: Client, make_template: MakeTemplate
) -> None:
    template = make_template(channel="sms", text_body="{{ code }} is your code, {{ userName }}")
    url = reverse("admin:templates_admin_notificationtemplate_preview", args=[template.pk])
    response = staff.post(url, {"sample": json.dumps({"code": "€" * 80, "userName": "Ada"})})
    assert response.context["preview"].content["segments"] == 2
    assert b"2 segments (GSM-7)" in response.content
    missing = staff.post(url, {"sample": '{"code": "1"}'})
    assert missing.context["preview"].error == "sms body line 1: missing variable 'userName'"
    bad = staff.post(url, {"sample": "[1, 2"})
    assert bad.status_code == 400
    assert "Not valid JSON" in bad.context["sample_error"]


def test_live_preview_renders_unsaved_content_for_every_channel(staff: Client) -> None:
    cases = {
        "email": ("subject", "Hi {{ userName }}"),
        "sms": ("body", "Hi Ada"),
        "push": ("title", "Hi {{ userName }}"),
        "in_app": ("title", "Hi {{ userName }}"),
    }
    for channel, (key, _) in cases.items():
        fields = form(channel=channel, subject="Hi {{ userName }}", text_body="Hi {{ userName }}")
        if channel != "email":
            fields["html_body"] = ""
        response = staff.post(DRAFT_URL, fields)
        assert response.status_code == 200, (channel, response.content)
        content = response.json()["content"]
        assert content[key] == "Hi Ada", channel
    assert staff.post(DRAFT_URL, form(channel="sms", html_body="")).json()["content"]["segments"] == 1


def test_live_preview_reports_field_errors(staff: Client) -> None:
    syntax = staff.post(DRAFT_URL, form(subject="{{ userName|nope }}"))
    assert syntax.status_code == 400
    assert syntax.json() == {"errors": {"subject": ["line 1: Invalid filter: 'nope'"]}}
    sample = staff.post(DRAFT_URL, form(sample_data="[]"))
    assert sample.json()["errors"]["sample_data"] == [
        "Sample data must be a JSON object, like an event's data."
    ]
    missing = staff.post(DRAFT_URL, form(sample_data="{}"))
    assert missing.json() == {"errors": {"template": ["email subject line 1: missing variable 'userName'"]}}


def test_preview_views_need_staff(client: Client, make_template: MakeTemplate) -> None:
    template = make_template(subject="Hi", text_body="x")
    url = reverse("admin:templates_admin_notificationtemplate_preview", args=[template.pk])
    assert client.get(url).status_code == 302
    assert client.post(DRAFT_URL, form()).status_code == 302


def test_an_in_app_template_saves_action_buttons_and_refuses_bad_ones(staff: Client) -> None:
    buttons = {
        "primary": {"label": "Accept", "key": "accept"},
        "secondary": {"label": "Open {{ userName }}", "url": "https://example.com/u/{{ userName }}"},
    }
    in_app = {"channel": "in_app", "html_body": ""}
    assert staff.post(ADD_URL, form(**in_app, actions=json.dumps(buttons))).status_code == 302
    assert NotificationTemplate.objects.get().actions == buttons

    three = staff.post(ADD_URL, form(**in_app, locale="de", actions=json.dumps({**buttons, "third": {}})))
    assert "At most two buttons" in three.context["adminform"].form.errors["actions"][0]
    on_email = staff.post(ADD_URL, form(locale="fr", actions=json.dumps(buttons))).context["adminform"]
    assert on_email.form.errors["actions"] == ["Only in_app messages have action buttons."]
    no_target = staff.post(ADD_URL, form(**in_app, locale="it", actions='{"primary": {"label": "Go"}}'))
    assert "exactly one of url" in no_target.context["adminform"].form.errors["actions"][0]
    assert NotificationTemplate.objects.count() == 1
