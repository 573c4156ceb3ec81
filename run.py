#!/usr/bin/env python3
"""Set up and run everything from a fresh machine with nothing but Python 3.11+.

    python3 run.py app          install, migrate, then run the sandbox, the worker and the web server
    python3 run.py test [ARGS]  install the test extras (and Debian's chromium if it can), lint, then run
                                pytest on SQLite, then on PostgreSQL if reachable (ARGS go to pytest)
    python3 run.py manage ARGS  install, then `manage.py ARGS` with the project's Python, e.g.
                                python3 run.py manage research start "CFOs in Lisbon" --user demo

Environment: PORT (web server port, default 8000), RUN_PYTHON (an interpreter to use as it is),
TEST_POSTGRES_URL (the PostgreSQL the test command uses), CI (then an unreachable PostgreSQL fails
the tests), DEBUG, CLADO_MPP_URL and BEHIND_TLS_PROXY (as the app reads them; see the README).

Both create `.venv/` beside this file on first use and reinstall only when pyproject.toml
changes (RUN_PYTHON=/path/to/python uses that interpreter and its packages as they are, and
installs nothing). Only the standard library is used here, since nothing else is installed yet.

Ctrl-C (or SIGTERM) on `run.py app` stops everything it started, the worker's own processes
included, within STOP_SECONDS: each child runs in its own process group, which is asked to
stop (SIGINT), then killed (SIGKILL) if anything in it is still alive.
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
PYTHON = Path(os.environ.get("RUN_PYTHON") or VENV / "bin" / "python")
CHROMIUM = "/usr/bin/chromium"
POSTGRES_TEST_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def say(message):
    print(f"==> {message}", flush=True)


STOP_GRACE = 10  # seconds the children get to stop by themselves after Ctrl-C
STOP_SECONDS = 15  # by then, nothing run.py started is left


def install(extras):
    """A virtualenv with the project's dependencies, reinstalled when pyproject.toml changes."""
    if os.environ.get("RUN_PYTHON"):
        return  # an interpreter someone else manages: use it as it is
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
    """DEBUG as dashboard/settings.py reads it: on by default in sandbox mode only."""
    default = "0" if os.environ.get("CLADO_MPP_URL") else "1"
    return os.environ.get("DEBUG", default).lower() not in ("0", "false", "no", "off")


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
    """The web server listens on 127.0.0.1 only, where plain http never leaves the machine: with
    DEBUG=0 it runs with INSECURE_HTTP=1 (no https redirect, so a browser or a script on
    http://127.0.0.1 works), unless set otherwise or TLS is terminated in front (BEHIND_TLS_PROXY=1).
    A deployment that others reach runs gunicorn behind TLS, as docs/deploy.md and the Procfile say."""
    env = dict(os.environ)
    if not debug_on() and not os.environ.get("BEHIND_TLS_PROXY"):
        env.setdefault("INSECURE_HTTP", "1")
    return env


def manage_passthrough(args):
    """`manage.py` with the project's interpreter, so the README's commands work as written. It runs
    in the caller's directory: a relative `--output leads.csv` lands where the person is."""
    install("postgres,redis")
    try:
        return subprocess.run([PYTHON, ROOT / "manage.py", *args]).returncode
    except KeyboardInterrupt:
        return 130


def app():
    install("postgres,redis")
    sandbox = not os.environ.get("CLADO_MPP_URL")
    manage("migrate", "--no-input", "-v", "0")
    if not debug_on():  # then pages need collectstatic
        manage("collectstatic", "--no-input", "-v", "0")
    if sandbox:
        manage("demo_user")
    port = os.environ.get("PORT", "8000")
    # Each child leads a process group of its own: Ctrl-C in the terminal reaches run.py alone,
    # and run.py stops every group whole, the worker's sentinel and worker processes included.
    children = []

    def start(argv, env=None):
        children.append(subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True))

    signal.signal(signal.SIGTERM, _interrupt)  # `kill` on run.py stops everything, as Ctrl-C does
    try:
        if sandbox:
            start([PYTHON, "manage.py", "sandbox"])
        start([PYTHON, "manage.py", "qcluster"])
        start(web_server_command(port), env=web_server_env())
        say(
            f"Open http://127.0.0.1:{port}/ "
            + ("and log in as demo / demo (sandbox mode: no real money)." if sandbox else "")
        )
        say("Ctrl-C stops the web server, the worker" + (" and the sandbox." if sandbox else "."))
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop(children)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def stop(children):
    """Ask each child's process group to stop, wait a little, then kill whatever is left."""
    say("Stopping…")
    groups = [child.pid for child in children]
    signal.signal(signal.SIGINT, _interrupt)
    started = time.monotonic()
    try:
        for group in groups:
            _signal_group(group, signal.SIGINT)
        _wait_for(groups, children, started + STOP_GRACE)
    except KeyboardInterrupt:
        say("Stopping now.")  # a second Ctrl-C: no more waiting
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # let nothing interrupt the kill
    for group in groups:
        if _alive(group):
            _signal_group(group, signal.SIGKILL)
    _wait_for(groups, children, started + STOP_SECONDS)


def _wait_for(groups, children, deadline):
    while time.monotonic() < deadline:
        for child in children:
            child.poll()  # reap our own children as they exit
        if not any(_alive(group) for group in groups):
            return
        time.sleep(0.1)


def _signal_group(group, number):
    try:
        os.killpg(group, number)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(group):
    """Whether any process of the group is still running (zombies waiting to be reaped are not)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ")".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


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


COMMANDS = ("app", "test", "manage")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    if sys.version_info < (3, 11):  # noqa: UP036 - run.py is what tells an old Python so
        print("Python 3.11 or newer is needed.")
        return 2
    if sys.argv[1] == "app":
        app()
        return 0
    if sys.argv[1] == "manage":
        return manage_passthrough(sys.argv[2:])
    return test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
