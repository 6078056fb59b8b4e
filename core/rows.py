"""Model instances from one written-out SELECT over joined tables: the stages' hot reads.

Compiling the same ``select_related`` queryset on every batch cost the route and deliver
stages more CPU than running it (``make bench``, docs/BENCHMARKS.md "Issue 15"). A
``JoinedRead`` writes its SQL once and builds instances the way Django's compiler does: each
column through the backend's and the field's converters, then ``Model.from_db``; the caller
attaches related objects through the relation descriptors. Works on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


@dataclass(frozen=True)
class Table:
    """A model in the read under an alias; ``optional`` for the right side of a LEFT JOIN;
    ``only`` to read just these fields (the others are deferred, as with ``.only()``)."""

    model: type[Model]
    alias: str
    optional: bool = False
    only: tuple[str, ...] = ()

    @cached_property
    def fields(self) -> list[Field[Any, Any]]:
        fields = self.model._meta.concrete_fields
        return [f for f in fields if f.name in self.only] if self.only else list(fields)

    def name(self, connection: BaseDatabaseWrapper) -> str:
        return f"{connection.ops.quote_name(self.model._meta.db_table)} {self.alias}"


class JoinedRead:
    """``SELECT <every concrete column of tables> FROM <from_sql> WHERE <key> IN (...) AND ...``.

    ``from_sql`` names the tables as ``{alias}`` placeholders, e.g.
    ``"{n} JOIN {e} ON e.id = n.event_id"``; ``keys`` are the columns matched, one list of
    values each.
    """

    def __init__(self, tables: Sequence[Table], from_sql: str, *keys: str) -> None:
        self.tables, self.from_sql, self.keys = list(tables), from_sql, keys
        self._by_vendor: dict[str, list[list[list[Converter]]]] = {}

    def fetch(self, *values: Collection[Any]) -> list[list[Model | None]]:
        """One list per row: an instance per table, in the tables' order (None for a missing
        optional one)."""
        if not all(values):
            return []
        model = self.tables[0].model
        connection = connections[router.db_for_read(model)]
        quote = connection.ops.quote_name
        columns = ", ".join(f"{t.alias}.{quote(f.column)}" for t in self.tables for f in t.fields)
        tables = {t.alias: t.name(connection) for t in self.tables}
        where = " AND ".join(
            f"{key} IN ({', '.join(['%s'] * len(these))})"
            for key, these in zip(self.keys, values, strict=True)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns} FROM {self.from_sql.format(**tables)} WHERE {where}",
                [value for these in values for value in these],
            )
            rows = cursor.fetchall()
        return [self._instances(row, connection) for row in rows]

    def _instances(self, row: Sequence[Any], connection: BaseDatabaseWrapper) -> list[Model | None]:
        instances: list[Model | None] = []
        start = 0
        for table, converters in zip(self.tables, self._converters(connection), strict=True):
            values = list(row[start : start + len(table.fields)])
            start += len(table.fields)
            if table.optional and values[0] is None:
                instances.append(None)
                continue
            for index, (field, field_converters) in enumerate(zip(table.fields, converters, strict=True)):
                for convert in field_converters:
                    values[index] = convert(values[index], field.cached_col, connection)
            instances.append(table.model.from_db(connection.alias, [f.attname for f in table.fields], values))
        return instances

    def _converters(self, connection: BaseDatabaseWrapper) -> list[list[list[Converter]]]:
        """Per table, per field: what Django's compiler would apply to the column's value."""
        if connection.vendor not in self._by_vendor:
            self._by_vendor[connection.vendor] = [
                [
                    [
                        *connection.ops.get_db_converters(field.cached_col),
                        *field.get_db_converters(connection),
                    ]
                    for field in table.fields
                ]
                for table in self.tables
            ]
        return self._by_vendor[connection.vendor]
