"""Ctrl-C on `python3 run.py app` stops everything it started, the worker's children included.

For real: run.py from this worktree starts the sandbox, the django-q2 cluster and the web server
on free ports over a throwaway SQLite database; a poll cycle (which runs for POLL_CYCLE_SECONDS)
is running in a worker when the test sends SIGINT to run.py's process group, as a terminal's
Ctrl-C does. Then no process run.py started may be left.
"""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds processes through /proc")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes():
    """{pid: (ppid, pgid, state, start time)} of every process on the machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            found[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0], fields[19])
    return found


def descendants(root):
    """Processes started by `root`, and by them, and so on, with their start times."""
    table = processes()
    family, grew = {root}, True
    while grew:
        grew = False
        for pid, (ppid, *_) in table.items():
            if ppid in family and pid not in family:
                family.add(pid)
                grew = True
    return {pid: table[pid][3] for pid in family - {root}}


def still_running(started):
    """Which of `started` ({pid: start time}) still run (a zombie waiting to be reaped does not)."""
    table = processes()
    return [
        pid
        for pid, when in started.items()
        if pid in table and table[pid][3] == when and table[pid][2] != "Z"
    ]


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def task_taken(database):
    """The enqueued poll cycle was taken off the queue by the cluster (django-q2's ORM broker)."""
    try:
        with sqlite3.connect(database, timeout=5) as connection:
            return bool(
                connection.execute("SELECT count(*) FROM django_q_ormq WHERE lock IS NOT NULL").fetchone()[0]
            )
    except sqlite3.Error:
        return False


def test_ctrl_c_while_a_poll_cycle_runs_leaves_no_process_behind(tmp_path):
    database = tmp_path / "app.sqlite3"
    port, sandbox_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CLADO_", "TEMPO_", "SANDBOX_", "POLL_", "Q_", "DJANGO_"))
        and key not in ("DATABASE_URL", "REDIS_URL", "PORT")
    }
    env.update(
        RUN_PYTHON=sys.executable,  # this interpreter and its packages: run.py installs nothing
        DATABASE_URL=f"sqlite:///{database}",
        SANDBOX_URL=f"http://127.0.0.1:{sandbox_port}",
        PORT=str(port),
        Q_WORKERS="2",
    )
    log = (tmp_path / "run.log").open("w")
    # A terminal's foreground job takes Ctrl-C, whatever started this suite: one started in the
    # background (nohup ... &) ignores SIGINT, its children inherit that, and Python keeps it.
    # Handled here for the moment of the start, it is the default again in the child.
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        app = subprocess.Popen(
            [sys.executable, "run.py", "app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job has
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, before)
    started = {}
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/login/"), 90, "the web server")
        enqueue = "from django_q.tasks import async_task; async_task('research.tasks.poll_cycle')"
        subprocess.run([sys.executable, "manage.py", "shell", "-c", enqueue], cwd=ROOT, env=env, check=True)
        wait_until(lambda: task_taken(database), 30, "a worker to take the poll cycle")
        time.sleep(2)  # well inside its POLL_CYCLE_SECONDS (55 s) of polling
        started = descendants(app.pid)
        assert len(started) >= 6, "sandbox, web server, cluster, sentinel, workers, monitor, pusher"

        os.killpg(app.pid, signal.SIGINT)  # Ctrl-C
        sent = time.monotonic()
        app.wait(timeout=20)
        stopped_in = time.monotonic() - sent
        wait_until(lambda: not still_running(started), max(20 - stopped_in, 0.5), "every child to stop")
        assert stopped_in <= 15, f"run.py took {stopped_in:.1f} s to stop"
    finally:
        for pid in still_running(started) + ([app.pid] if app.poll() is None else []):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert "Stopping" in output, output[-3000:]
    assert "Poll cycle stopped early: signal 2" in output, output[-3000:]
