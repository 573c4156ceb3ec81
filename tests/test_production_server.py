"""The production path: with DEBUG=0 the deploy check is clean, gunicorn serves the app and
WhiteNoise its static files, HTTPS-only by default, with one switch for a plain-http local run.
"""

import importlib.util
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def production_env(tmp_path, **extra):
    """DEBUG=0 with a real-looking secret, a throwaway SQLite file, and static files in tmp_path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLADO_", "TEMPO_", "DATABASE_URL", "SECURE_", "INSECURE_", "BEHIND_"))
        and k != "DJANGO_ALLOW_ASYNC_UNSAFE"  # the browser tests set it for themselves, never a server
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),  # 67 characters, many of them unique
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_deploy_check_passes_with_debug_off_as_the_settings_stand(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_plain_http_switch_is_what_the_deploy_check_complains_about(tmp_path):
    result = manage(
        production_env(tmp_path, INSECURE_HTTP="1"), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr, warning


def test_a_short_secret_key_fails_the_deploy_check(tmp_path):
    result = manage(
        production_env(tmp_path, SECRET_KEY="short"), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode != 0 and "security.W009" in result.stderr


def load_run_py():
    spec = importlib.util.spec_from_file_location("run_py", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_py_serves_through_gunicorn_with_debug_off_and_the_dev_server_with_it_on(monkeypatch):
    run = load_run_py()
    monkeypatch.delenv("CLADO_MPP_URL", raising=False)
    monkeypatch.delenv("INSECURE_HTTP", raising=False)
    monkeypatch.setenv("DEBUG", "0")
    command = [str(part) for part in run.web_server_command("8123")]
    assert command[1:3] == ["-m", "gunicorn"] and "dashboard.wsgi" in command
    assert "127.0.0.1:8123" in command
    assert run.web_server_env()["INSECURE_HTTP"] == "1", "127.0.0.1 only: plain http never leaves the machine"
    monkeypatch.setenv("CLADO_MPP_URL", "https://gateway.example")
    assert run.web_server_env()["INSECURE_HTTP"] == "1", "in live mode too: a local script can call the API"

    monkeypatch.setenv("BEHIND_TLS_PROXY", "1")
    assert "INSECURE_HTTP" not in run.web_server_env(), "TLS in front: HTTPS-only"

    monkeypatch.setenv("DEBUG", "1")
    assert "runserver" in [str(part) for part in run.web_server_command("8123")]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    """The production server as `run.py app` starts it with DEBUG=0, behind a TLS proxy."""
    env = production_env(tmp_path, BEHIND_TLS_PROXY="1", WEB_CONCURRENCY="2")
    for step in (("migrate", "--no-input", "-v", "0"), ("collectstatic", "--no-input", "-v", "0")):
        done = manage(env, *step)
        assert done.returncode == 0, done.stderr
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, "dashboard.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/login/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_serves_pages_https_only_and_whitenoise_serves_compressed_static_files(gunicorn):
    plain = httpx.get(f"{gunicorn}/login/")
    assert plain.status_code == 301 and plain.headers["location"].startswith("https://")

    behind_tls = {"X-Forwarded-Proto": "https"}
    page = httpx.get(f"{gunicorn}/login/", headers=behind_tls)
    assert page.status_code == 200 and page.headers["server"].startswith("gunicorn")
    assert "includeSubDomains" in page.headers["strict-transport-security"]
    assert "preload" not in page.headers["strict-transport-security"]
    assert "secure" in page.headers["set-cookie"].lower()

    stylesheet = next(part for part in page.text.split('"') if part.startswith("/static/") and ".css" in part)
    assert stylesheet.count(".") >= 2, "a hashed (manifest) name"
    static = httpx.get(f"{gunicorn}{stylesheet}", headers={**behind_tls, "Accept-Encoding": "gzip"})
    assert static.status_code == 200
    assert static.headers["content-encoding"] == "gzip"
    assert "immutable" in static.headers["cache-control"]
