"""Which of some eventIds are stored already, and with which fingerprint: the API's
idempotency check against the Event table.

One statement written out rather than compiled by the ORM on every request: compiling it
cost four times running it (in-process, docs/BENCHMARKS.md).
"""

from __future__ import annotations

from django.db import connection

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
