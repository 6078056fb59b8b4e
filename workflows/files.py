"""Workflows as YAML or JSON files, for version control (``import_workflows``/``export_workflows``).

A file holds one workflow ``{"key", "name", "steps"}`` or a list of them. Import checks every
file before it writes anything, and publishes only what changed: importing the same files
again creates no version. Export writes durations as "10m"/"1h", which import reads back, so
export then import round-trips.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from core.imports import ImportRefused, ImportReport
from workflows import selectors, services
from workflows.definitions import DefinitionError, normalize, readable, workflow_key
from workflows.models import Workflow

SUFFIXES = (".yaml", ".yml", ".json")


class _Loader(yaml.SafeLoader):
    """YAML without YAML 1.1's base-60 integers, which would read ``at: 9:30`` as 570."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:int"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


def load_text(text: str) -> Any:
    """Parse YAML or JSON (JSON is YAML); ``ValueError`` with the line for malformed text."""
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as error:
        raise ValueError(f"Not valid YAML or JSON: {error}") from None


def dump_yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False)


class WorkflowImport(ImportReport[tuple[str, int]]):
    """``(key, version)`` of each workflow, by what the import did with it."""

    def lines(self) -> list[str]:
        """``key: outcome vN`` by key."""
        outcomes = {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}
        found = [
            (key, f"{key}: {outcome} v{version}")
            for outcome, items in outcomes.items()
            for key, version in items
        ]
        return [line for _, line in sorted(found)]


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                child for child in path.rglob("*") if child.suffix in SUFFIXES and child.is_file()
            )
        else:
            found.append(path)
    return found


def _read(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """The ``(key, body)`` pairs of one file, or the problems that name the file."""
    try:
        content = load_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return [], [f"{path}: {error}"]
    items = content if isinstance(content, list) else [content]
    found, problems = [], []
    for position, item in enumerate(items, start=1):
        where = f"{path}" + (f" (workflow {position})" if isinstance(content, list) else "")
        if not isinstance(item, dict):
            problems.append(f'{where}: a workflow is an object {{"key", "name", "steps"}}.')
            continue
        body = dict(item)
        key = body.pop("key", None)
        try:
            workflow_key(key)
            normalize(body)
        except DefinitionError as error:
            problems += [f"{where} {key}: {line}" for line in error.lines()]
            continue
        except ValueError as error:
            problems.append(f"{where}: key: {error}")
            continue
        found.append((key, body))
    return found, problems


def import_workflows(paths: list[Path]) -> WorkflowImport:
    """Publish the workflows of ``paths`` (files or directories); all or nothing."""
    files = _files(paths)
    if not files:
        raise ImportRefused([f"No {', '.join(SUFFIXES)} files in {', '.join(map(str, paths))}."])
    definitions: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for path in files:
        found, file_problems = _read(path)
        problems += file_problems
        for key, body in found:
            if key in definitions:
                problems.append(f"{path}: {key} is defined twice.")
            definitions[key] = body
    if problems:
        raise ImportRefused(problems)
    report = WorkflowImport()
    with transaction.atomic():
        for key, body in definitions.items():
            version, outcome = services.publish_changes(key, body)
            getattr(report, outcome).append((key, version.version))
    return report


def exported(workflow: Workflow) -> dict[str, Any]:
    """A workflow as a file holds it."""
    assert workflow.current is not None
    return {"key": workflow.key, "name": workflow.current.name, "steps": readable(workflow.current.steps)}


def export_workflows(file_format: str, directory: Path | None) -> str:
    """Every published workflow: one ``<key>.<format>`` file each under ``directory``, or, without
    one, a list of them as text (for stdout). Returns that text, or the files' names."""
    workflows = [exported(workflow) for workflow in selectors.published_workflows()]

    def dump(value: Any) -> str:
        return json.dumps(value, indent=2) + "\n" if file_format == "json" else dump_yaml(value)

    if directory is None:
        return dump(workflows)
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for workflow in workflows:
        path = directory / f"{workflow['key']}.{file_format}"
        path.write_text(dump(workflow), encoding="utf-8")
        names.append(str(path))
    return "\n".join(names) + ("\n" if names else "")
