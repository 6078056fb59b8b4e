"""The names of the registered channels, as the apps need them to validate channel fields.

The channel modules live on top, in ``pipeline/channels/``; the apps below only need the
names, which are the keys of ``settings.RELAY_CHANNELS``: a channel added in settings is
accepted everywhere without a migration or a code change here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings


def channel_names() -> list[str]:
    return list(settings.RELAY_CHANNELS)


def channel_choices() -> list[tuple[str, str]]:
    """For form fields (the admin): every registered channel, labelled by its name."""
    return [(name, name) for name in channel_names()]


def channel_form_field(*extra: tuple[str, str], **kwargs: Any) -> forms.ChoiceField:
    """An admin form field offering the registered channels (and ``extra`` choices first),
    read when the form is shown, so a channel added in settings appears without a migration."""
    return forms.ChoiceField(choices=lambda: [*extra, *channel_choices()], label="Channel", **kwargs)


def unknown_channel_message() -> str:
    """The field-level message for a name that is not registered; ``{input}`` is the value."""
    return '"{input}" is not a registered channel; use one of: ' + ", ".join(channel_names()) + "."
