"""Action buttons of an in-app message: what a template or a workflow's send step may give it.

Written as ``{"primary": {"label", "url"}, "secondary": {"label", "key"}}`` (either slot may be
left out): a ``url`` button opens a link, a ``key`` button is completed through
``POST /api/inbox/<id>/actions/<key>``. The message carries them as a list
``[{"key", "label", "url"?, "variant", "completedAt"}]``; a link button's key is its slot name.
Labels and URLs are templates, rendered with the message's context.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

SLOTS = ("primary", "secondary")
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_LABEL = 100
MAX_URL = 2000
BUTTON_FIELDS = ("label", "url", "key")

ActionSpec = dict[str, dict[str, str]]


def button_key(slot: str, button: dict[str, str]) -> str:
    return button.get("key") or slot


def _button(slot: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or set(raw) - set(BUTTON_FIELDS):
        raise ValueError(f'{slot}: give an object {{"label", "url"}} or {{"label", "key"}}.')
    label, url, key = raw.get("label"), raw.get("url"), raw.get("key")
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
        raise ValueError(f"{slot}.label: required, at most {MAX_LABEL} characters.")
    if (url is None) == (key is None):
        raise ValueError(f"{slot}: give exactly one of url (a link) and key (an action to complete).")
    if key is not None and (not isinstance(key, str) or not KEY_RE.match(key)):
        raise ValueError(f"{slot}.key: 1 to 64 letters, digits, '_' or '-'.")
    if url is not None and (not isinstance(url, str) or not url.strip() or len(url) > MAX_URL):
        raise ValueError(f"{slot}.url: an http(s) URL of at most {MAX_URL} characters.")
    return {"label": label, "url": url} if url is not None else {"label": label, "key": str(key)}


def normalize_actions(raw: Any) -> ActionSpec:
    """The checked spec (``{}`` for none); ValueError names the slot and field at fault."""
    if raw in (None, {}, []):
        return {}
    if not isinstance(raw, dict) or set(raw) - set(SLOTS):
        raise ValueError('At most two buttons: {"primary": {...}, "secondary": {...}}.')
    spec = {slot: _button(slot, raw[slot]) for slot in SLOTS if slot in raw}
    keys = [button_key(slot, button) for slot, button in spec.items()]
    if len(set(keys)) != len(keys):
        raise ValueError("The two buttons need different keys.")
    return spec


def http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def message_actions(spec: ActionSpec, render: Callable[[str, str], str]) -> list[dict[str, Any]]:
    """The message's ``actions``: each label and URL rendered by ``render(text, where)``.

    A rendered URL that is not http(s) raises ValueError: a page must never be handed a
    ``javascript:`` link by a template variable.
    """
    actions: list[dict[str, Any]] = []
    for slot, button in spec.items():
        action: dict[str, Any] = {
            "key": button_key(slot, button),
            "label": render(button["label"], f"{slot} label").strip()[:MAX_LABEL],
            "variant": slot,
            "completedAt": None,
        }
        if "url" in button:
            action["url"] = render(button["url"], f"{slot} url").strip()
            if not http_url(action["url"]):
                raise ValueError(f"{slot} url: {action['url']!r} is not an http(s) URL.")
        actions.append(action)
    return actions
