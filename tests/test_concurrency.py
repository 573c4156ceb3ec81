"""Several pollers at once (cycles overlapping, workers, machines): no job is polled twice at once,
no lead is stored twice, and a lease left by a dead worker is taken over.

The pollers really run at the same time, in threads with their own database connections, against
the real sandbox; the same tests run on SQLite and on PostgreSQL (DATABASE_URL).
"""

import datetime
import json
import threading
import time
from collections import Counter

import pytest
from django.conf import settings as django_settings

from research import claims, jobs, poller
from research import clock as app_clock
from research.models import Charge, JobStatus, Lead, ResearchJob
from tests.conftest import (
    advance_to,
    assert_ledger_matches_chain,
    cap_jobs_at,
    finish,
    side_by_side,
    start,
    status_calls,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sim_now")]


@pytest.fixture
def in_flight(sandbox, monkeypatch):
    """Watches the gateway: the most status requests for one job it ever had open at once.

    Each status request is held 50 ms so that two pollers racing for a job would overlap.
    """
    handle = sandbox.gateway.handle
    lock = threading.Lock()
    now_open, most = Counter(), Counter()

    def watching(endpoint, method, url, headers, body):
        if endpoint != "deep-research-status":
            return handle(endpoint, method, url, headers, body)
        job_id = json.loads(body)["jobId"]
        with lock:
            now_open[job_id] += 1
            most[job_id] = max(most[job_id], now_open[job_id])
        try:
            time.sleep(0.05)
            return handle(endpoint, method, url, headers, body)
        finally:
            with lock:
                now_open[job_id] -= 1

    monkeypatch.setattr(sandbox.gateway, "handle", watching)
    return most


def test_two_poll_cycles_at_once_poll_each_job_once_and_store_each_lead_once(user, sandbox, clock, in_flight):
    started = [start(user, sandbox, seconds=30, results=150) for _ in range(6)]
    for job in started:
        finish(job, clock, sandbox)
    ResearchJob.objects.update(next_poll_at=app_clock.now())

    polled = side_by_side(lambda: jobs.poll_due_jobs(), lambda: jobs.poll_due_jobs())

    assert sum(polled) == 6, "each due job is claimed by exactly one of the two"
    assert set(in_flight.values()) == {1}, "never two status calls for one job at once"
    for job in started:
        job.refresh_from_db()
        assert job.status == JobStatus.COMPLETED
        assert status_calls(job) == 2  # page 1 and page 2: paid once each
        assert job.leads_stored == 150 == Lead.objects.filter(job=job).count()
        assert Lead.objects.filter(job=job).values("profile_id").distinct().count() == 150
        assert job.lease_token == "" and job.lease_until is None
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_refresh_now_while_the_poller_holds_the_job_pays_nothing_extra(user, sandbox, clock, in_flight):
    job = start(user, sandbox, seconds=30, results=150)
    finish(job, clock, sandbox)
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=app_clock.now())

    polled, refreshed = side_by_side(lambda: jobs.poll_due_jobs(), lambda: jobs.refresh(job, user))

    assert (polled, refreshed) in ((1, False), (0, True))
    assert in_flight[job.clado_id] == 1 and status_calls(job) == 2
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 150


def test_a_lease_is_exclusive_until_it_expires_and_then_another_poller_takes_over(user, sandbox, clock):
    job = start(user, sandbox, seconds=120)
    now = job.next_poll_at
    assert poller.claim(job.pk, "worker-a", now)
    assert not poller.claim(job.pk, "worker-b", now)
    assert jobs.due_job_ids(now) == []

    later = now + datetime.timedelta(seconds=django_settings.POLL_LEASE_SECONDS + 1)
    assert poller.claim(job.pk, "worker-b", later), "a dead worker's lease is reclaimed"
    claims.release(job.pk, "worker-a")  # the first worker wakes up late: it can't free b's lease
    job.refresh_from_db()
    assert job.lease_token == "worker-b"


def test_a_job_whose_worker_died_mid_poll_is_polled_once_the_lease_expires(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=5)
    finish(job, clock, sandbox)
    advance_to(clock, job.next_poll_at)
    assert poller.claim(job.pk, "dead-worker", app_clock.now())
    assert jobs.poll_due_jobs() == 0 and status_calls(job) == 0

    clock.advance(django_settings.POLL_LEASE_SECONDS + 1)
    assert jobs.poll_due_jobs() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 5 and job.lease_token == ""


def test_two_cycles_retrying_a_budget_paused_launch_launch_it_once(user, sandbox, clock):
    cap_jobs_at(1_000)
    job = jobs.launch(jobs.create_job(user, "CTOs in Oslo", 10), user)
    assert job.status == JobStatus.NEW
    cap_jobs_at(25_000_000)
    clock.advance(django_settings.POLL_BUDGET_RETRY)
    sandbox.gateway.script(job_seconds=60, results=10)

    side_by_side(lambda: jobs.poll_due_jobs(), lambda: jobs.poll_due_jobs())

    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    assert Charge.objects.filter(job=job, endpoint="deep-research").count() == 1
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))
