"""Writes of topics: create, add and remove members in bulk (a few queries per call)."""

from __future__ import annotations

from django.db import transaction

from notifications.models import Subscriber, Topic, TopicMembership


def upsert_topic(key: str, name: str | None) -> tuple[Topic, bool]:
    topic, created = Topic.objects.get_or_create(key=key, defaults={"name": name or ""})
    if not created and name is not None and topic.name != name:
        topic.name = name
        topic.save(update_fields=["name"])
    return topic, created


@transaction.atomic
def add_members(topic: Topic, user_ids: list[str]) -> int:
    """Add subscribers by user id, creating the ones not identified yet (as events do)."""
    Subscriber.objects.bulk_create([Subscriber(user_id=u) for u in user_ids], ignore_conflicts=True)
    ids = Subscriber.objects.filter(user_id__in=user_ids).values_list("pk", flat=True)
    before = topic.memberships.count()
    TopicMembership.objects.bulk_create(
        [TopicMembership(topic=topic, subscriber_id=sid) for sid in ids], ignore_conflicts=True
    )
    return topic.memberships.count() - before


def remove_members(topic: Topic, user_ids: list[str]) -> int:
    deleted, _ = topic.memberships.filter(subscriber__user_id__in=user_ids).delete()
    return deleted
