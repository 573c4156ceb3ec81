"""Past one machine: several `manage.py qcluster` processes against one PostgreSQL and one Redis.

Two worker clusters (standing for two machines) take overlapping poll cycles from the Redis
broker; twenty finished jobs are each polled to completion exactly once at a time, and every
cent in the ledger is on the chain. Each worker loads the wallet as it spawns.
"""

import subprocess
import sys
import time

import pytest
from django.db import connection
from django.utils import timezone

from research.models import Charge, JobStatus, Lead, ResearchJob
from tests.conftest import assert_ledger_matches_chain, finish, start, status_calls
from tests.test_concurrency import in_flight  # noqa: F401 - the gateway watcher, a fixture
from tests.test_worker import REDIS_URL, ROOT, redis_available, worker_env

JOBS = 20
RESULTS = 150  # two pages of 100: two paid status calls per job, no more
CYCLES = 8  # overlapping poll cycles, spread by the broker over both clusters
CYCLE_SECONDS = 4


def skip_unless_postgres_and_redis():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): machines share one database server, not a file")
    if not redis_available():
        pytest.skip(f"needs Redis at {REDIS_URL} (TEST_REDIS_URL): the broker the machines share")


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_two_worker_clusters_on_postgres_and_redis_poll_twenty_jobs_each_once_at_a_time(
    user,
    clock,
    sandbox,
    in_flight,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    skip_unless_postgres_and_redis()
    started = [start(user, sandbox, seconds=30, results=RESULTS) for _ in range(JOBS)]
    for job in started:
        finish(job, clock, sandbox)
    ResearchJob.objects.update(next_poll_at=timezone.now() - timezone.timedelta(seconds=1))
    env = {**worker_env(sandbox, "redis"), "Q_LOG_LEVEL": "INFO"}

    logs = [tmp_path / f"cluster-{n}.log" for n in (1, 2)]
    clusters = []
    for log in logs:
        with log.open("w") as out:
            clusters.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=out, stderr=out
                )
            )
    try:
        # Both clusters listen on the broker before any work is queued, each worker warmed.
        wait_until(
            lambda: all(log.read_text().count("Wallet warmed") >= 2 for log in logs), 90, "both clusters"
        )
        enqueue = (
            "from django_q.tasks import async_task\n"
            f"for _ in range({CYCLES}): async_task('research.tasks.poll_cycle', {CYCLE_SECONDS})"
        )
        subprocess.run([sys.executable, "manage.py", "shell", "-c", enqueue], cwd=ROOT, env=env, check=True)
        wait_until(
            lambda: ResearchJob.objects.filter(status=JobStatus.COMPLETED).count() == JOBS, 120, "the jobs"
        )
        # (The schedule's own minutely cycle may run too: at least ours, then.)
        wait_until(
            lambda: sum(log.read_text().count("Processed") for log in logs) >= CYCLES, 60, "every cycle"
        )
    finally:
        for cluster in clusters:
            cluster.terminate()
        for cluster in clusters:
            cluster.wait(timeout=60)
    output = [log.read_text() for log in logs]

    for text in output:
        assert "Processed" in text, "each cluster ran poll cycles:\n" + text[-3000:]
    assert len(in_flight) == JOBS and set(in_flight.values()) == {1}, (
        "never two status calls for a job at once"
    )
    for job in started:
        job.refresh_from_db()
        assert job.status == JobStatus.COMPLETED and job.leads_stored == RESULTS
        assert Lead.objects.filter(job=job).count() == RESULTS
        assert status_calls(job) == 2, "page 1 (completed) and page 2, each paid once"
        assert job.lease_token == ""
    assert_ledger_matches_chain(sandbox, Charge.objects.all())
    assert not Charge.objects.open().exists()
