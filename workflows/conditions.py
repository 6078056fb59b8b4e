"""Step conditions: JSON-Logic rules, checked when a workflow is published and evaluated by the engine.

One evaluator for everyone (definitions, the engine, dry runs), so a rule means the same thing
wherever it runs. It is ``datalogic-py``: the Python binding of datalogic-rs, maintained (monthly
releases), typed, run against the official JsonLogic test suite, and the only candidate that can
check a rule *before* it runs (unknown operators, wrong argument counts, each located by a JSON
pointer), which is what a publish-time validation needs. The older pure-Python packages
(json-logic, json-logic-qubit, panzi-json-logic) have had no release for years.

Rules and data cross into the engine as JSON text: the binding reads a Python ``str`` as JSON,
so a rule that is a bare string would otherwise be misread.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import datalogic_py

_engine = datalogic_py.Engine()


def _plain(value: Any) -> str:
    """A value JSON has no type for: datetimes as ISO 8601 (what date operators read), else its str."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _text(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False, default=_plain)
    except ValueError as error:  # NaN or infinity: not JSON
        raise ValueError(f"Not JSON: {error}.") from None


def check(rule: Any) -> None:
    """Raise ``ValueError`` naming every problem of ``rule`` (an invalid JSON-Logic expression)."""
    if isinstance(rule, dict) and not rule:
        raise ValueError("An empty object is not a condition; give a JSON-Logic expression.")
    problems = [
        (f"at {item['pointer']}: " if item["pointer"] else "") + item["message"]
        for item in _engine.check(_text(rule))
        if item["severity"] == "error"
    ]
    if problems:
        text = "; ".join(problems)
        raise ValueError(f"Invalid JSON-Logic: {text}" + ("" if text.endswith((".", "?", "!")) else "."))


@lru_cache(maxsize=1024)
def _compiled(rule_text: str) -> datalogic_py.Rule:
    """Compiled once per distinct rule: a workflow's conditions are evaluated for every run."""
    return _engine.compile(rule_text)


def evaluate(rule: Any, data: dict[str, Any]) -> bool:
    """Whether ``rule`` holds for ``data`` (JSON-Logic truthiness: 0, "", [], null, false are false).

    ``data`` is ``{"payload", "subscriber", "steps": {id: {"status", "seen", "read"}}, "digest"}``;
    values that are not JSON are read as text (datetimes in ISO 8601). Raises ``ValueError`` when the
    rule fails on this data (e.g. arithmetic on text) or is invalid.
    """
    try:
        return bool(_compiled(_text({"!!": [rule]})).evaluate(_text(data)))
    except datalogic_py.DataLogicError as error:
        raise ValueError(f"The condition could not be evaluated: {error}.") from None


def resolve(path: str, data: dict[str, Any]) -> Any:
    """The value at a ``var`` path such as ``payload.postId`` (None when absent), read as a rule would."""
    return _compiled(_text({"var": path})).evaluate(_text(data))


def values(rule: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Each ``var`` path the rule reads and its value in ``data``: what a skipped step records."""
    reads = _compiled(_text(rule)).facts()["reads"]
    return {".".join(parts): resolve(".".join(parts), data) for parts in reads}
