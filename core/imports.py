"""What the file imports of the apps (templates, workflows) share: all or nothing, and a report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


class ImportRefused(Exception):
    """Some file is unreadable or invalid; nothing was imported."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportReport(Generic[T]):
    """What an import did with each item it read."""

    created: list[T] = field(default_factory=list)
    updated: list[T] = field(default_factory=list)
    unchanged: list[T] = field(default_factory=list)
