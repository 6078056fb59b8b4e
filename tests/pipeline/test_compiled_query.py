"""The stages' compiled reads return what the ORM returns, with one query and the ORM's SQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deliveries.models import Delivery
from notifications.models import Subscriber
from pipeline.compiled_query import CompiledQuery
from tests.factories import DeliveryFactory, SubscriberFactory

pytestmark = [pytest.mark.django_db]


def _run(query: CompiledQuery[Any], *lists: list[Any]) -> tuple[list[Any], list[dict[str, str]]]:
    with CaptureQueriesContext(connection) as captured:
        result = query.fetch(*lists)
    return result, captured.captured_queries


def test_same_shape_other_values_runs_the_orms_sql_with_the_new_values() -> None:
    deliveries = DeliveryFactory.create_batch(4)
    query = CompiledQuery(
        lambda ids: Delivery.objects.filter(pk__in=ids).select_related("notification__subscriber").order_by()
    )
    first_ids, second_ids = [deliveries[0].pk, deliveries[1].pk], [deliveries[3].pk, deliveries[2].pk]

    first, first_sql = _run(query, first_ids)
    second, second_sql = _run(query, second_ids)

    assert {d.pk for d in first} == set(first_ids)
    assert {d.pk for d in second} == set(second_ids)
    assert len(first_sql) == len(second_sql) == 1
    with CaptureQueriesContext(connection) as orm:
        list(Delivery.objects.filter(pk__in=second_ids).select_related("notification__subscriber").order_by())
    assert second_sql[0]["sql"] == orm.captured_queries[0]["sql"]
    # The related objects came with the row: reading them costs no query.
    with CaptureQueriesContext(connection) as more:
        subscribers = {d.notification.subscriber.user_id for d in second}
    assert len(more.captured_queries) == 0
    assert subscribers == {
        deliveries[3].notification.subscriber.user_id,
        deliveries[2].notification.subscriber.user_id,
    }


def test_values_lists_of_strings_and_two_lists() -> None:
    alice, bob, _ = (
        SubscriberFactory(user_id=u, timezone=tz)
        for u, tz in [("a", "UTC"), ("b", "Asia/Tokyo"), ("c", "UTC")]
    )
    query = CompiledQuery(
        lambda users, zones: (
            Subscriber.objects.filter(user_id__in=users, timezone__in=zones)
            .order_by()
            .values_list("user_id", "pk")
        )
    )

    assert dict(query.fetch(["a", "b"], ["UTC"])) == {"a": alice.pk}
    assert dict(query.fetch(["c", "b"], ["Asia/Tokyo"])) == {"b": bob.pk}
    assert dict(query.fetch(["a", "b"], ["UTC", "Asia/Tokyo"])) == {"a": alice.pk, "b": bob.pk}


def test_an_empty_list_asks_nothing() -> None:
    query = CompiledQuery(lambda ids: Subscriber.objects.filter(pk__in=ids))
    result, queries = _run(query, [])
    assert result == [] and queries == []


def test_a_builder_that_transforms_its_values_is_run_by_the_orm_every_time() -> None:
    SubscriberFactory(user_id="UPPER")
    query = CompiledQuery(
        lambda users: Subscriber.objects.filter(user_id__in=[u.upper() for u in users]).values_list(
            "user_id", flat=True
        )
    )
    assert query.fetch(["upper"]) == ["UPPER"]
    assert query.fetch(["other"]) == []
