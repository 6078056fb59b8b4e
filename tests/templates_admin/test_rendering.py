"""What a delivery says: the locale fallback chain, escaping per channel, channel limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from templated_email import get_templated_mail

from notifications.models import Event, Subscriber
from templates_admin.rendering import TemplateRenderError, render
from templates_admin.sandbox import sandbox_engine
from tests.factories import EventFactory, SubscriberFactory
from tests.templates_admin.conftest import MakeTemplate

pytestmark = pytest.mark.django_db


def event(**fields: Any) -> Event:
    fields.setdefault("data", {"userName": "Ada"})
    return EventFactory(**fields)


def subscriber(**fields: Any) -> Subscriber:
    return SubscriberFactory(**fields)


def all_locales(make_template: MakeTemplate, channel: str = "sms") -> None:
    for locale in ("de-AT", "de", "en"):
        make_template(channel=channel, locale=locale, text_body=f"[{locale}] Hallo {{{{ userName }}}}")


def test_exact_locale_wins_over_language_and_default(make_template: MakeTemplate) -> None:
    all_locales(make_template)
    content = render(event(), subscriber(locale="de-AT"), "sms")
    assert content["body"] == "[de-AT] Hallo Ada"


def test_language_is_used_when_the_region_has_no_template(make_template: MakeTemplate) -> None:
    all_locales(make_template)
    assert render(event(), subscriber(locale="de-CH"), "sms")["body"] == "[de] Hallo Ada"


def test_default_locale_is_used_when_the_language_has_no_template(
    make_template: MakeTemplate, settings: Any
) -> None:
    all_locales(make_template)
    assert render(event(), subscriber(locale="fr-FR"), "sms")["body"] == "[en] Hallo Ada"
    settings.DEFAULT_LOCALE = "de"
    assert render(event(), subscriber(locale="fr-FR"), "sms")["body"] == "[de] Hallo Ada"


def test_builtin_default_is_the_last_fallback(make_template: MakeTemplate) -> None:
    make_template(channel="sms", locale="de", text_body="Hallo {{ userName }}")
    content = render(event(data={"title": "Welcome", "body": "Hi Ada"}), subscriber(locale="fr"), "sms")
    assert content["body"] == "Hi Ada"
    assert content["title"] == "Welcome"


def test_event_locale_picks_the_template_before_the_subscribers(make_template: MakeTemplate) -> None:
    all_locales(make_template)
    assert render(event(locale="de_at"), subscriber(locale="en"), "sms")["body"] == "[de-AT] Hallo Ada"


def test_inactive_template_is_skipped(make_template: MakeTemplate) -> None:
    all_locales(make_template)
    make_template(channel="sms", locale="de-AT", text_body="old", active=False)
    assert render(event(), subscriber(locale="de-AT"), "sms")["body"] == "[de-AT] Hallo Ada"


def test_edit_is_seen_by_the_next_render(make_template: MakeTemplate) -> None:
    template = make_template(channel="in_app", subject="Hi", text_body="v1 {{ userName }}")
    assert render(event(), subscriber(), "in_app")["body"] == "v1 Ada"
    template.text_body = "v2 {{ userName }}"
    template.save()
    assert render(event(), subscriber(), "in_app")["body"] == "v2 Ada"


SCRIPT = "<script>alert(1)</script>"


def test_script_in_data_is_escaped_in_html_and_plain_in_sms(make_template: MakeTemplate) -> None:
    make_template(
        channel="email",
        subject="Hello {{ userName }}",
        text_body="Hello {{ userName }}",
        html_body="<p>Hello {{ userName }}</p>",
    )
    make_template(channel="sms", text_body="Hello {{ userName }}")
    the_event, someone = event(data={"userName": SCRIPT}), subscriber()

    email = render(the_event, someone, "email")
    assert email["html"] == "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert email["text"] == f"Hello {SCRIPT}"
    assert email["subject"] == f"Hello {SCRIPT}"
    assert render(the_event, someone, "sms")["body"] == f"Hello {SCRIPT}"


def test_email_has_subject_text_html_and_shared_keys(make_template: MakeTemplate) -> None:
    make_template(
        subject="Welcome,\n {{ subscriber.userId }}",
        text_body="Verify: {{ actionUrl }}",
        html_body='<a href="{{ data.actionUrl }}">Verify</a> for {{ event.eventType }}',
    )
    the_event = event(data={"actionUrl": "https://example.com/v?a=1&b=2"})
    content = render(the_event, subscriber(user_id="u-42"), "email")
    assert content["subject"] == "Welcome, u-42"
    assert content["text"] == "Verify: https://example.com/v?a=1&b=2"
    assert content["html"] == '<a href="https://example.com/v?a=1&amp;b=2">Verify</a> for account'
    assert content["title"] == content["subject"]
    assert content["actionUrl"] == "https://example.com/v?a=1&b=2"


def test_missing_variable_names_the_variable_and_line(make_template: MakeTemplate) -> None:
    make_template(subject="Hi", text_body="Hello\n{{ firstName }}", html_body="<p>{{ userName }}</p>")
    with pytest.raises(TemplateRenderError) as raised:
        render(event(), subscriber(), "email")
    assert str(raised.value) == "email plain line 2: missing variable 'firstName'"


def test_optional_parts_use_if_firstof_and_default(make_template: MakeTemplate) -> None:
    make_template(
        channel="sms",
        text_body="Hi{% if nickname %} {{ nickname }}{% endif %}{% firstof nick '!' %}"
        " {{ nick|default:'friend' }}",
    )
    make_template(subject="{{ topic|default:'News' }}", text_body="{{ nick|default_if_none:'-' }}")
    assert render(event(), subscriber(), "sms")["body"] == "Hi! friend"
    email = render(event(), subscriber(), "email")
    assert (email["subject"], email["text"]) == ("News", "-")


def test_sms_counts_gsm7_and_ucs2_segments(make_template: MakeTemplate) -> None:
    make_template(channel="sms", text_body="{{ message }}")
    cases = [("a" * 160, "GSM-7", 1), ("a" * 161, "GSM-7", 2), ("€" * 80, "GSM-7", 1), ("€" * 81, "GSM-7", 2)]
    cases += [("ü" * 70 + "ş", "UCS-2", 2), ("😀" * 35, "UCS-2", 1), ("😀" * 36, "UCS-2", 2)]
    for message, encoding, segments in cases:
        content = render(event(data={"message": message}), subscriber(), "sms")
        assert (content["encoding"], content["segments"]) == (encoding, segments), message


def test_push_title_and_body_are_cut_to_fcm_limits(make_template: MakeTemplate) -> None:
    make_template(channel="push", subject="{{ title }}", text_body="{{ body }}")
    content = render(event(data={"title": "T" * 500, "body": "ö" * 4000}), subscriber(), "push")
    assert len(content["title"].encode()) <= 200
    assert content["title"].endswith("…")
    assert len(content["title"].encode()) + len(content["body"].encode()) <= 3500
    assert content["body"].startswith("öö") and content["body"].endswith("…")


def test_sandbox_refuses_debug_and_load_tags() -> None:
    from django.template import TemplateSyntaxError

    for source in ("{% debug %}", "{% load static %}"):
        with pytest.raises(TemplateSyntaxError):
            sandbox_engine().from_string(source)


def test_file_template_overrides_database_template(
    make_template: MakeTemplate, settings: Any, tmp_path: Path
) -> None:
    make_template(subject="From the database", text_body="db")
    (tmp_path / "templated_email").mkdir()
    (tmp_path / "templated_email" / "account.email").write_text(
        "{% block subject %}From a file {{ userName }}{% endblock %}{% block plain %}file{% endblock %}"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    sandbox_engine.cache_clear()
    content = render(event(), subscriber(), "email")
    assert content["subject"] == "From a file Ada"
    assert content["text"] == "file"


def test_templated_email_renders_database_templates_by_name(make_template: MakeTemplate) -> None:
    make_template(
        subject="Hi {{ userName }}", text_body="Plain {{ userName }}", html_body="<b>{{ userName }}</b>"
    )
    make_template(locale="de", subject="Hallo {{ userName }}", text_body="Text", html_body="<b>Hallo</b>")
    message = get_templated_mail("account", {"userName": "Ada"}, to=["ada@example.com"])
    assert message.subject == "Hi Ada"
    assert message.body == "Plain Ada"
    assert message.alternatives[0][0] == "<b>Ada</b>"
    german = get_templated_mail("de/account", {"userName": "Ada"}, to=["ada@example.com"])
    assert german.subject == "Hallo Ada"
