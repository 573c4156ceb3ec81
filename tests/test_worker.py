"""The background worker for real: `manage.py qcluster` processes, a broker, the shared database.

A task is enqueued through the broker (django-q2's ORM broker by default, Redis when
REDIS_URL is set) and two worker processes run the poll cycle, which pays for status calls
against the sandbox and stores the results in the very database the test reads.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from research import jobs
from research.models import Charge, JobStatus, ResearchJob

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_available():
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return True
    except Exception:
        return False


def database_url():
    """The URL of the test database this process is using, for the worker processes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def worker_env(sandbox, broker):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CLADO_", "TEMPO_", "SANDBOX_", "REDIS_URL"))
    }
    env.update(
        DATABASE_URL=database_url(),
        SANDBOX_URL=sandbox.url,  # sandbox mode: the same throwaway wallet as this process
        POLL_CYCLE_SECONDS="0",  # one pass per task, so the test doesn't wait out a cycle
        Q_WORKERS="2",
        PYTHONPATH=str(ROOT),
    )
    if broker == "redis":
        env["REDIS_URL"] = REDIS_URL
    return env


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_worker_processes_poll_due_jobs_through_the_broker(user, clock, sandbox, broker):
    if broker == "redis" and not redis_available():
        pytest.skip(f"no Redis at {REDIS_URL}")
    job = jobs.launch(jobs.create_job(user, "Founders in Tallinn [results=120]", 120), user)
    clock.advance(sandbox.gateway.jobs[job.clado_id].duration + 1)
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=job.created_at)
    env = worker_env(sandbox, broker)

    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        enqueue = "from django_q.tasks import async_task; async_task('research.tasks.poll_cycle', 0)"
        subprocess.run([sys.executable, "manage.py", "shell", "-c", enqueue], cwd=ROOT, env=env, check=True)
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status == JobStatus.COMPLETED:
                break
            time.sleep(0.5)
    finally:
        cluster.terminate()
        output = cluster.communicate(timeout=30)[0]

    assert job.status == JobStatus.COMPLETED, output[-3000:]
    assert job.leads_stored == 120
    status_calls = Charge.objects.filter(job=job, endpoint="deep-research-status")
    assert status_calls.count() == 2, "page 1 says completed, page 2 holds the rest"
    assert set(status_calls.values_list("state", flat=True)) == {Charge.State.SETTLED}


def test_a_worker_loads_the_wallet_as_it_spawns_and_pays_nothing_doing_so(sandbox):
    """django-q2 sends post_spawn in each new worker process: that is when web3 gets imported."""
    before = len(sandbox.chain.transfers)
    code = (
        "import sys, django; django.setup()\n"
        "from django_q.signals import post_spawn\n"
        "from research import wallet\n"
        "loaded = lambda: sorted(m for m in ('web3', 'pytempo', 'mpp.client') if m in sys.modules)\n"
        "print(loaded())\n"
        "post_spawn.send(sender='django_q', proc_name='Process-1:1')\n"
        "print(loaded(), wallet.account.cache_info().currsize)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLADO_", "TEMPO_", "SANDBOX_"))}
    env.update(SANDBOX_URL=sandbox.url, DJANGO_SETTINGS_MODULE="dashboard.settings", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    before_spawn, after_spawn = result.stdout.strip().splitlines()[-2:]
    assert before_spawn == "[]", "setting Django up loads none of it"
    assert after_spawn == "['mpp.client', 'pytempo', 'web3'] 1", (
        "the spawned worker has it all, and its account"
    )
    assert "Wallet warmed" in result.stderr
    assert len(sandbox.chain.transfers) == before, "warming signs and pays nothing"
