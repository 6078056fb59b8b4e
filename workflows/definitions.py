"""A workflow definition, checked and normalized into the stored step format.

Every publishing path (the API, the admin, files) calls :func:`normalize`, so a version is
stored only in one shape: ``[{"id", "type", "config", "if"?}]`` with every duration in integer
seconds, ``"HH:MM"`` turned into a cron expression and the documented defaults filled in. The
engine then reads steps without re-validating anything.

Problems are collected for the whole body, not just the first, in DRF's nested error shape
(``{"steps": {"2": {"config": {"duration": ["..."]}}}}``, steps by their 0-based index as DRF's
list fields do) so the API answers them as any other 400; :meth:`DefinitionError.lines` spells
the same problems out for people (``step 3 "wait": config.duration: ...``) in the admin and
the management commands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from croniter import CroniterBadDateError, croniter
from django.utils import timezone

from core.channel_names import channel_names, unknown_channel_message
from core.tags import tag_problem
from notifications.serializers import EVENT_TYPE_RE
from templates_admin.actions import normalize_actions
from templates_admin.validation import actions_error
from workflows import conditions

NON_FIELD = "non_field_errors"
STEP_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
VAR_PATH_RE = re.compile(r"^(payload|subscriber)(\.[A-Za-z0-9_$-]+)+$")
DURATION_RE = re.compile(r"^(\d+)([smhd])$")
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = 366 * 86400
MAX_STEPS = 50
MAX_NAME = 200
MAX_KEY = 128  # Workflow.key
INBOX_CHANNEL = "in_app"
WAIT_UNTIL = ("read", "seen")
STEP_KEYS = ("id", "type", "config", "if")
TOP_KEYS = ("name", "steps")


class DefinitionError(ValueError):
    """The definition is invalid; ``errors`` is DRF's nested shape, ready for a 400 body."""

    def __init__(self, errors: dict[str, Any], steps: list[Any] | None = None) -> None:
        self.errors = errors
        self._steps = steps or []
        super().__init__("; ".join(self.lines()))

    def lines(self) -> list[str]:
        """One readable line per problem, naming the step (number and id) and the field."""
        found: list[str] = []
        for field, problems in self.errors.items():
            if field == "steps" and isinstance(problems, dict):
                for index, step_problems in problems.items():
                    found += [f"{self._step_label(int(index))}: {line}" for line in _flatten(step_problems)]
            else:
                found += _flatten({field: problems})
        return found

    def _step_label(self, index: int) -> str:
        step = self._steps[index] if index < len(self._steps) else None
        step_id = step.get("id") if isinstance(step, dict) else None
        return f'step {index + 1} "{step_id}"' if isinstance(step_id, str) else f"step {index + 1}"


def _flatten(problems: Any, prefix: str = "") -> list[str]:
    if isinstance(problems, dict):
        lines: list[str] = []
        for key, inner in problems.items():
            path = prefix if key == NON_FIELD else f"{prefix}.{key}" if prefix else key
            lines += _flatten(inner, path)
        return lines
    return [f"{prefix}: {message}" if prefix else str(message) for message in problems]


# --- Field normalizers: each returns the stored value or raises ValueError with the message. ---


def workflow_key(value: Any) -> str:
    """A workflow's key: the event type it handles."""
    if not isinstance(value, str) or len(value) > MAX_KEY or not EVENT_TYPE_RE.match(value):
        raise ValueError(
            f"Give an event type of at most {MAX_KEY} characters: letters, digits, '_' and '-', "
            "in dot-separated parts (e.g. comment.created)."
        )
    return value


def duration(value: Any) -> int:
    """Seconds (a positive integer) or ``"<n>s|m|h|d"``, as integer seconds."""
    if isinstance(value, bool):
        raise ValueError('Give seconds as a number or a string such as "90s", "10m", "1h", "2d".')
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (match := DURATION_RE.match(value.strip())):
        seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    else:
        raise ValueError('Give seconds as a number or a string such as "90s", "10m", "1h", "2d".')
    if not 1 <= seconds <= MAX_DURATION:
        raise ValueError(f"Must be between 1 second and {MAX_DURATION // 86400} days.")
    return seconds


def format_duration(seconds: int) -> str:
    """Seconds in the largest unit that divides them (3600: "1h", 5400: "90m"), as :func:`duration` reads."""
    for unit in ("d", "h", "m"):
        if seconds % UNIT_SECONDS[unit] == 0:
            return f"{seconds // UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("Must be a whole number of at least 1.")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("Must be true or false.")
    return value


def var_path(value: Any) -> str:
    if not isinstance(value, str) or not VAR_PATH_RE.match(value):
        raise ValueError('Give a var path into the payload or the subscriber, such as "payload.postId".')
    return value


def cron(value: Any) -> str:
    """A 5-field cron expression that fires at least once (``30 2 *`` never does)."""
    if not isinstance(value, str) or len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError('Give a 5-field cron expression such as "0 9 * * 1-5".')
    expression = " ".join(value.split())
    try:
        croniter(expression, timezone.now()).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f'The cron expression "{expression}" never fires.') from None
    return expression


def time_or_cron(value: Any) -> str:
    """``"HH:MM"`` (every day at that time) as the cron ``"MM HH * * *"``, or a cron expression."""
    if isinstance(value, str) and (match := TIME_RE.match(value.strip())):
        return f"{int(match.group(2))} {int(match.group(1))} * * *"
    try:
        return cron(value)
    except ValueError:
        raise ValueError('Give a time "HH:MM" or a 5-field cron expression such as "0 9 * * 1-5".') from None


def channel(value: Any) -> str:
    if not isinstance(value, str) or value not in channel_names():
        raise ValueError(unknown_channel_message().format(input=value))
    return value


def tag_list(value: Any) -> list[str]:
    """A send step's message tags (``core.tags``), merged with the template's and the event's."""
    problem = tag_problem(value)
    if problem:
        raise ValueError(problem)
    return list(dict.fromkeys(value))


def template_key(value: Any) -> str:
    """A template set's event type, as templates are chosen today (by event type, channel, locale)."""
    if not isinstance(value, str) or len(value) > 200 or not EVENT_TYPE_RE.match(value):
        raise ValueError(
            "Give the event type whose templates to use: letters, digits, '_' and '-', "
            "in dot-separated parts (e.g. comment.digest)."
        )
    return value


def wait_until(value: Any) -> str:
    if value not in WAIT_UNTIL:
        raise ValueError('Must be "read" or "seen".')
    return str(value)


def step_ref(value: Any) -> str:
    """Only the shape here; that it names an earlier in-app send step is checked with the steps."""
    if not isinstance(value, str) or not STEP_ID_RE.match(value):
        raise ValueError("Give the id of an earlier send step on in_app.")
    return value


# --- Step types: their config keys, required keys, one-of groups and defaults. ---


class StepType:
    """What one step type's ``config`` may hold; :meth:`normalize` applies it."""

    def __init__(
        self,
        fields: dict[str, Callable[[Any], Any]],
        required: tuple[str, ...] = (),
        one_of: tuple[str, ...] = (),
        defaults: dict[str, Any] | None = None,
    ) -> None:
        self.fields = fields
        self.required = required
        self.one_of = one_of
        self.defaults = defaults or {}

    def normalize(self, config: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in config.items():
            normalizer = self.fields.get(key)
            if normalizer is None:
                errors[key] = ["Unknown field; use " + ", ".join(self.fields) + "."]
                continue
            try:
                result[key] = normalizer(value)
            except ValueError as error:
                errors[key] = [str(error)]
        for key in self.required:
            if key not in config:
                errors.setdefault(key, ["This field is required."])
        if self.one_of:
            given = [key for key in self.one_of if key in config]
            if len(given) != 1:
                errors.setdefault(NON_FIELD, []).append(
                    "Give exactly one of "
                    + ", ".join(self.one_of)
                    + (f" (not {' and '.join(given)})." if given else ".")
                )
        return result | {key: value for key, value in self.defaults.items() if key not in result}


def _check_send(config: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """In-app buttons (``actions``, which replace the template's) only on in_app, labels that compile."""
    problem = actions_error(config.get("actions"), config["channel"])
    if problem:
        errors.setdefault("actions", [problem])
    if config.get("tags") and config["channel"] != "in_app":
        errors.setdefault("tags", ["Only on in_app: tags are the inbox message's."])


def _check_digest(config: dict[str, Any], errors: dict[str, list[str]]) -> None:
    if "maxWait" in config and "at" in config:
        errors.setdefault("maxWait", ["Only with window: it makes the window sliding."])
    elif "maxWait" in config and "window" in config and config["maxWait"] < config["window"]:
        errors.setdefault("maxWait", ["Must be at least the window."])


STEP_TYPES: dict[str, StepType] = {
    "send": StepType(
        {
            "channel": channel,
            "template": template_key,
            "urgent": boolean,
            "actions": normalize_actions,
            "tags": tag_list,
        },
        required=("channel",),
    ),
    "delay": StepType(
        {"duration": duration, "until": var_path, "at": time_or_cron}, one_of=("duration", "until", "at")
    ),
    "digest": StepType(
        {
            "window": duration,
            "at": cron,
            "maxWait": duration,
            "key": var_path,
            "maxItems": positive_int,
            "lookback": duration,
            "flushLeading": boolean,
            "keep": positive_int,
        },
        one_of=("window", "at"),
        defaults={"flushLeading": False, "keep": 10},
    ),
    "throttle": StepType(
        {"limit": positive_int, "window": duration, "key": var_path}, required=("limit", "window")
    ),
    "waitFor": StepType(
        {"step": step_ref, "until": wait_until, "timeout": duration},
        required=("step", "timeout"),
        defaults={"until": "read"},
    ),
}
# Checks across a config's fields, run once each field is valid on its own.
CROSS_CHECKS: dict[str, Callable[[dict[str, Any], dict[str, list[str]]], None]] = {
    "digest": _check_digest,
    "send": _check_send,
}


def readable(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored steps as people write them, for files and the admin's text: keys in the documented
    order (PostgreSQL's jsonb keeps its own) and durations as "10m", "1h"."""
    shown = []
    for step in steps:
        fields = STEP_TYPES[step["type"]].fields
        config = {
            key: format_duration(step["config"][key]) if normalizer is duration else step["config"][key]
            for key, normalizer in fields.items()
            if key in step["config"]
        }
        shown.append({key: config if key == "config" else step[key] for key in STEP_KEYS if key in step})
    return shown


def _unknown_keys(body: dict[str, Any], allowed: tuple[str, ...], errors: dict[str, Any]) -> None:
    for key in body:
        if key not in allowed:
            errors[key] = ["Unknown field; use " + ", ".join(allowed) + "."]


def _normalize_step(raw: Any, earlier: list[dict[str, Any]], errors: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        errors[NON_FIELD] = ['Each step is an object {"id", "type", "config", "if"}.']
        return {"id": None, "type": None, "config": {}}
    _unknown_keys(raw, STEP_KEYS, errors)
    step_id, step_type, config = raw.get("id"), raw.get("type"), raw.get("config", {})
    if not isinstance(step_id, str) or not STEP_ID_RE.match(step_id):
        errors["id"] = ["Required: a letter, then up to 63 letters, digits, '_' or '-'."]
    elif any(step["id"] == step_id for step in earlier):
        errors["id"] = [f'Another step already has the id "{step_id}".']
    kind = STEP_TYPES.get(step_type) if isinstance(step_type, str) else None
    if kind is None:
        errors["type"] = ["Required: one of " + ", ".join(STEP_TYPES) + "."]
    step: dict[str, Any] = {"id": step_id, "type": step_type, "config": {}}
    if not isinstance(config, dict):
        errors["config"] = ["Must be an object."]
    elif kind is not None:
        config_errors: dict[str, list[str]] = {}
        step["config"] = kind.normalize(config, config_errors)
        if not config_errors and step_type in CROSS_CHECKS:
            CROSS_CHECKS[step_type](step["config"], config_errors)
        if not config_errors and step_type == "waitFor":
            _check_wait_target(step["config"]["step"], earlier, config_errors)
        if config_errors:
            errors["config"] = config_errors
    if raw.get("if") is not None:
        try:
            conditions.check(raw["if"])
            step["if"] = raw["if"]
        except ValueError as error:
            errors["if"] = [str(error)]
    return step


def _check_wait_target(target: str, earlier: list[dict[str, Any]], errors: dict[str, list[str]]) -> None:
    found = next((step for step in earlier if step["id"] == target), None)
    if found is None:
        errors["step"] = [f'No earlier step has the id "{target}"; waitFor waits for a send step before it.']
    elif found["type"] != "send" or found["config"].get("channel") != INBOX_CHANNEL:
        errors["step"] = [
            f'"{target}" is not a send step on {INBOX_CHANNEL}: only in-app messages are read or seen.'
        ]


def normalize(body: Any) -> tuple[str, list[dict[str, Any]]]:
    """``(name, steps)`` in the stored format, or :class:`DefinitionError` naming every problem."""
    if not isinstance(body, dict):
        raise DefinitionError({NON_FIELD: ['A workflow is an object {"name", "steps"}.']})
    errors: dict[str, Any] = {}
    _unknown_keys(body, TOP_KEYS, errors)
    name = body.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        errors["name"] = [f"At most {MAX_NAME} characters of text."]
    raw_steps = body.get("steps")
    steps: list[dict[str, Any]] = []
    if not isinstance(raw_steps, list) or not raw_steps:
        errors["steps"] = ["Required: a list of at least one step."]
    elif len(raw_steps) > MAX_STEPS:
        errors["steps"] = [f"At most {MAX_STEPS} steps."]
    else:
        step_errors: dict[str, Any] = {}
        for index, raw in enumerate(raw_steps):
            problems: dict[str, Any] = {}
            steps.append(_normalize_step(raw, steps, problems))
            if problems:
                step_errors[str(index)] = problems
        if step_errors:
            errors["steps"] = step_errors
    if errors:
        raise DefinitionError(errors, raw_steps if isinstance(raw_steps, list) else None)
    return name, steps
