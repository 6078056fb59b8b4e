"""What PostgreSQL wrote per event over a phase: commits, rows, bytes stored, WAL.

The capacity model (docs/SCALING.md) needs the database's cost per event in the units a
database is sized in, not only its CPU. Counters from ``pg_stat_database`` and the size of the
run's database are its own (the run has a private database); WAL (``pg_stat_wal``) is one
stream for the whole server, so it also counts whatever else wrote at the same time and is an
upper bound on a shared machine.

A backend publishes its statistics when it goes idle, but no more than once a second; a
backend that was busy a moment ago holds them for up to ``PGSTAT_IDLE_INTERVAL`` (10 s in
PostgreSQL 15). Read sooner, a phase's rows show up in the next phase (measured: 0.1 rows per
event instead of ~5). So each snapshot first waits that long with the pipeline idle, which
is why the counters are opt-in (``--db-stats``). PostgreSQL only; on SQLite nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import psycopg

STATS_FLUSH_SECONDS = 11.0  # PGSTAT_IDLE_INTERVAL and a second

DATABASE_COUNTERS = """
    SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched,
           blks_read, blks_hit, pg_database_size(datname)
    FROM pg_stat_database WHERE datname = current_database()
"""
WAL_COUNTERS = "SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal"

FIELDS = (
    "commits",
    "rollbacks",
    "rows_inserted",
    "rows_updated",
    "rows_deleted",
    "rows_fetched",
    "blocks_read",
    "blocks_hit",
    "database_bytes",
    "wal_records",
    "wal_full_page_images",
    "wal_bytes",
)


def snapshot(database_url: str) -> dict[str, float]:
    """The counters now, or nothing when the run's database is not PostgreSQL."""
    if not database_url.startswith(("postgres://", "postgresql://")):
        return {}
    time.sleep(STATS_FLUSH_SECONDS)
    with psycopg.connect(database_url, autocommit=True) as conn:
        database = conn.execute(DATABASE_COUNTERS).fetchone()
        wal = conn.execute(WAL_COUNTERS).fetchone()
    if database is None or wal is None:
        return {}
    return {name: float(value) for name, value in zip(FIELDS, (*database, *wal), strict=True)}


def per_event(before: Mapping[str, float], after: Mapping[str, float], events: int) -> dict[str, float]:
    """Each counter's growth divided by the events of the phase."""
    if events <= 0 or not before or not after:
        return {}
    return {name: round((after[name] - before[name]) / events, 2) for name in FIELDS}
