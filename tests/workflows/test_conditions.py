"""workflows.conditions: the one JSON-Logic evaluator of step conditions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from workflows import conditions

DATA = {
    "payload": {"postId": "p1", "tags": ["urgent"], "count": 3, "zero": "0"},
    "subscriber": {"timezone": "Europe/Vienna"},
    "steps": {"inbox": {"status": "sent", "seen": True, "read": False}},
    "digest": {"count": 12, "events": [], "actors": ["ann", "bob"]},
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"==": [{"var": "steps.inbox.read"}, False]}, True),
        ({"var": "steps.inbox.seen"}, True),
        ({">": [{"var": "digest.count"}, 10]}, True),
        ({"in": ["urgent", {"var": "payload.tags"}]}, True),
        ({"and": [{"var": "steps.inbox.read"}, True]}, False),
        ({"var": "payload.missing"}, False),
        ({"var": "digest.events"}, False),  # an empty list is false, as JSON-Logic says
        ({"var": "payload.zero"}, True),  # the string "0" is true, unlike in JavaScript's ==
        (True, True),
        ("text", True),  # a bare string rule is a literal, not JSON text
        ("", False),
    ],
)
def test_evaluate_follows_json_logic_truthiness(rule: Any, expected: bool) -> None:
    assert conditions.evaluate(rule, DATA) is expected


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"nope": [1]}, "unknown operator `nope`"),
        ({"and": [True, {"fo": 1}]}, "at /and/1: unknown operator `fo`"),
        ({"==": [1]}, "`==` takes at least 2 arguments, not 1"),
        ({"==": [1, 2], "!=": [1, 2]}, "an object with 2 keys is not an operator call"),
        ({}, "An empty object is not a condition"),
    ],
)
def test_check_names_the_problem(rule: Any, message: str) -> None:
    with pytest.raises(ValueError, match=r"^(Invalid JSON-Logic|An empty)") as raised:
        conditions.check(rule)
    assert message in str(raised.value)


def test_check_accepts_a_valid_rule() -> None:
    conditions.check({"or": [{"!": {"var": "steps.inbox.read"}}, {"<": [{"var": "digest.count"}, 5]}]})


def test_evaluate_reports_a_rule_that_fails_on_the_data() -> None:
    with pytest.raises(ValueError, match="could not be evaluated"):
        conditions.evaluate({"throw": "boom"}, DATA)


def test_resolve_and_values_read_var_paths() -> None:
    assert conditions.resolve("payload.postId", DATA) == "p1"
    assert conditions.resolve("payload.absent", DATA) is None
    rule = {"and": [{"==": [{"var": "steps.inbox.read"}, False]}, {">": [{"var": "digest.count"}, 3]}]}
    assert conditions.values(rule, DATA) == {"steps.inbox.read": False, "digest.count": 12}


def test_datetimes_in_the_data_are_read_as_iso_8601() -> None:
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert conditions.resolve("payload.at", {"payload": {"at": moment}}) == "2026-03-29T01:30:00+00:00"
    assert conditions.evaluate(
        {"starts_with": [{"var": "payload.at"}, "2026-03"]}, {"payload": {"at": moment}}
    )
