"""factory-boy factories for the models tests build directly."""

from __future__ import annotations

from typing import Any

import factory
from django.db import transaction
from django.utils import timezone

from deliveries.models import Delivery
from notifications.models import Device, Event, Notification, Subscriber, Topic


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber
        django_get_or_create = ("user_id",)

    user_id = factory.Sequence(lambda n: f"user_{n}")
    email = factory.LazyAttribute(lambda s: f"{s.user_id}@example.com")
    phone = factory.Sequence(lambda n: f"+1415555{n:04d}")
    timezone = "UTC"


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    subscriber = factory.SubFactory(SubscriberFactory)
    token = factory.Sequence(lambda n: f"device-token-{n}")
    platform = "android"


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic

    key = factory.Sequence(lambda n: f"topic-{n}")


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    event_id = factory.Sequence(lambda n: f"evt_factory_{n}")
    event_type = "account"
    user_id = "user_factory"
    channels = factory.LazyFunction(lambda: ["email"])
    fingerprint = factory.Sequence(lambda n: f"{n:064d}")
    accepted_at = factory.LazyFunction(timezone.now)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    event = factory.SubFactory(EventFactory)
    subscriber = factory.SubFactory(SubscriberFactory)


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A delivery of its own notification; ``created_at`` is set by the database (auto_now_add)."""

    class Meta:
        model = Delivery

    notification = factory.SubFactory(NotificationFactory)
    channel = "email"
    status = "sent"


class InboxMessageFactory(factory.django.DjangoModelFactory):
    """An in-app message as the inbox provider stores it, on its own sent in_app delivery."""

    class Meta:
        model = "realtime.InboxMessage"

    subscriber = factory.SubFactory(SubscriberFactory)
    delivery = factory.SubFactory(
        DeliveryFactory, channel="in_app", notification__subscriber=factory.SelfAttribute("...subscriber")
    )
    event_type = "comment.created"
    title = factory.Sequence(lambda n: f"Message {n}")
    body = "Someone replied to your comment."
    action_url = "https://example.com/comments/1"

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Any:
        """Stored with its counters, as the inbox provider stores a message."""
        from realtime import counters

        with transaction.atomic():
            message = super()._create(model_class, *args, **kwargs)
            counters.apply([(None, counters.counted_of(message))])
        return message
