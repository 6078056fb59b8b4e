"""The ``digest`` step through the real pipeline: keys, what later steps and templates see,
``flushLeading``, ``lookback``, and a cancelled owner's window taken over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from realtime.models import InboxMessage
from templates_admin.models import NotificationTemplate
from tests.conftest import wait_until
from tests.workflows.support import ended, post_event, publish, run_of, subscriber
from workflows.models import DigestWindow

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]
LISTING = "{{ digest.count }} comments by {{ digest.actors|join:', ' }}"
LINES = "{% for event in digest.events %}{{ event.comment }};{% endfor %}"


@sync_to_async
def inbox_of(user_id: str) -> list[tuple[str, str]]:
    messages = InboxMessage.objects.filter(subscriber__user_id=user_id).order_by("pk")
    return list(messages.values_list("title", "body"))


@sync_to_async
def listing_template(event_type: str) -> None:
    NotificationTemplate.objects.create(
        event_type=event_type, channel="in_app", locale="en", subject=LISTING, text_body=LINES
    )


def comment(event_body: EventBody, event_type: str, user_id: str, **data: Any) -> dict[str, Any]:
    return event_body(eventType=event_type, userId=user_id, channels=["in_app"], data=data)


async def test_one_digest_per_key_and_templates_see_count_events_and_actors(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    await publish(
        "digest.keys",
        [
            {"id": "collect", "type": "digest", "config": {"window": 5, "key": "payload.postId", "keep": 1}},
            {
                "id": "inbox",
                "type": "send",
                "config": {"channel": "in_app"},
                "if": {">": [{"var": "digest.count"}, 0]},
            },
        ],
    )
    await listing_template("digest.keys")
    await subscriber("digest-keys")
    bodies = [
        comment(event_body, "digest.keys", "digest-keys", postId=post, actor=actor, comment=text)
        for post, actor, text in [
            ("a", "ann", "a1"),
            ("b", "bob", "b1"),
            ("a", "bob", "a2"),
            ("a", "ann", "a3"),
        ]
    ]
    for body in bodies:
        await post_event(api, body)
    runs = [
        await wait_until(ended(body["eventId"], status), timeout=30)
        for body, status in zip(bodies, ["completed", "completed", "digested", "digested"], strict=True)
    ]
    assert runs[0].context["digest"] == {
        "count": 3,
        "events": [bodies[0]["data"], bodies[3]["data"]],  # keep 1: the first and the last
        "actors": ["ann", "bob"],
    }
    assert runs[1].context["digest"]["count"] == 1
    assert runs[2].states["collect"].values["window"] == runs[0].states["collect"].values["window"]
    assert runs[2].states["inbox"].status == "skipped"
    assert await wait_until(lambda: _two(inbox_of("digest-keys"))) == [
        ("1 comments by bob", "b1;"),
        ("3 comments by ann, bob", "a1;a3;"),
    ]


async def _two(messages: Any) -> Any:
    found = await messages
    return sorted(found) if len(found) == 2 else None


async def test_flush_leading_sends_the_first_event_at_once_and_digests_the_rest(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    config = {"window": 5, "flushLeading": True}
    await publish("digest.leading", [{"id": "collect", "type": "digest", "config": config}])
    await subscriber("digest-leading")
    bodies = [comment(event_body, "digest.leading", "digest-leading", n=n) for n in range(3)]
    await post_event(api, bodies[0])
    first = await wait_until(ended(bodies[0]["eventId"]))
    assert (first.states["collect"].reason, first.context["digest"]["count"]) == ("leading", 1)
    for body in bodies[1:]:
        await post_event(api, body)
    owner = await wait_until(ended(bodies[1]["eventId"]), timeout=30)
    assert owner.context["digest"]["count"] == 2
    assert owner.context["digest"]["events"] == [bodies[1]["data"], bodies[2]["data"]]
    assert (await run_of(bodies[2]["eventId"])).status == "digested"


async def test_lookback_sends_at_once_when_nothing_came_before_then_digests(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    config = {"window": 2, "lookback": 60}
    await publish("digest.lookback", [{"id": "collect", "type": "digest", "config": config}])
    await subscriber("digest-lookback")
    bodies = [comment(event_body, "digest.lookback", "digest-lookback", n=n) for n in range(3)]
    await post_event(api, bodies[0])
    quiet = await wait_until(ended(bodies[0]["eventId"]))
    assert (quiet.states["collect"].reason, quiet.context["digest"]["count"]) == ("leading", 1)
    await post_event(api, bodies[1])
    digest = await wait_until(ended(bodies[1]["eventId"]), timeout=30)
    assert (digest.states["collect"].reason, digest.context["digest"]["count"]) == ("window_closed", 1)
    # The next event had one just before it: it is digested (it waits for its window), not
    # sent at once.
    await post_event(api, bodies[2])
    later = await wait_until(ended(bodies[2]["eventId"]), timeout=30)
    assert (later.states["collect"].reason, later.context["digest"]["count"]) == ("window_closed", 1)


async def test_a_cancelled_owner_hands_its_window_to_the_next_event(
    workflow_pipeline: None, api: APIClient, event_body: EventBody
) -> None:
    # A long window closed by maxItems: nothing here depends on how fast the machine is.
    config = {"window": "1h", "maxItems": 3}
    await publish("digest.cancel", [{"id": "collect", "type": "digest", "config": config}])
    await subscriber("digest-cancel")
    owner = comment(event_body, "digest.cancel", "digest-cancel", n=0) | {"cancellationKey": "gone"}
    joiner, late = (comment(event_body, "digest.cancel", "digest-cancel", n=n) for n in (1, 2))
    await post_event(api, owner)
    await wait_until(ended(owner["eventId"], "waiting"))
    await post_event(api, joiner)
    await wait_until(ended(joiner["eventId"], "digested"))
    response = await sync_to_async(api.post)(
        "/api/workflows/cancel", {"cancellationKey": "gone"}, format="json"
    )
    assert response.status_code == 200 and response.json() == {"cancelled": 1}
    await post_event(api, late)
    carrier = await wait_until(ended(late["eventId"]), timeout=30)
    # The events joined so far are carried by the next one; the cancelled owner's is left out.
    assert carrier.context["digest"]["events"] == [joiner["data"], late["data"]]
    assert await sync_to_async(DigestWindow.objects.filter(status="open").count)() == 0
