"""`make run`'s process on a bare machine: SQLite, the in-memory channel layer and a nats-server
from the wheel, every stage in one `run_all`, and a clean stop on Ctrl-C; and the email
provider `make run` picks, SMTP with `EMAIL_HOST` and the console without."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.embedded_nats import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("DATABASE_URL", "REDIS_URL", "NATS_URL", "DJANGO_SETTINGS_MODULE")
PRINT_EMAIL_PROVIDERS = (
    "from pipeline.channels.registry import provider_names;"
    " print('email=' + ','.join(provider_names('email')))"
)


def bare_environment() -> dict[str, str]:
    """This process's environment without anything that configures Relay: a new user's shell."""
    configures = ("RELAY_", "EMAIL_", "DEBUG", "SECRET_KEY")
    return {k: v for k, v in os.environ.items() if k not in SERVICES and not k.startswith(configures)}


def _wait_for_delivered(base: str, key: str, event_id: str, timeout: float = 30.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        body = httpx.get(f"{base}/api/events/{event_id}", headers={"Authorization": f"Bearer {key}"}).json()
        statuses = {d["channel"]: d["status"] for n in body.get("notifications", []) for d in n["deliveries"]}
        if statuses and all(status == "sent" for status in statuses.values()):
            break
        time.sleep(0.2)
    return statuses


def test_run_all_embedded_delivers_email_and_in_app_and_stops_cleanly(tmp_path: Path) -> None:
    env = bare_environment() | {
        "RELAY_VAR_DIR": str(tmp_path),
        "NATS_EMBEDDED_PORT": str(free_port()),
        "DEBUG": "1",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True)
    key = subprocess.run(
        [*manage, "create_api_key", "embedded"], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    port = free_port()
    log = (tmp_path / "run_all.log").open("wb")
    argv = [*manage, "run_all", "--port", str(port)]
    server = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "run_all.log").read_text()
            try:
                if httpx.get(f"{base}/api/health/live").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        event = {
            "eventId": "embedded-1",
            "eventType": "comment.created",
            "userId": "demo-user",
            "channels": ["email", "in_app"],
            "data": {"title": "Hello"},
        }
        headers = {"Authorization": f"Bearer {key}"}
        subscriber = {"email": "demo@example.test"}
        created = httpx.put(f"{base}/api/subscribers/demo-user", json=subscriber, headers=headers)
        assert created.status_code == 201, created.text
        accepted = httpx.post(f"{base}/api/events", json=event, headers=headers)
        assert accepted.status_code == 202, accepted.text
        assert _wait_for_delivered(base, key, "embedded-1") == {"email": "sent", "in_app": "sent"}
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=30)
        log.close()
    output = (tmp_path / "run_all.log").read_text()
    assert code == 0, output[-3000:]
    assert "embedded_nats_started" in output
    assert "To: demo@example.test" in output, "without EMAIL_HOST, the console provider prints the email"
    assert (tmp_path / "relay.sqlite3").exists(), "the embedded default stores in SQLite under the var dir"


def run_in_make_run(code: str, env: dict[str, str], *make_args: str) -> str:
    """The server line of `make run`'s own recipe (`make -n run`), run with ``code`` in place of
    `run_all`: whatever the Makefile sets reaches it as it would reach the server."""
    recipe = subprocess.run(
        ["make", "-n", "run", *make_args],
        cwd=ROOT,
        env=bare_environment() | env,
        check=True,
        capture_output=True,
        text=True,
    )
    (serve,) = [line for line in recipe.stdout.splitlines() if "manage.py run_all" in line]
    command = serve.split("manage.py run_all")[0] + "manage.py shell -c " + shlex.quote(code)
    printed = subprocess.run(
        ["sh", "-c", command],
        env=bare_environment() | env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return printed.stdout


@pytest.mark.parametrize(
    ("env", "providers"),
    [
        ({}, ["console"]),
        ({"EMAIL_HOST": "mail.example.com"}, ["smtp"]),
        ({"EMAIL_URL": "submission://relay:secret@mail.example.com"}, ["smtp"]),
        ({"EMAIL_HOST": "mail.example.com", "EMAIL_PROVIDERS": "smtp,console"}, ["smtp", "console"]),
        ({"DEBUG": "0", "SECRET_KEY": "production"}, []),
    ],
)
def test_make_run_sends_email_by_smtp_when_a_server_is_set_and_prints_it_otherwise(
    env: dict[str, str], providers: list[str]
) -> None:
    printed = run_in_make_run(PRINT_EMAIL_PROVIDERS, env)
    (printed_line,) = [line for line in printed.splitlines() if line.startswith("email=")]
    assert printed_line.removeprefix("email=").split(",") == (providers or [""])


@pytest.mark.parametrize(
    ("env", "make_args", "public_url"),
    [
        ({}, [], "http://localhost:8000"),
        ({}, ["PORT=9123"], "http://localhost:9123"),
        ({"PORT": "9124"}, [], "http://localhost:9124"),
        ({"RELAY_PUBLIC_URL": "https://relay.example.com/"}, ["PORT=9123"], "https://relay.example.com"),
    ],
)
def test_make_run_links_back_to_the_port_it_serves_on_unless_relay_public_url_is_set(
    env: dict[str, str], make_args: list[str], public_url: str
) -> None:
    """Unsubscribe links and provider callbacks are built on RELAY_PUBLIC_URL."""
    code = "from django.conf import settings; print('public=' + settings.RELAY_PUBLIC_URL)"
    printed = run_in_make_run(code, env, *make_args)
    (printed_line,) = [line for line in printed.splitlines() if line.startswith("public=")]
    assert printed_line.removeprefix("public=") == public_url
