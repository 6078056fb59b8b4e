"""workflows.definitions: every step type normalized to the stored format, and the errors that
name the step and the field."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.definitions import DefinitionError, normalize, readable

INBOX = {"id": "inbox", "type": "send", "config": {"channel": "in_app"}}


def steps_of(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    return normalize({"name": "Test", "steps": list(steps)})[1]


def errors_of(*steps: Any, **body: Any) -> dict[str, Any]:
    with pytest.raises(DefinitionError) as raised:
        normalize({"name": "Test", "steps": list(steps)} | body)
    return raised.value.errors


@pytest.mark.parametrize(
    ("config", "stored"),
    [
        ({"channel": "email"}, {"channel": "email"}),
        (
            {"channel": "in_app", "tags": ["team", "billing", "team"]},
            {"channel": "in_app", "tags": ["team", "billing"]},
        ),
        (
            {"channel": "email", "template": "comment.digest", "urgent": True},
            {"channel": "email", "template": "comment.digest", "urgent": True},
        ),
        (
            {
                "channel": "in_app",
                "actions": {
                    "primary": {"label": "Accept", "key": "accept"},
                    "secondary": {"label": "View {{ postId }}", "url": "https://example.com/p/{{ postId }}"},
                },
            },
            {
                "channel": "in_app",
                "actions": {
                    "primary": {"label": "Accept", "key": "accept"},
                    "secondary": {"label": "View {{ postId }}", "url": "https://example.com/p/{{ postId }}"},
                },
            },
        ),
    ],
)
def test_send(config: dict[str, Any], stored: dict[str, Any]) -> None:
    assert steps_of({"id": "mail", "type": "send", "config": config}) == [
        {"id": "mail", "type": "send", "config": stored}
    ]


@pytest.mark.parametrize(
    ("config", "stored"),
    [
        ({"duration": 90}, {"duration": 90}),
        ({"duration": 90.0}, {"duration": 90}),
        ({"duration": "45s"}, {"duration": 45}),
        ({"duration": "10m"}, {"duration": 600}),
        ({"duration": "1h"}, {"duration": 3600}),
        ({"duration": "2d"}, {"duration": 172800}),
        ({"until": "payload.dueAt"}, {"until": "payload.dueAt"}),
        ({"at": "09:05"}, {"at": "5 9 * * *"}),
        ({"at": "9:30"}, {"at": "30 9 * * *"}),
        ({"at": "0  9 * *   1-5"}, {"at": "0 9 * * 1-5"}),
    ],
)
def test_delay(config: dict[str, Any], stored: dict[str, Any]) -> None:
    assert steps_of({"id": "wait", "type": "delay", "config": config})[0]["config"] == stored


def test_digest_fills_the_documented_defaults() -> None:
    (step,) = steps_of(
        {"id": "dg", "type": "digest", "config": {"window": "10m", "key": "payload.postId", "maxItems": 50}}
    )
    assert step["config"] == {
        "window": 600,
        "key": "payload.postId",
        "maxItems": 50,
        "flushLeading": False,
        "keep": 10,
    }


def test_digest_with_every_option() -> None:
    config = {"window": "5m", "maxWait": "1h", "lookback": "30s", "flushLeading": True, "keep": 3}
    (step,) = steps_of({"id": "dg", "type": "digest", "config": config})
    assert step["config"] == {"window": 300, "maxWait": 3600, "lookback": 30, "flushLeading": True, "keep": 3}
    (cron_step,) = steps_of({"id": "daily", "type": "digest", "config": {"at": "0 9 * * *"}})
    assert cron_step["config"] == {"at": "0 9 * * *", "flushLeading": False, "keep": 10}


def test_throttle_and_wait_for() -> None:
    steps = steps_of(
        INBOX,
        {"id": "limit", "type": "throttle", "config": {"limit": 3, "window": "1h", "key": "payload.postId"}},
        {"id": "read", "type": "waitFor", "config": {"step": "inbox", "timeout": "1d"}},
        {"id": "seen", "type": "waitFor", "config": {"step": "inbox", "until": "seen", "timeout": 60}},
    )
    assert [step["config"] for step in steps[1:]] == [
        {"limit": 3, "window": 3600, "key": "payload.postId"},
        {"step": "inbox", "timeout": 86400, "until": "read"},
        {"step": "inbox", "until": "seen", "timeout": 60},
    ]


def test_a_condition_is_kept_and_a_null_one_dropped() -> None:
    rule = {"==": [{"var": "steps.inbox.read"}, False]}
    steps = steps_of(
        INBOX,
        {"id": "mail", "type": "send", "config": {"channel": "email"}, "if": rule},
        {"id": "sms", "type": "send", "config": {"channel": "sms"}, "if": None},
    )
    assert steps[1]["if"] == rule
    assert "if" not in steps[2]


def test_normalizing_twice_changes_nothing() -> None:
    body = {
        "name": "All",
        "steps": [
            INBOX,
            {"id": "wait", "type": "delay", "config": {"at": "07:15"}},
            {"id": "dg", "type": "digest", "config": {"window": "1h", "maxWait": "1d"}},
            {"id": "read", "type": "waitFor", "config": {"step": "inbox", "timeout": "2h"}},
        ],
    }
    name, steps = normalize(body)
    assert normalize({"name": name, "steps": steps}) == (name, steps)


@pytest.mark.parametrize(
    ("step", "errors"),
    [
        ({"id": "mail", "type": "send", "config": {}}, {"config": {"channel": ["This field is required."]}}),
        (
            {"id": "mail", "type": "send", "config": {"channel": "fax"}},
            {"config": {"channel": ["registered"]}},
        ),
        (
            {"id": "mail", "type": "send", "config": {"channel": "email", "urgent": "yes"}},
            {"config": {"urgent": ["true or false"]}},
        ),
        (
            {"id": "mail", "type": "send", "config": {"channel": "email", "template": "a b"}},
            {"config": {"template": ["event type"]}},
        ),
        (
            {"id": "mail", "type": "send", "config": {"channel": "email", "subject": "x"}},
            {"config": {"subject": ["Unknown field"]}},
        ),
        (
            {
                "id": "mail",
                "type": "send",
                "config": {"channel": "email", "actions": {"primary": {"label": "Go", "key": "go"}}},
            },
            {"config": {"actions": ["Only in_app messages have action buttons."]}},
        ),
        (
            {"id": "mail", "type": "send", "config": {"channel": "email", "tags": ["billing"]}},
            {"config": {"tags": ["Only on in_app"]}},
        ),
        (
            {"id": "in", "type": "send", "config": {"channel": "in_app", "tags": ["a,b"]}},
            {"config": {"tags": ["Each tag 1-64 characters"]}},
        ),
        (
            {"id": "in", "type": "send", "config": {"channel": "in_app", "tags": "billing"}},
            {"config": {"tags": ["A list of strings."]}},
        ),
        (
            {
                "id": "in",
                "type": "send",
                "config": {"channel": "in_app", "actions": {"tertiary": {"label": "x", "key": "x"}}},
            },
            {"config": {"actions": ["At most two buttons"]}},
        ),
        (
            {
                "id": "in",
                "type": "send",
                "config": {"channel": "in_app", "actions": {"primary": {"label": "x"}}},
            },
            {"config": {"actions": ["primary: give exactly one of url"]}},
        ),
        (
            {
                "id": "in",
                "type": "send",
                "config": {"channel": "in_app", "actions": {"primary": {"label": "x", "key": "a b"}}},
            },
            {"config": {"actions": ["primary.key"]}},
        ),
        (
            {
                "id": "in",
                "type": "send",
                "config": {"channel": "in_app", "actions": {"secondary": {"label": "", "key": "b"}}},
            },
            {"config": {"actions": ["secondary.label: required"]}},
        ),
        (
            {
                "id": "in",
                "type": "send",
                "config": {
                    "channel": "in_app",
                    "actions": {
                        "primary": {"label": "a", "key": "go"},
                        "secondary": {"label": "b", "key": "go"},
                    },
                },
            },
            {"config": {"actions": ["different keys"]}},
        ),
        (
            {
                "id": "in",
                "type": "send",
                "config": {"channel": "in_app", "actions": {"primary": {"label": "{% nope %}", "key": "go"}}},
            },
            {"config": {"actions": ["primary.label: line 1"]}},
        ),
        ({"id": "wait", "type": "delay", "config": {"duration": "1y"}}, {"config": {"duration": ['"90s"']}}),
        (
            {"id": "wait", "type": "delay", "config": {"duration": 0}},
            {"config": {"duration": ["between 1 second"]}},
        ),
        (
            {"id": "wait", "type": "delay", "config": {"duration": True}},
            {"config": {"duration": ["Give seconds"]}},
        ),
        (
            {"id": "wait", "type": "delay", "config": {"duration": 1, "at": "09:00"}},
            {"config": {"non_field_errors": ["exactly one of duration, until, at (not duration and at)"]}},
        ),
        (
            {"id": "wait", "type": "delay", "config": {}},
            {"config": {"non_field_errors": ["exactly one of duration, until, at."]}},
        ),
        ({"id": "wait", "type": "delay", "config": {"at": "25:00"}}, {"config": {"at": ['"HH:MM"']}}),
        (
            {"id": "wait", "type": "delay", "config": {"at": "0 9 * * * *"}},
            {"config": {"at": ["5-field cron"]}},
        ),
        ({"id": "wait", "type": "delay", "config": {"until": "dueAt"}}, {"config": {"until": ["var path"]}}),
        ({"id": "dg", "type": "digest", "config": {"at": "0 9 30 2 *"}}, {"config": {"at": ["never fires"]}}),
        (
            {"id": "dg", "type": "digest", "config": {"window": 60, "maxWait": 30}},
            {"config": {"maxWait": ["at least the window"]}},
        ),
        (
            {"id": "dg", "type": "digest", "config": {"at": "0 9 * * *", "maxWait": 30}},
            {"config": {"maxWait": ["Only with window"]}},
        ),
        (
            {"id": "dg", "type": "digest", "config": {"window": 60, "maxItems": 0}},
            {"config": {"maxItems": ["at least 1"]}},
        ),
        (
            {"id": "t", "type": "throttle", "config": {"limit": 2}},
            {"config": {"window": ["This field is required."]}},
        ),
        (
            {"id": "w", "type": "waitFor", "config": {"step": "inbox", "until": "clicked", "timeout": 5}},
            {"config": {"until": ['"read" or "seen"']}},
        ),
        (
            {"id": "w", "type": "waitFor", "config": {"step": "later", "timeout": 5}},
            {"config": {"step": ['No earlier step has the id "later"']}},
        ),
        (
            {"id": "w", "type": "waitFor", "config": {"step": "mailer", "timeout": 5}},
            {"config": {"step": ['"mailer" is not a send step on in_app']}},
        ),
        (
            {"id": "x", "type": "send", "config": {"channel": "sms"}, "if": {"nope": 1}},
            {"if": ["unknown operator `nope`"]},
        ),
        (
            {"id": "x", "type": "fax", "config": {}},
            {"type": ["one of send, delay, digest, throttle, waitFor"]},
        ),
        ({"id": "9lives", "type": "send", "config": {"channel": "sms"}}, {"id": ["a letter"]}),
        (
            {"id": "x", "type": "send", "config": [], "when": 1},
            {"config": ["Must be an object."], "when": ["Unknown field"]},
        ),
        ("send", {"non_field_errors": ["Each step is an object"]}),
    ],
)
def test_errors_name_the_step_by_index_and_the_field(step: Any, errors: dict[str, Any]) -> None:
    mailer = {"id": "mailer", "type": "send", "config": {"channel": "email"}}
    found = errors_of(INBOX, mailer, step)
    assert set(found) == {"steps"}
    assert set(found["steps"]) == {"2"}

    def contains(actual: Any, expected: Any) -> None:
        if isinstance(expected, dict):
            assert set(actual) == set(expected), actual
            for key, inner in expected.items():
                contains(actual[key], inner)
        else:
            assert len(actual) == len(expected) and all(
                part in text for part, text in zip(expected, actual, strict=True)
            ), actual

    contains(found["steps"]["2"], errors)


def test_duplicate_ids_and_every_bad_step_are_reported_at_once() -> None:
    found = errors_of(INBOX, dict(INBOX), {"id": "wait", "type": "delay", "config": {"duration": "soon"}})
    assert found == {
        "steps": {
            "1": {"id": ['Another step already has the id "inbox".']},
            "2": {
                "config": {
                    "duration": ['Give seconds as a number or a string such as "90s", "10m", "1h", "2d".']
                }
            },
        }
    }


def test_the_body_itself() -> None:
    assert errors_of(steps=[]) == {"steps": ["Required: a list of at least one step."]}
    assert errors_of(INBOX, description="x") == {"description": ["Unknown field; use name, steps."]}
    assert set(errors_of(INBOX, name=5)) == {"name"}
    with pytest.raises(DefinitionError) as raised:
        normalize(["not", "an", "object"])
    assert raised.value.errors == {"non_field_errors": ['A workflow is an object {"name", "steps"}.']}


def test_lines_spell_out_the_step_number_id_and_field() -> None:
    with pytest.raises(DefinitionError) as raised:
        normalize(
            {"steps": [INBOX, {"id": "wait", "type": "delay", "config": {"duration": "soon", "at": "x"}}]}
        )
    assert raised.value.lines() == [
        'step 2 "wait": config.duration: Give seconds as a number or a string such as "90s", "10m", "1h", '
        '"2d".',
        'step 2 "wait": config.at: Give a time "HH:MM" or a 5-field cron expression such as "0 9 * * 1-5".',
        'step 2 "wait": config: Give exactly one of duration, until, at (not duration and at).',
    ]


def test_readable_writes_durations_and_keys_as_documented() -> None:
    stored = [
        {
            "if": {"var": "payload.x"},
            "config": {"keep": 10, "window": 600, "flushLeading": False},
            "type": "digest",
            "id": "dg",
        }
    ]
    assert readable(stored) == [
        {
            "id": "dg",
            "type": "digest",
            "config": {"window": "10m", "flushLeading": False, "keep": 10},
            "if": {"var": "payload.x"},
        }
    ]
    assert list(readable(stored)[0]) == ["id", "type", "config", "if"]
    assert list(readable(stored)[0]["config"]) == ["window", "flushLeading", "keep"]
    assert normalize({"steps": readable(stored)})[1] == normalize({"steps": stored})[1]
