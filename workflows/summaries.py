"""One line of plain words per stored step ("wait 1h", "digest 10m by payload.postId, max 50"),
for the admin's steps table and anywhere else a person reads a workflow."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from workflows.definitions import STEP_TYPES, format_duration

DIGEST_KEEP = STEP_TYPES["digest"].defaults["keep"]


def _send(config: dict[str, Any]) -> str:
    parts = [config["channel"]]
    if "template" in config:
        parts.append(f"template {config['template']}")
    if config.get("urgent"):
        parts.append("urgent")
    return ", ".join(parts)


def _delay(config: dict[str, Any]) -> str:
    if "duration" in config:
        return f"wait {format_duration(config['duration'])}"
    if "until" in config:
        return f"wait until the time in {config['until']}"
    return f'wait until "{config["at"]}" (cron, subscriber\'s time zone)'


def _digest(config: dict[str, Any]) -> str:
    if "window" in config:
        text = f"digest {format_duration(config['window'])}"
        if "maxWait" in config:
            text += f" sliding, at most {format_duration(config['maxWait'])}"
    else:
        text = f'digest until "{config["at"]}" (cron, subscriber\'s time zone)'
    text += f" by {config['key']}" if "key" in config else " per subscriber"
    parts = [text]
    if "maxItems" in config:
        parts.append(f"max {config['maxItems']}")
    if "lookback" in config:
        parts.append(f"at once if none in {format_duration(config['lookback'])}")
    if config.get("flushLeading"):
        parts.append("first at once")
    if config.get("keep", DIGEST_KEEP) != DIGEST_KEEP:
        parts.append(f"later steps see the first and last {config['keep']}")
    return ", ".join(parts)


def _throttle(config: dict[str, Any]) -> str:
    text = f"at most {config['limit']} per {format_duration(config['window'])}"
    return text + (f" by {config['key']}" if "key" in config else " per subscriber")


def _wait_for(config: dict[str, Any]) -> str:
    return f"wait until {config['step']} is {config['until']}, at most {format_duration(config['timeout'])}"


SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "send": _send,
    "delay": _delay,
    "digest": _digest,
    "throttle": _throttle,
    "waitFor": _wait_for,
}


def summary(step: dict[str, Any]) -> str:
    """The step's config in words."""
    return SUMMARIES[step["type"]](step["config"])


def condition_text(step: dict[str, Any]) -> str:
    """The step's JSON-Logic condition on one line, or "" when it always runs."""
    return json.dumps(step["if"], separators=(", ", ": ")) if "if" in step else ""
