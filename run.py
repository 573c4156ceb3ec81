#!/usr/bin/env python3
"""Set up and run everything from a fresh machine with nothing but Python 3.11+.

    python3 run.py app     install, migrate, then run the sandbox, the worker and the web server
    python3 run.py test    install (and Debian's chromium if it can), lint, then run the test suite

Both create `.venv/` beside this file on first use and reinstall only when pyproject.toml
changes. Only the standard library is used here, since nothing else is installed yet.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
CHROMIUM = "/usr/bin/chromium"
POSTGRES_TEST_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def say(message):
    print(f"==> {message}", flush=True)


def install(extras):
    """A virtualenv with the project's dependencies, reinstalled when pyproject.toml changes."""
    if not PYTHON.exists():
        say("Creating .venv")
        venv.create(VENV, with_pip=True)
    spec = f".[{extras}]"
    stamp = VENV / f".installed-{extras}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    say(f"Installing dependencies ({spec})")
    subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "-e", spec], cwd=ROOT, check=True)
    stamp.write_text(digest)


def manage(*args, env=None):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True, env=env)


def debug_on():
    return os.environ.get("DEBUG", "1").lower() not in ("0", "false", "no", "off")


def web_server_command(port):
    """The web server's argv: gunicorn with DEBUG=0 (gunicorn.conf.py reads WEB_CONCURRENCY and
    GUNICORN_THREADS), Django's development server with DEBUG on."""
    if debug_on():
        return [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    return [
        PYTHON,
        "-m",
        "gunicorn",
        "-c",
        "gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "dashboard.wsgi",
    ]


def web_server_env():
    """The sandbox with DEBUG=0 is served on plain http://127.0.0.1: INSECURE_HTTP=1 unless set.

    Live mode stays HTTPS-only (TLS terminated in front, see docs/deploy.md)."""
    env = dict(os.environ)
    if not debug_on() and not os.environ.get("CLADO_MPP_URL"):
        env.setdefault("INSECURE_HTTP", "1")
    return env


def app():
    install("postgres,redis")
    sandbox = not os.environ.get("CLADO_MPP_URL")
    manage("migrate", "--no-input", "-v", "0")
    if os.environ.get("DEBUG", "1").lower() in ("0", "false", "no", "off"):
        manage("collectstatic", "--no-input", "-v", "0")
    if sandbox:
        manage("demo_user")
    port = os.environ.get("PORT", "8000")
    children = []
    if sandbox:
        children.append(subprocess.Popen([PYTHON, "manage.py", "sandbox"], cwd=ROOT))
    children.append(subprocess.Popen([PYTHON, "manage.py", "qcluster"], cwd=ROOT))
    children.append(subprocess.Popen(web_server_command(port), cwd=ROOT, env=web_server_env()))
    say(
        f"Open http://127.0.0.1:{port}/ "
        + ("and log in as demo / demo (sandbox mode: no real money)." if sandbox else "")
    )
    say("Ctrl-C stops the web server, the worker" + (" and the sandbox." if sandbox else "."))
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def ensure_chromium():
    """Debian's chromium drives the browser tests (Playwright never downloads its own)."""
    if Path(CHROMIUM).exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say(f"{CHROMIUM} is missing and can't be installed here: browser tests will be skipped.")
        return
    say("Installing Debian's chromium for the browser tests")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)


def postgres_reachable():
    url = POSTGRES_TEST_URL.replace("postgres://", "postgresql://", 1)
    code = f"import psycopg; psycopg.connect({url!r}, connect_timeout=3).close()"
    return subprocess.run([PYTHON, "-c", code], capture_output=True).returncode == 0


def lint():
    """ruff finds mistakes and keeps one format; CI fails on either before a test runs."""
    say("Lint: ruff check, ruff format --check")
    checked = subprocess.run([PYTHON, "-m", "ruff", "check", "."], cwd=ROOT).returncode
    formatted = subprocess.run([PYTHON, "-m", "ruff", "format", "--check", "."], cwd=ROOT).returncode
    return checked or formatted


def test(pytest_args):
    install("test")
    if lint():
        return 1
    ensure_chromium()
    say("Tests on SQLite")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CLADO_MPP_URL", "REDIS_URL")}
    first = subprocess.run([PYTHON, "-m", "pytest", *pytest_args], cwd=ROOT, env=env).returncode
    if postgres_reachable():
        say("Tests on PostgreSQL")
        pg_env = {**env, "DATABASE_URL": POSTGRES_TEST_URL}
        second = subprocess.run(
            [PYTHON, "-m", "pytest", "-m", "not browser", *pytest_args], cwd=ROOT, env=pg_env
        ).returncode
    elif os.environ.get("CI"):
        say(f"PostgreSQL is not reachable at {POSTGRES_TEST_URL}: CI needs it.")
        second = 1
    else:
        say(f"PostgreSQL is not reachable at {POSTGRES_TEST_URL}: skipping that run.")
        second = 0
    return first or second


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("app", "test"):
        print(__doc__)
        return 2
    if sys.version_info < (3, 11):  # noqa: UP036 - run.py is what tells an old Python so
        print("Python 3.11 or newer is needed.")
        return 2
    if sys.argv[1] == "app":
        app()
        return 0
    return test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
