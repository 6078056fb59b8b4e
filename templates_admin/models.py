"""What staff edit in the admin: one template per event type, channel and locale, with history.

A template's previous content is kept as a ``TemplateVersion`` on every save (see
``services.save_template``), so a bad edit can be rolled back without a deploy.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from core.channel_names import channel_names
from notifications.serializers import EVENT_TYPE_RE
from templates_admin.locales import is_locale, normalize_locale
from templates_admin.source import TemplateSource
from templates_admin.validation import template_errors


class NotificationTemplate(models.Model):
    """The words of one notification; at most one active per (event type, channel, locale)."""

    event_type = models.CharField(max_length=200, db_index=True)
    channel = models.CharField(max_length=32)
    locale = models.CharField(
        max_length=16, help_text="BCP 47 tag: 'de-AT' (language and region) or 'de' (any region)."
    )
    subject = models.CharField(
        max_length=500, blank=True, default="", help_text="Email subject; title of push and in-app."
    )
    text_body = models.TextField(
        blank=True, default="", help_text="Plain text: the SMS, push and in-app body; email text part."
    )
    html_body = models.TextField(blank=True, default="", help_text="Email only: the HTML part.")
    actions = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            'In-app only: up to two buttons, {"primary": {"label", "url"}, "secondary": {"label", "key"}}; '
            "labels and URLs may use variables."
        ),
    )
    tags = models.JSONField(
        default=list,
        blank=True,
        help_text='In-app only: the message\'s tags, e.g. ["billing", "team"] (inbox tabs count by tag).',
    )
    sample_data = models.JSONField(
        default=dict, blank=True, help_text="Example event data for the admin preview."
    )
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_by = models.CharField(max_length=150, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event_type", "channel", "locale"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_type", "channel", "locale"],
                condition=models.Q(active=True),
                name="template_unique_active",
                violation_error_message=(
                    "An active template for this event type, channel and locale already exists."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} / {self.channel} / {self.locale}"

    def source(self) -> TemplateSource:
        """This row's content as the plain snapshot that checks, renders and caches use."""
        return TemplateSource(
            pk=self.pk,
            version=self.version,
            event_type=self.event_type,
            channel=self.channel,
            locale=self.locale,
            subject=self.subject,
            text_body=self.text_body,
            html_body=self.html_body,
            actions=self.actions or {},
            tags=list(self.tags or []),
        )

    def clean(self) -> None:
        """Normalise the locale and refuse content that does not compile, naming the line."""
        self.locale = normalize_locale(self.locale)
        errors = template_errors(self.source())
        if not EVENT_TYPE_RE.match(self.event_type):
            errors["event_type"] = [
                "Use the event type as events send it: letters, digits, '_' and '-', dotted."
            ]
        if self.channel not in channel_names():
            errors["channel"] = [f"Use a registered channel: {', '.join(channel_names())}."]
        if not is_locale(self.locale):
            errors["locale"] = ["Use a language tag such as 'de' or 'de-AT'."]
        if errors:
            raise ValidationError(errors)


class TemplateVersion(models.Model):
    """The content a template had before one of its saves (``version`` is that content's number)."""

    template = models.ForeignKey(NotificationTemplate, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    subject = models.CharField(max_length=500, blank=True, default="")
    text_body = models.TextField(blank=True, default="")
    html_body = models.TextField(blank=True, default="")
    actions = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    saved_by = models.CharField(max_length=150, blank=True, default="")
    saved_at = models.DateTimeField()

    class Meta:
        ordering = ["template_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["template", "version"], name="template_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.version}"
