"""The form behind the live preview of unsaved edits (the change form's own fields)."""

from __future__ import annotations

from typing import Any

from django import forms

from core.channel_names import channel_choices
from templates_admin.locales import default_locale, normalize_locale
from templates_admin.preview import parse_sample
from templates_admin.source import TemplateSource
from templates_admin.validation import template_errors


class DraftPreviewForm(forms.Form):
    event_type = forms.CharField(max_length=200)
    channel = forms.ChoiceField(choices=channel_choices)
    locale = forms.CharField(max_length=16, required=False)
    subject = forms.CharField(max_length=500, required=False, strip=False)
    text_body = forms.CharField(required=False, strip=False)
    html_body = forms.CharField(required=False, strip=False)
    sample_data = forms.CharField(required=False, strip=False)

    def clean_sample_data(self) -> dict[str, Any]:
        try:
            return parse_sample(self.cleaned_data["sample_data"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            for field, messages in template_errors(self.source()).items():
                for message in messages:
                    self.add_error(field, message)
        return cleaned

    def source(self) -> TemplateSource:
        data = self.cleaned_data
        return TemplateSource(
            pk=None,
            version=0,
            event_type=data["event_type"],
            channel=data["channel"],
            locale=normalize_locale(data.get("locale", "")) or default_locale(),
            subject=data.get("subject", ""),
            text_body=data.get("text_body", ""),
            html_body=data.get("html_body", ""),
        )
