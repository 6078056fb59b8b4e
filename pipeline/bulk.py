"""Bulk writes cheaper than the ORM's, for the stages' hot paths: ``update_fields`` and
``insert_new``.

Django's ``bulk_update`` builds a ``CASE WHEN pk = ... THEN ...`` expression per row and per
field; for a batch of 200 deliveries and 7 fields that is 1,400 expressions to resolve and
compile, which ``make bench`` measured as the deliver stage's biggest cost. One prepared
``UPDATE ... WHERE pk = %s`` sent with ``executemany`` (pipelined by psycopg 3, in-process
for SQLite) writes the same rows for a fraction of the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import connections, router
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


def insert_new(model: type[M], objects: Sequence[M], unique: Sequence[str]) -> list[M]:
    """Insert the objects, skipping those whose ``unique`` fields match a row already there;
    set the primary key of each object inserted and return those, in the caller's transaction.

    ``bulk_create(ignore_conflicts=True)`` sets no primary keys, so every batch of a stage was
    read back with a second query; ``RETURNING`` gives the new rows' keys with the insert, and
    a stage reads back only what a replay had already written (make bench, docs/BENCHMARKS.md).
    PostgreSQL and SQLite 3.35+ both speak ``ON CONFLICT ... DO NOTHING RETURNING``.
    """
    if not objects:
        return []
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    keys = [meta.get_field(name) for name in unique]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    waiting = {tuple(getattr(obj, key.attname) for key in keys): obj for obj in objects}  # type: ignore[union-attr]
    created: list[M] = []
    for start in range(0, len(objects), INSERT_CHUNK):
        chunk = objects[start : start + INSERT_CHUNK]
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES {', '.join([row] * len(chunk))} "
            f"ON CONFLICT ({', '.join(quote(key.column) for key in keys)}) DO NOTHING "  # type: ignore[union-attr]
            f"RETURNING {quote(meta.pk.column)}, {', '.join(quote(key.column) for key in keys)}"  # type: ignore[union-attr]
        )
        params = [
            field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in chunk for field in fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for pk, *key in cursor.fetchall():
                obj = waiting[tuple(key)]
                obj.pk = pk
                obj._state.adding, obj._state.db = False, connection.alias
                created.append(obj)
    return created
