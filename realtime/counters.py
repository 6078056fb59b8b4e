"""Per-subscriber inbox counters: the only code that writes ``InboxCounter``.

A message is *counted* while it is in the inbox (neither archived nor snoozed; a deleted one
does not exist). Each subscriber has one row per dimension value: ``all`` (value ""), each
``tag``, each event ``type`` and each ``priority``, with ``total``, ``unread`` and ``unseen``.
Every writer of messages describes what it did as ``(before, after)`` pairs of ``Counted``
facts and calls ``apply`` in its own transaction: the deltas are summed and written in one
upsert, so a count is always one indexed row read and never an aggregate over the inbox,
however many messages the subscriber keeps. ``repair`` recomputes them from the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from realtime.models import IN_INBOX, PRIORITIES, InboxCounter, InboxMessage

COUNT_KEYS = ("totalCount", "unreadCount", "unseenCount")
DIMENSIONS = ("all", "tag", "type", "priority")
# Counter rows per upsert statement (six parameters each).
UPSERT_CHUNK = 1000

Key = tuple[int, str, str]  # (subscriber_id, dimension, value)
Vector = list[int]  # [total, unread, unseen]


@dataclass(frozen=True)
class Counted:
    """The facts of one message that the counters depend on."""

    subscriber_id: int
    counted: bool
    unread: bool
    unseen: bool
    tags: tuple[str, ...] = ()
    event_type: str = ""
    priority: str = "normal"

    def counter_keys(self) -> list[tuple[str, str]]:
        return [
            ("all", ""),
            *(("tag", tag) for tag in dict.fromkeys(self.tags)),
            ("type", self.event_type),
            ("priority", self.priority),
        ]


def counted_of(message: InboxMessage) -> Counted:
    return Counted(
        subscriber_id=message.subscriber_id,
        counted=message.archived_at is None and message.snoozed_until is None,
        unread=message.read_at is None,
        unseen=message.seen_at is None,
        tags=tuple(message.tags or ()),
        event_type=message.event_type,
        priority=message.priority,
    )


# The fields ``counted_of`` reads: what a writer must load (``.only()``) before a change.
COUNTED_FIELDS = (
    "id",
    "subscriber",
    "archived_at",
    "snoozed_until",
    "read_at",
    "seen_at",
    "tags",
    "event_type",
    "priority",
)


def deltas(changes: Iterable[tuple[Counted | None, Counted | None]]) -> dict[Key, Vector]:
    """The summed change of every counter the pairs touch, zero sums left out."""
    sums: dict[Key, Vector] = defaultdict(lambda: [0, 0, 0])
    for before, after in changes:
        for sign, facts in ((-1, before), (1, after)):
            if facts is None or not facts.counted:
                continue
            vector = (sign, sign * facts.unread, sign * facts.unseen)
            for dimension, value in facts.counter_keys():
                summed = sums[(facts.subscriber_id, dimension, value)]
                for i in range(3):
                    summed[i] += vector[i]
    return {key: vector for key, vector in sums.items() if any(vector)}


def apply(changes: Iterable[tuple[Counted | None, Counted | None]]) -> None:
    """Add the changes' deltas to the counters, in the caller's transaction (call it in the
    transaction that changed the messages). Keys go in sorted order, so two writers lock
    the same counter rows in the same order and cannot deadlock."""
    summed = deltas(changes)
    if summed:
        _upsert(sorted(summed.items()), add=True)


def _upsert(rows: Sequence[tuple[Key, Sequence[int]]], *, add: bool) -> None:
    """One ``INSERT ... ON CONFLICT DO UPDATE`` per chunk: adds the vectors (``add``) or sets them."""
    quote = connection.ops.quote_name
    table = quote(InboxCounter._meta.db_table)
    subscriber = quote(InboxCounter._meta.get_field("subscriber").column)
    counts = ("total", "unread", "unseen")
    assignments = ", ".join(
        f"{c} = {table}.{c} + excluded.{c}" if add else f"{c} = excluded.{c}" for c in counts
    )
    head = f"INSERT INTO {table} ({subscriber}, dimension, value, total, unread, unseen) VALUES "
    tail = f" ON CONFLICT ({subscriber}, dimension, value) DO UPDATE SET {assignments}"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPSERT_CHUNK):
            chunk = rows[start : start + UPSERT_CHUNK]
            params = [p for (key, vector) in chunk for p in (*key, *vector)]
            cursor.execute(head + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk)) + tail, params)


# --- reads -------------------------------------------------------------------------------


def _empty_counts() -> dict[str, Any]:
    return {
        "unreadCount": 0,
        "unseenCount": 0,
        "totalCount": 0,
        "unreadByPriority": dict.fromkeys(PRIORITIES, 0),
    }


def counts_for_many(subscriber_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Unread, unseen and total counts and unread by priority of many subscribers: one
    statement over at most five counter rows each (the in-app worker's batch)."""
    result = {sid: _empty_counts() for sid in subscriber_ids}
    if not subscriber_ids:
        return result
    quote = connection.ops.quote_name
    subscriber = quote(InboxCounter._meta.get_field("subscriber").column)
    sql = (
        f"SELECT {subscriber}, dimension, value, total, unread, unseen "
        f"FROM {quote(InboxCounter._meta.db_table)} "
        f"WHERE {subscriber} IN ({', '.join(['%s'] * len(subscriber_ids))}) "
        "AND dimension IN ('all', 'priority')"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(subscriber_ids))
        for sid, dimension, value, total, unread, unseen in cursor.fetchall():
            counts = result[sid]
            if dimension == "all":
                counts.update(totalCount=int(total), unreadCount=int(unread), unseenCount=int(unseen))
            else:
                counts["unreadByPriority"][value] = int(unread)
    return result


def counts(subscriber_id: int) -> dict[str, Any]:
    return counts_for_many([subscriber_id])[subscriber_id]


@dataclass(frozen=True)
class TabFilter:
    """What a tab counts: the messages whose ``dimension`` has one of ``values``.

    Written ``all``, ``tag=<tag>``, ``type=<eventType>[|<eventType>...]`` or
    ``priority=<priority>[|<priority>...]``. Event types and priorities are one per message,
    so their counts add up; a message may carry several tags, so a tag tab names one tag.
    """

    dimension: str
    values: tuple[str, ...] = ("",)


def parse_tab_filter(text: str) -> TabFilter:
    """The filter of one tab, or ValueError saying what is wrong with it."""
    if text == "all":
        return TabFilter("all")
    name, equals, raw = text.partition("=")
    if not equals or name not in ("tag", "type", "priority"):
        raise ValueError(
            f"{text!r}: use all, tag=<tag>, type=<eventType>[|...] or priority=<priority>[|...]."
        )
    values = tuple(dict.fromkeys(raw.split("|")))
    if not all(values):
        raise ValueError(f"{text!r}: a value is empty.")
    if name == "tag" and len(values) > 1:
        raise ValueError(f"{text!r}: a tag tab names one tag (a message may carry several).")
    if name == "priority" and (wrong := [v for v in values if v not in PRIORITIES]):
        raise ValueError(f"{text!r}: unknown priority {wrong[0]!r} (one of {', '.join(PRIORITIES)}).")
    return TabFilter(name, values)


def tab_counts(subscriber_id: int, tabs: dict[str, TabFilter]) -> dict[str, dict[str, int]]:
    """Counts of each named tab, from the counter rows the tabs name (one query)."""
    wanted = {(tab.dimension, value) for tab in tabs.values() for value in tab.values}
    rows: dict[tuple[str, str], tuple[int, int, int]] = {}
    if wanted:
        quote = connection.ops.quote_name
        subscriber = quote(InboxCounter._meta.get_field("subscriber").column)
        pairs = ", ".join(["(%s, %s)"] * len(wanted))
        sql = (
            f"SELECT dimension, value, total, unread, unseen FROM {quote(InboxCounter._meta.db_table)} "
            f"WHERE {subscriber} = %s AND (dimension, value) IN ({pairs})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [subscriber_id, *(p for pair in sorted(wanted) for p in pair)])
            rows = {(d, v): (int(t), int(r), int(s)) for d, v, t, r, s in cursor.fetchall()}
    result = {}
    for name, tab in tabs.items():
        vectors = [rows.get((tab.dimension, value), (0, 0, 0)) for value in tab.values]
        result[name] = dict(
            zip(COUNT_KEYS, (sum(column) for column in zip(*vectors, strict=True)), strict=True)
        )
    return result


# --- repair ------------------------------------------------------------------------------


@dataclass
class Drift:
    subscriber_id: int
    dimension: str
    value: str
    stored: tuple[int, int, int]  # (total, unread, unseen)
    actual: tuple[int, int, int]


@dataclass
class RepairReport:
    subscribers: int = 0
    drift: list[Drift] = field(default_factory=list)


def expected_counters(subscriber_id: int) -> dict[tuple[str, str], tuple[int, int, int]]:
    """The counters recomputed from the subscriber's rows (the slow way ``apply`` avoids)."""
    sums = deltas(
        (
            None,
            Counted(
                subscriber_id, True, read_at is None, seen_at is None, tuple(tags or ()), event_type, priority
            ),
        )
        for tags, event_type, priority, read_at, seen_at in InboxMessage.objects.filter(
            IN_INBOX, subscriber_id=subscriber_id
        )
        .values_list("tags", "event_type", "priority", "read_at", "seen_at")
        .iterator(chunk_size=5000)
    )
    return {(dimension, value): (v[0], v[1], v[2]) for (_, dimension, value), v in sums.items()}


def repair_one(subscriber_id: int) -> list[Drift]:
    """Recompute one subscriber's counters and set them; report the rows that differed.

    The subscriber's ``all`` counter row is locked first: a writer that changed a message but
    has not yet applied its delta waits for this transaction and then adds its delta to the
    repaired value, which does not include its change yet; a writer that applied before
    this lock committed its message too, which the recount then sees.
    """
    with transaction.atomic():
        _upsert([((subscriber_id, "all", ""), (0, 0, 0))], add=True)
        stored = {
            (d, v): (t, r, s)
            for d, v, t, r, s in InboxCounter.objects.select_for_update()
            .filter(subscriber_id=subscriber_id)
            .values_list("dimension", "value", "total", "unread", "unseen")
        }
        actual = expected_counters(subscriber_id)
        drift = [
            Drift(subscriber_id, d, v, stored.get((d, v), (0, 0, 0)), actual.get((d, v), (0, 0, 0)))
            for d, v in sorted(stored.keys() | actual.keys())
            if stored.get((d, v), (0, 0, 0)) != actual.get((d, v), (0, 0, 0))
        ]
        if drift:
            _upsert([((subscriber_id, d.dimension, d.value), d.actual) for d in drift], add=False)
        InboxCounter.objects.filter(subscriber_id=subscriber_id, total=0, unread=0, unseen=0).exclude(
            dimension="all"
        ).delete()
    return drift


def repair(subscriber_ids: Iterable[int] | None = None) -> RepairReport:
    """Recompute the counters of these subscribers (every one with messages or counters when
    None) from the rows, fix any that drifted and report them."""
    if subscriber_ids is None:
        subscriber_ids = sorted(
            set(InboxMessage.objects.values_list("subscriber_id", flat=True).distinct())
            | set(InboxCounter.objects.values_list("subscriber_id", flat=True).distinct())
        )
    report = RepairReport()
    for subscriber_id in subscriber_ids:
        report.subscribers += 1
        report.drift.extend(repair_one(subscriber_id))
    return report
