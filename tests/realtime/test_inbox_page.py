"""The page at / in a real Chromium: live badge and list, mark read, two tabs in sync, the
preference center switching a channel off for the next event; snooze (gone, and back live when
due), action buttons, view tabs with counts, multi-select with bulk actions."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from playwright.async_api import Browser, Page, async_playwright, expect

from deliveries.models import Delivery
from notifications.models import ApiKey
from realtime.models import InboxMessage
from templates_admin.catalog import catalog
from templates_admin.models import NotificationTemplate

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.environ.get("CI", "") != "true",
        reason="Debian's chromium is not installed (.ci/run installs it)",
    ),
]

expect.set_options(timeout=20_000)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
def demo_mode(settings: Any) -> None:
    settings.RELAY_DEMO = True


async def open_inbox(browser: Browser, server: str, timezone_id: str | None = None) -> Page:
    page = await (await browser.new_context(timezone_id=timezone_id)).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"http://{server}/")
    await expect(page.locator("#session-status")).to_contain_text("live")
    assert errors == []
    return page


async def send_event(server: str, body: dict[str, Any]) -> None:
    _, key = await sync_to_async(ApiKey.issue)("browser-test")
    async with httpx.AsyncClient(base_url=f"http://{server}") as http:
        response = await http.post("/api/events", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 202, response.text


@sync_to_async
def in_app_delivery(event_id: str) -> tuple[str, str]:
    delivery = Delivery.objects.get(notification__event__event_id=event_id, channel="in_app")
    return delivery.status, delivery.reason


async def test_live_inbox_marks_read_syncs_tabs_and_honours_the_preference_center(
    demo_mode: None,
    pipeline: None,
    asgi_server: str,
    browser: Browser,
    event_body: Callable[..., dict[str, Any]],
) -> None:
    tab1 = await open_inbox(browser, asgi_server)
    tab2 = await open_inbox(browser, asgi_server)
    for tab in (tab1, tab2):
        await expect(tab.locator("#badge")).to_be_hidden()

    # An event submitted through the API appears in both tabs without a reload.
    await send_event(
        asgi_server,
        event_body(
            userId="demo-user",
            eventType="comment.created",
            channels=["in_app"],
            data={"title": "Ada replied", "body": "Ship it!", "actionUrl": "https://example.com/c/1"},
        ),
    )
    for tab in (tab1, tab2):
        await expect(tab.locator("#badge")).to_have_text("1")
        await expect(tab.locator("#bell")).to_have_attribute("aria-label", "Notifications, 1 unread")
        await expect(tab.locator("#announcer")).to_have_text("New notification: Ada replied")

    # Open the bell with the keyboard and mark the message read: the badge drops in both tabs.
    await tab1.locator("#bell").focus()
    await tab1.keyboard.press("Enter")
    await expect(tab1.locator("#inbox-panel")).to_be_visible()
    message = tab1.locator("#messages li", has_text="Ada replied")
    await expect(message).to_have_class("message unread")
    await message.get_by_role("button", name="Mark as read").click()
    await expect(message).to_have_class("message")
    for tab in (tab1, tab2):
        await expect(tab.locator("#badge")).to_be_hidden()
    await tab1.keyboard.press("Escape")
    await expect(tab1.locator("#inbox-panel")).to_be_hidden()
    await expect(tab1.locator("#bell")).to_be_focused()
    await tab2.locator("#bell").click()
    await expect(tab2.locator("#messages li", has_text="Ada replied")).to_have_class("message")

    # The demo form sends a sample event for this subscriber; it arrives like any other.
    await tab1.locator("#demo-event-type").select_option("order.shipped")
    await tab1.locator("#demo-title").fill("Your order shipped")
    await tab1.locator("#demo-form button[type=submit]").click()
    await expect(tab1.locator("#demo-result")).to_contain_text("in_app: sent")
    await expect(tab2.locator("#badge")).to_have_text("1")

    # Switch in-app off for comment.created in the preference center: the next such event is
    # suppressed for that channel, and neither tab's badge moves.
    switch = tab1.get_by_role("switch", name="In-app for comment.created")
    await expect(switch).to_be_checked()
    await switch.click()
    await expect(tab1.locator("#prefs-result")).to_have_text("Saved: In-app for comment.created off.")
    await tab1.get_by_label("From").fill("22:00")
    await tab1.get_by_label("Until").fill("07:00")
    await tab1.get_by_role("button", name="Save quiet hours").click()
    await expect(tab1.locator("#quiet-result")).to_have_text("Quiet hours saved: 22:00\u201307:00 (UTC).")
    await tab2.reload()
    await expect(tab2.get_by_role("switch", name="In-app for comment.created")).not_to_be_checked()
    await expect(tab2.get_by_label("From")).to_have_value("22:00")

    await tab1.locator("#demo-event-type").select_option("comment.created")
    await tab1.locator("#demo-title").fill("Muted comment")
    await tab1.locator("#demo-form button[type=submit]").click()
    result = tab1.locator("#demo-result")
    await expect(result).to_contain_text("in_app: suppressed")
    event_id = await result.get_attribute("data-settled")
    assert event_id
    status, reason = await in_app_delivery(event_id)
    assert status == "suppressed" and "opted_out" in reason
    for tab in (tab1, tab2):
        await expect(tab.locator("#badge")).to_have_text("1")
        await expect(tab.locator("#messages li", has_text="Muted comment")).to_have_count(0)


@sync_to_async
def snoozed_until(title: str) -> datetime | None:
    return InboxMessage.objects.get(title=title).snoozed_until


@sync_to_async
def make_due(title: str) -> None:
    """The snooze's time has come: set back in the row, as a clock would have moved it; the
    real scheduler then wakes the message."""
    InboxMessage.objects.filter(title=title).update(snoozed_until=timezone.now() - timedelta(seconds=1))


def comment(event_body: Callable[..., dict[str, Any]], title: str) -> dict[str, Any]:
    return event_body(
        userId="demo-user", eventType="comment.created", channels=["in_app"], data={"title": title}
    )


async def test_a_snoozed_message_disappears_and_comes_back_live_when_due(
    demo_mode: None,
    workflow_pipeline: None,
    asgi_server: str,
    browser: Browser,
    event_body: Callable[..., dict[str, Any]],
) -> None:
    zone = "America/New_York"
    tab1 = await open_inbox(browser, asgi_server, timezone_id=zone)
    tab2 = await open_inbox(browser, asgi_server)
    for title in ("Ada replied", "Grace replied"):
        await send_event(asgi_server, comment(event_body, title))
    for tab in (tab1, tab2):
        await expect(tab.locator("#badge")).to_have_text("2")

    # The snooze menu of a message: 1 hour, tomorrow 09:00 and next Monday 09:00, local time.
    await tab1.locator("#bell").click()
    ada = tab1.locator("#messages li", has_text="Ada replied")
    await ada.get_by_role("button", name="Snooze").click()
    menu = ada.get_by_role("menu", name="Snooze until")
    await expect(menu.get_by_role("menuitem")).to_have_count(3)
    await expect(menu.get_by_role("menuitem", name="Next week")).to_contain_text("09:00")
    await menu.get_by_role("menuitem", name="1 hour").click()
    for tab in (tab1, tab2):
        await expect(tab.locator("#messages li", has_text="Ada replied")).to_have_count(0)
        await expect(tab.locator("#badge")).to_have_text("1")
    assert await snoozed_until("Ada replied") is not None

    # By keyboard: Enter opens the menu on its first choice, the arrow moves, Enter picks.
    grace = tab1.locator("#messages li", has_text="Grace replied")
    await grace.get_by_role("button", name="Snooze").focus()
    await tab1.keyboard.press("Enter")
    await expect(grace.get_by_role("menuitem", name="1 hour")).to_be_focused()
    await tab1.keyboard.press("ArrowDown")
    await expect(grace.get_by_role("menuitem", name="Tomorrow 09:00")).to_be_focused()
    await tab1.keyboard.press("Enter")
    await expect(tab2.locator("#badge")).to_be_hidden()
    local = datetime.now(ZoneInfo(zone)) + timedelta(days=1)
    expected = local.replace(hour=9, minute=0, second=0, microsecond=0)
    assert await snoozed_until("Grace replied") == expected

    # Both are listed under Snoozed (with an unsnooze), not in All.
    await tab1.get_by_role("tab", name="Snoozed").click()
    await expect(tab1.get_by_role("tab", name="Snoozed")).to_have_attribute("aria-selected", "true")
    await expect(tab1.locator("#messages li")).to_have_count(2)
    await expect(tab1.locator("#messages li", has_text="Ada replied")).to_contain_text("snoozed until")

    # Its time comes: the scheduler brings Ada's back, unread, into every open tab at once.
    await make_due("Ada replied")
    for tab in (tab1, tab2):
        await expect(tab.locator("#badge")).to_have_text("1")
        await expect(tab.locator("#announcer")).to_have_text("Back from snooze: Ada replied")
    await expect(tab2.locator("#messages li", has_text="Ada replied")).to_have_class("message unread")
    await expect(tab1.locator("#messages li")).to_have_count(1)  # still snoozed: Grace's

    # An early unsnooze brings Grace's back as it was (unread).
    await (
        tab1.locator("#messages li", has_text="Grace replied").get_by_role("button", name="Unsnooze").click()
    )
    await expect(tab1.locator("#messages li")).to_have_count(0)
    await expect(tab2.locator("#badge")).to_have_text("2")
    await tab1.get_by_role("tab", name="All").click()
    await expect(tab1.locator("#messages li")).to_have_count(2)


@sync_to_async
def comment_buttons() -> None:
    NotificationTemplate.objects.create(
        event_type="comment.created",
        channel="in_app",
        locale="en",
        subject="{{ title }}",
        actions={
            "primary": {"label": "Like", "key": "like"},
            "secondary": {"label": "View thread", "url": "https://example.com/t/1"},
        },
    )
    catalog.invalidate()


async def test_buttons_tabs_and_bulk_actions_stay_in_step_across_tabs(
    demo_mode: None,
    pipeline: None,
    asgi_server: str,
    browser: Browser,
    event_body: Callable[..., dict[str, Any]],
) -> None:
    await comment_buttons()
    tab1 = await open_inbox(browser, asgi_server)
    tab2 = await open_inbox(browser, asgi_server)
    for title in ("First", "Second", "Third"):
        await send_event(asgi_server, comment(event_body, title))
    for tab in (tab1, tab2):
        await expect(tab.locator("#badge")).to_have_text("3")
        # The view tabs count too (in the closed panel, so found by id).
        await expect(tab.locator("#tab-all")).to_have_text("All 3 unread")
        await expect(tab.locator("#tab-type0")).to_have_text("Comment created 3 unread")

    # A key button completes the action: done in every tab, the message read.
    await tab1.locator("#bell").click()
    first = tab1.locator("#messages li", has_text="First")
    await expect(first.get_by_role("link", name="View thread")).to_have_attribute(
        "href", "https://example.com/t/1"
    )
    await first.get_by_role("button", name="Like").click()
    for tab in (tab1, tab2):
        await expect(tab.locator("#messages li", has_text="First").locator("button.done")).to_have_text(
            "Like (done)"
        )
        await expect(tab.locator("#badge")).to_have_text("2")

    # Select two messages and archive them at once: gone from both tabs, listed under Archived.
    for title in ("First", "Second"):
        await tab1.get_by_role("checkbox", name=f"Select: {title}").check()
    await expect(tab1.locator("#bulk-count")).to_have_text("2 selected")
    await tab1.locator("#bulk-actions").get_by_role("button", name="Archive").click()
    await expect(tab1.locator("#inbox-status")).to_have_text("Archive: 2 changed.")
    for tab in (tab1, tab2):
        await expect(tab.locator("#messages li")).to_have_count(1)
        await expect(tab.locator("#badge")).to_have_text("1")
    await tab2.locator("#bell").click()
    await tab2.get_by_role("tab", name="Archived").click()
    await expect(tab2.locator("#messages li")).to_have_count(2)

    # Mark all read in one tab: the other's badge and tab counts follow.
    await tab1.get_by_role("button", name="Mark all as read").click()
    for tab in (tab1, tab2):
        await expect(tab.locator("#badge")).to_be_hidden()
        await expect(tab.locator("#tab-all")).to_have_text("All")
    await expect(tab1.locator("#messages li", has_text="Third")).to_have_class("message")
