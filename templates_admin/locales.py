"""Locale tags and the order in which templates are tried for one."""

from __future__ import annotations

import re

from django.conf import settings

# A language (2-3 letters) and optional script/region/variant subtags: 'de', 'de-AT', 'zh-Hant-TW'.
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


def is_locale(tag: str) -> bool:
    return bool(LOCALE_RE.match(tag))


def normalize_locale(tag: str) -> str:
    """'de_at' and 'DE-at' both become 'de-AT', so lookups and unique keys agree."""
    parts = [part for part in tag.strip().replace("_", "-").split("-") if part]
    if not parts:
        return ""
    normalized = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4:
            normalized.append(part.title())  # script: zh-Hant
        elif len(part) == 2:
            normalized.append(part.upper())  # region: de-AT
        else:
            normalized.append(part.lower())
    return "-".join(normalized)


def default_locale() -> str:
    return normalize_locale(settings.DEFAULT_LOCALE) or "en"


def fallback_chain(requested: str) -> list[str]:
    """Exact tag, then its language, then DEFAULT_LOCALE: 'de-AT' -> ['de-AT', 'de', 'en']."""
    chain: list[str] = []
    exact = normalize_locale(requested)
    for tag in (exact, exact.split("-")[0], default_locale()):
        if tag and tag not in chain:
            chain.append(tag)
    return chain
