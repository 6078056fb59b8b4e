"""Stage reads compiled by the ORM once per shape, then only executed.

Every batch of a stage runs the same few reads: the same filters and joins, only the ids
differ. For these the ORM spent as long turning the queryset into SQL as PostgreSQL spent
running it (``make bench``, docs/BENCHMARKS.md). Django has no public hook to reuse a
compiled query, so this module owns that small part: a ``CompiledQuery`` builds its queryset
once per *shape* (the length of each list argument) from stand-in values, compiles it, notes
where each stand-in landed among the SQL parameters, and from then on executes that SQL with
the real values in those places, through the queryset's own iterable (model instances with
their ``select_related`` objects, ``values()`` dicts or ``values_list()`` tuples alike).

The builder must depend on its list arguments only (no ``now()``, no settings), take lists of
ints or strs, and use no ``prefetch_related``. A query the stand-ins cannot be traced through
(a value that does not reach the parameters as it was given) is simply not cached.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.query import Query

T = TypeVar("T")
Value = int | str
_STAND_IN_BASE = -(2**62)  # far from any real key; stand-ins never reach the database


@dataclass(frozen=True)
class _Shape:
    queryset: QuerySet[Any, Any]
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int], ...]  # (index among the SQL parameters, index among the values)

    def run(self, values: Sequence[Value]) -> list[Any]:
        params = list(self.params)
        for param_index, value_index in self.slots:
            params[param_index] = values[value_index]
        compiler = copy.copy(self.compiler)  # per call: the connection is per thread
        compiler.connection = connections[self.queryset.db]
        compiler.as_sql = lambda *args, **kwargs: (self.sql, params)  # type: ignore[method-assign]
        queryset = QuerySet.__new__(type(self.queryset))
        queryset.__dict__ = {**self.queryset.__dict__, "_query": _Compiled(self.queryset.query, compiler)}
        return list(queryset._iterable_class(queryset))  # type: ignore[attr-defined]


class _Compiled:
    """The queryset's query, answering ``get_compiler`` with the compiled one."""

    def __init__(self, query: Query, compiler: SQLCompiler) -> None:
        self._query, self._compiler = query, compiler

    def get_compiler(self, *args: Any, **kwargs: Any) -> SQLCompiler:
        return self._compiler

    def __getattr__(self, name: str) -> Any:
        return getattr(self._query, name)


def _stand_in(value: Value, index: int) -> Value:
    return _STAND_IN_BASE - index if isinstance(value, int) else f"\x00relay-stand-in-{index}"


def _stand_ins(lists: Sequence[Sequence[Value]]) -> list[list[Value]]:
    counter = iter(range(sum(len(values) for values in lists)))
    return [[_stand_in(value, next(counter)) for value in values] for values in lists]


class CompiledQuery(Generic[T]):
    """``fetch(*lists)`` returns ``list(build(*lists))``, compiling once per shape."""

    def __init__(self, build: Callable[..., QuerySet[Any, T]]) -> None:
        self._build = build
        self._shapes: dict[tuple[int, ...], _Shape | None] = {}

    def fetch(self, *lists: Collection[Value]) -> list[T]:
        values = [list(v) for v in lists]
        if not all(values):  # an empty IN: the ORM answers without a query
            return list(self._build(*values))
        key = tuple(len(v) for v in values)
        if key not in self._shapes:
            self._shapes[key] = self._compile(values)
        shape = self._shapes[key]
        if shape is None:
            return list(self._build(*values))
        return shape.run([v for vs in values for v in vs])

    def _compile(self, lists: list[list[Value]]) -> _Shape | None:
        stand_ins = _stand_ins(lists)
        queryset = self._build(*stand_ins)
        if queryset._prefetch_related_lookups:  # type: ignore[attr-defined]
            return None
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        where = {v: i for i, v in enumerate(v for vs in stand_ins for v in vs)}
        slots = tuple(
            (p, where[param])
            for p, param in enumerate(params)
            if isinstance(param, int | str) and param in where
        )
        if sorted(i for _, i in slots) != list(range(len(where))):
            return None
        return _Shape(queryset, compiler, sql, tuple(params), slots)
