"""Bulk writes cheaper than the ORM's, for the stages' hot paths: ``update_fields`` and
``insert_new``.

Django's ``bulk_update`` builds a ``CASE WHEN pk = ... THEN ...`` expression per row and per
field; for a batch of 200 deliveries and 7 fields that is 1,400 expressions to resolve and
compile, which ``make bench`` measured as the deliver stage's biggest cost. One prepared
``UPDATE ... WHERE pk = %s`` sent with ``executemany`` (pipelined by psycopg 3, in-process
for SQLite) writes the same rows for a fraction of the CPU.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

M = TypeVar("M", bound=Model)
# Rows per INSERT: far below the parameter limits of PostgreSQL (65,535) and SQLite (32,766).
INSERT_CHUNK = 1000


def update_fields(model: type[Model], objects: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of each object to its row, in the caller's transaction if any."""
    if not objects:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)  # type: ignore[union-attr]
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # type: ignore[union-attr]
    rows = [
        [column.get_db_prep_save(getattr(obj, column.attname), connection) for column in columns]  # type: ignore[union-attr]
        + [obj.pk]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def lock_rows(model: type[Model], ids: Sequence[int], fields: Sequence[str]) -> list[tuple[Any, ...]]:
    """``(pk, *fields)`` of the rows with these keys, locked ``FOR UPDATE`` (where the database
    has it) until the caller's transaction ends, in key order so that two lockers cannot
    deadlock. Plain columns only: the values come back as the driver gives them.

    One written-out statement: compiling the same ``select_for_update().values_list()`` on
    every batch cost the deliver stage more than running it (``make bench``).
    """
    if not ids:
        return []
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    pk = quote(meta.pk.column)  # type: ignore[union-attr]
    columns = ", ".join([pk, *(quote(meta.get_field(name).column) for name in fields)])  # type: ignore[union-attr]
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    placeholders = ", ".join(["%s"] * len(ids))
    sql = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {pk} IN ({placeholders}) ORDER BY {pk}{lock}"
    with connection.cursor() as cursor:
        cursor.execute(sql, list(ids))
        return list(cursor.fetchall())


def insert_all(model: type[M], objects: Sequence[M]) -> None:
    """Insert rows nobody reads back (the attempt log), in the caller's transaction.

    ``bulk_create`` compiles an ``InsertQuery`` per call, which cost the deliver stage more
    than the insert itself.
    """
    for connection, sql, params in _inserts(model, objects, tail=""):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def insert_new(model: type[M], objects: Sequence[M], unique: Sequence[str]) -> list[M]:
    """Insert the objects, skipping those whose ``unique`` fields match a row already there;
    set the primary key of each object inserted and return those, in the caller's transaction.

    ``bulk_create(ignore_conflicts=True)`` sets no primary keys, so every batch of a stage was
    read back with a second query; ``RETURNING`` gives the new rows' keys with the insert, and
    a stage reads back only what a replay had already written (make bench, docs/BENCHMARKS.md).
    PostgreSQL and SQLite 3.35+ both speak ``ON CONFLICT ... DO NOTHING RETURNING``.
    """
    meta = model._meta
    quote = connections[router.db_for_write(model)].ops.quote_name
    keys = [meta.get_field(name) for name in unique]
    columns = ", ".join(quote(key.column) for key in keys)  # type: ignore[union-attr]
    tail = f" ON CONFLICT ({columns}) DO NOTHING RETURNING {quote(meta.pk.column)}, {columns}"  # type: ignore[union-attr]
    waiting = {tuple(getattr(obj, key.attname) for key in keys): obj for obj in objects}  # type: ignore[union-attr]
    created: list[M] = []
    for connection, sql, params in _inserts(model, objects, tail):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for pk, *key in cursor.fetchall():
                obj = waiting[tuple(key)]
                obj.pk = pk
                obj._state.adding, obj._state.db = False, connection.alias
                created.append(obj)
    return created


def _inserts(
    model: type[M], objects: Sequence[M], tail: str
) -> Iterator[tuple[BaseDatabaseWrapper, str, list[Any]]]:
    """One multi-row ``INSERT`` (plus ``tail``) per chunk of ``objects``, with its parameters."""
    if not objects:
        return
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    for start in range(0, len(objects), INSERT_CHUNK):
        chunk = objects[start : start + INSERT_CHUNK]
        params = [
            field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in chunk for field in fields
        ]
        yield connection, head + ", ".join([row] * len(chunk)) + tail, params
