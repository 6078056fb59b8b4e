"""A message's tags: from its rendered content (the template's or the workflow send step's
``tags``) and from the event's ``metadata.tags``, merged in that order."""

from __future__ import annotations

from typing import Any

MAX_TAGS = 20
MAX_TAG_LENGTH = 64


def tag_problem(value: Any) -> str | None:
    """Why ``value`` is not a list of tags, or None when it is (the event API's check)."""
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        return "A list of strings."
    if len(value) > MAX_TAGS:
        return f"At most {MAX_TAGS} tags."
    if any(not tag.strip() or len(tag) > MAX_TAG_LENGTH or "," in tag or "|" in tag for tag in value):
        return f"Each tag 1-{MAX_TAG_LENGTH} characters, without ',' or '|'."
    return None


def merged_tags(*sources: Any) -> list[str]:
    """The valid tags of each source list, first occurrence kept, at most ``MAX_TAGS``: a
    stored message never fails for a malformed tag list (those are refused at the API)."""
    tags: dict[str, None] = {}
    for source in sources:
        if isinstance(source, list):
            tags.update((tag, None) for tag in source if isinstance(tag, str) and tag_problem([tag]) is None)
    return list(tags)[:MAX_TAGS]
