"""`pip install .` gives a working Relay: the wheel holds every package with its templates, static
files and other data, and the installed `relay` command runs without the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

NOT_SHIPPED = {"tests", "bench", "clients", "scripts"}
SOURCE_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "var", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".*_cache", "node_modules"
)


def shipped_packages() -> list[Path]:
    """Every top-level package of the checkout but the test, benchmark and client code."""
    return [p.parent for p in sorted(ROOT.glob("*/__init__.py")) if p.parent.name not in NOT_SHIPPED]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the source (no build/ left in the checkout), offline."""
    source = tmp_path_factory.mktemp("source") / "relay"
    shutil.copytree(ROOT, source, ignore=SOURCE_IGNORE)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            ".",
        ],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("relay-*.whl")
    return built


def test_the_wheel_holds_every_package_file_and_no_test_code(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        str(f.relative_to(ROOT))
        for package in shipped_packages()
        for f in package.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts
    }
    assert {"config/templates/api/redoc.html", "realtime/socket_protocol.md"} <= expected
    assert any(name.startswith("pipeline/migrations/") for name in expected)
    assert expected - names == set()
    assert {name.split("/")[0] for name in names} & NOT_SHIPPED == set()
    entry_points = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/entry_points.txt")
    assert b"relay = config.cli:main" in entry_points


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed on its own; its dependencies are this venv's."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return site


def run_relay(site: Path, run_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `relay` command, run outside the checkout, Relay importable only from `site`."""
    return subprocess.run(
        [str(site / "bin" / "relay"), *args],
        cwd=run_dir,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(run_dir), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_installed_relay_command_runs_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    def relay(*args: str) -> str:
        result = run_relay(installed, tmp_path, *args, SECRET_KEY="x" * 50)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "no issues" in relay("check")
    shown = relay(
        "shell",
        "--no-imports",
        "-c",
        "import config; from django.template.loader import get_template; "
        "get_template('api/redoc.html'); get_template('templated_email/relay/default.email'); "
        "get_template('realtime/index.html'); print(config.__file__)",
    )
    assert shown.strip() == str(installed / "config" / "__init__.py")
    relay("collectstatic", "--noinput")
    collected = tmp_path / "var" / "staticfiles"  # state beside where it runs, not in site-packages
    assert (collected / "relay" / "inbox.js").is_file()
    assert (collected / "vendor" / "chart.umd.min.js").is_file()
    assert not (installed / "var").exists()


def test_without_secret_key_relay_refuses_to_start_and_says_what_to_set(
    installed: Path, tmp_path: Path
) -> None:
    refused = run_relay(installed, tmp_path, "check")
    assert refused.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in refused.stderr
    assert "DEBUG=1" in refused.stderr
    assert run_relay(installed, tmp_path, "check", DEBUG="1").returncode == 0
