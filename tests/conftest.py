"""Shared fixtures: real NATS/PostgreSQL/Redis when configured, local provider servers, the
pipeline running in the test's own event loop, and an ASGI server for real WebSocket clients.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import nats
import pytest
import uvicorn
from django.conf import settings
from rest_framework.test import APIClient

from core.embedded_nats import free_port, start_nats_server
from core.names import names
from notifications.models import ApiKey
from pipeline import jetstream
from pipeline.breaker import breakers
from pipeline.runner import all_stage_specs, run_stage
from pipeline.scheduler import run_scheduler
from tests.smtp_sink import SmtpSink
from webhooks.subscriptions import changed as webhook_endpoints_changed
from workflows.selectors import workflows_changed

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Tests that load both cores for many seconds each: kills, outages, hundreds of events.
HEAVY = (
    "tests/reliability/",
    "tests/cluster/",
    "tests/bench/",
    "tests/pipeline/test_consumer_restart.py",
    "tests/pipeline/test_in_app_order.py",
    "tests/workflows/test_digest_concurrency.py",
)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``make test`` runs two pytest-xdist workers: one takes the heavy tests, one after another,
    while the other works through the rest. Two fault tests side by side would each get half
    the cores their timeouts were set for."""
    from xdist.scheduler import LoadScopeScheduling

    class HeavyTogether(LoadScopeScheduling):
        """Every heavy test in one unit of work; every other test a unit of its own."""

        def _split_scope(self, nodeid: str) -> str:
            return "heavy" if nodeid.startswith(HEAVY) else nodeid

    return HeavyTogether(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    """The heavy tests first (after pytest-django's ordering), so their worker starts on them
    at once rather than when the rest is nearly done."""
    yield
    heavy = [item for item in items if item.nodeid.startswith(HEAVY)]
    chosen = set(heavy)
    items[:] = heavy + [item for item in items if item not in chosen]


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The shared NATS when NATS_URL is set (always in CI), else a private one from the wheel."""
    if settings.NATS_URL:
        yield settings.NATS_URL
        return
    if IN_CI:
        pytest.fail("CI=true but NATS_URL is not set")
    port = free_port()
    process = start_nats_server(port, tmp_path_factory.mktemp("nats"))
    url = f"nats://127.0.0.1:{port}"
    settings.NATS_URL = url
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(autouse=True)
def _closed_breakers() -> None:
    """Every test starts with all circuit breakers closed, whatever failures came before."""
    breakers.reset()


@pytest.fixture(autouse=True)
def _no_cached_webhook_endpoints() -> None:
    """Every test sees the webhook endpoints its own database holds (none, unless it makes some)."""
    webhook_endpoints_changed()


@pytest.fixture(autouse=True)
def _no_cached_workflows() -> None:
    """Every test reads the workflows its own database holds, not those an earlier test's
    rolled-back transaction published."""
    workflows_changed()


@pytest.fixture(scope="session")
def streams(nats_url: str) -> Iterator[None]:
    """This run's streams (prefixed with the run id), deleted at the end of the session."""

    async def setup() -> None:
        nc = await nats.connect(nats_url)
        await jetstream.setup_streams(nc.jetstream())
        await nc.close()

    async def teardown() -> None:
        nc = await nats.connect(nats_url)
        await jetstream.delete_streams(nc.jetstream(), names())
        await nc.close()

    asyncio.run(setup())
    yield
    asyncio.run(teardown())


@pytest.fixture
def api_key(db: None) -> str:
    _, raw = ApiKey.issue("tests")
    return raw


@pytest.fixture
def api(api_key: str, streams: None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def event_body() -> Callable[..., dict[str, Any]]:
    """The example body of API.md, with a fresh eventId unless one is given."""
    counter = iter(range(1, 10**9))

    def make(**overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "eventId": f"evt_{os.urandom(6).hex()}_{next(counter)}",
            "eventType": "account",
            "userId": "user_123",
            "channels": ["email", "push"],
            "priority": "high",
            "data": {"userName": "John Doe", "actionUrl": "https://example.com/verify"},
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not None}

    return make


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    """A real SMTP server on loopback; the email channel is pointed at it."""
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = False
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "email": ["smtp"]}
    yield sink
    sink.stop()


@asynccontextmanager
async def running_stages(*labels: str) -> AsyncIterator[None]:
    """The stages named (every stage when none is) consuming in this event loop meanwhile."""
    stop = asyncio.Event()
    specs = [spec for spec in all_stage_specs(names()) if not labels or spec.label in labels]
    tasks = [asyncio.create_task(run_stage(spec, stop, batch_size=100)) for spec in specs]
    await asyncio.sleep(0.3)
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=15)


@pytest.fixture
async def pipeline(transactional_db: None, streams: None) -> AsyncIterator[None]:
    """Every stage consuming in this test's event loop until the test ends."""
    await purge_streams()  # events accepted by earlier tests are nobody's to deliver now
    async with running_stages():
        yield
    await purge_streams()


@pytest.fixture
async def workflow_pipeline(pipeline: None) -> AsyncIterator[None]:
    """Every stage and the scheduler (short passes): what workflow runs need, delays included."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(stop, interval=0.1))
    yield
    stop.set()
    await asyncio.wait_for(task, timeout=10)


async def events_in_stream() -> int:
    """Messages in this run's events stream: what the API has stored so far."""
    nc = await nats.connect(settings.NATS_URL)
    try:
        info = await nc.jetstream().stream_info(names().events_stream)
        return int(info.state.messages)
    finally:
        await nc.close()


async def purge_streams(events: bool = True, work: bool = True) -> None:
    """Drop this run's queued messages, so one test's leftovers never reach the next."""
    nc = await nats.connect(settings.NATS_URL)
    try:
        js = nc.jetstream()
        if events:
            await js.purge_stream(names().events_stream)
        if work:
            await js.purge_stream(names().work_stream)
            await js.purge_stream(names().status_stream)
    finally:
        await nc.close()


class _TestServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """An ASGI app (or its import path) on a free port, served in this event loop meanwhile."""
    port = free_port()
    server = _TestServer(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            # uvicorn closes a connection idle for 5 s by default. The server shares the test's
            # busy loop, so that close can cross a request the client is sending on the
            # pooled connection (httpx.ReadError): keep idle connections as a load balancer would.
            timeout_keep_alive=120,
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@pytest.fixture
async def asgi_server(transactional_db: None) -> AsyncIterator[str]:
    """The real ASGI app (HTTP + WebSocket) on a free port, served in the test's loop."""
    async with serving("config.asgi:application") as address:
        yield address


async def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll an async or sync predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a `manage.py` child that must see this test's database and streams."""
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=settings.SECRET_KEY,
        NATS_URL=settings.NATS_URL,
        RELAY_NATS_PREFIX=settings.RELAY_NATS_PREFIX,
        RELAY_ACK_WAIT=str(settings.RELAY_ACK_WAIT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_manage(*args: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=subprocess_env(**env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="session", autouse=True)
def _end_worker_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Pipeline worker threads keep connections open; end them so the test database can go."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
