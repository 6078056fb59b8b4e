"""The page at / in a real Chromium: live badge and list, mark read, two tabs in sync, and the
preference center switching a channel off for the next event."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from playwright.async_api import Browser, Page, async_playwright, expect

from deliveries.models import Delivery
from notifications.models import ApiKey

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


async def open_inbox(browser: Browser, server: str) -> Page:
    page = await browser.new_page()
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
