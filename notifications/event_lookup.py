"""Which of some eventIds are stored already, and with which fingerprint: the API's
idempotency check against the Event table, from a thread or from an event loop.

One statement written out rather than compiled by the ORM on every request: compiling it
cost four times running it (in-process, docs/BENCHMARKS.md). On an event loop (the API's
fast path) with PostgreSQL, it runs on an asyncio psycopg connection of that loop instead
of in a worker thread: the hand-off to the thread and back cost more than the query
(``make bench``). Other databases (SQLite in ``make run``) take the thread.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import OperationalError, connection

from core.db import run_db
from core.per_loop import PerLoop
from notifications.models import Event


def _statement(count: int) -> str:
    table, column = Event._meta.db_table, Event._meta.get_field("event_id").column
    return f"SELECT {column}, fingerprint FROM {table} WHERE {column} IN ({', '.join(['%s'] * count)})"


def stored_fingerprints(event_ids: list[str]) -> dict[str, str]:
    """Fingerprints of the events among ``event_ids`` already in the database."""
    if not event_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_statement(len(event_ids)), event_ids)
        return dict(cursor.fetchall())


LOOKUP_APPLICATION_NAME = "relay-api-lookup"
# A connection whose loop is gone cannot be closed by awaiting: close its socket directly.
_connections: PerLoop[psycopg.AsyncConnection[Any]] = PerLoop(lambda conn: conn.pgconn.finish())


async def _loop_connection() -> psycopg.AsyncConnection[Any]:
    """This loop's connection to Django's database, made on first use (and after a failure)."""
    database = str(connection.settings_dict["NAME"])
    found = _connections.get(database)
    if found is None or found.closed:
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.setdefault("connect_timeout", 2)
        params.setdefault("application_name", LOOKUP_APPLICATION_NAME)
        found = _connections.set(database, await psycopg.AsyncConnection.connect(**params, autocommit=True))
    return found


async def _forget_loop_connection() -> None:
    found = _connections.pop(str(connection.settings_dict["NAME"]))
    if found is not None:
        await found.close()


async def stored_fingerprints_async(event_ids: list[str]) -> dict[str, str]:
    """``stored_fingerprints`` from an event loop. A connection the server dropped (restart,
    idle timeout) is replaced once; an outage is Django's ``OperationalError``, as it would
    be in a thread."""
    if not event_ids:
        return {}
    if connection.vendor != "postgresql":
        return await run_db(stored_fingerprints, event_ids)
    try:
        return await _lookup(event_ids)
    except psycopg.Error:
        await _forget_loop_connection()  # dropped by the server, perhaps: one fresh try
    try:
        return await _lookup(event_ids)
    except psycopg.Error as error:
        await _forget_loop_connection()
        raise OperationalError(str(error)) from error


async def _lookup(event_ids: list[str]) -> dict[str, str]:
    conn = await _loop_connection()
    async with conn.cursor() as cursor:
        await cursor.execute(_statement(len(event_ids)), event_ids)
        return dict(await cursor.fetchall())
