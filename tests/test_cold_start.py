"""A fresh install: with no past runs to learn from, the poller still spends no more than a poller
that checks every 60 s, at every job length from 30 s to 10 minutes, and stores results soon.

Real payments against the sandbox, which reports chunk progress while a job searches and results
as they arrive while it processes; the app's clock follows the sandbox's, moved one worker tick
(POLL_TICK) at a time as the poll cycle runs.
"""

import math
import statistics

import pytest
from django.conf import settings

from research import jobs, polling
from research.models import JobStatus, ResearchJob
from tests.conftest import start, status_calls

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]

LENGTHS = (30, 45, 60, 61, 75, 90, 119, 121, 150, 200, 240, 300, 420, 540, 600)


def fixed_poller_calls(seconds, results):
    """What a poller checking every 60 s from the launch pays: a check a minute while the job
    runs, one that sees it done, then the rest of its result pages."""
    return math.ceil(seconds / 60) + max(math.ceil(results / 100), 1) - 1


def run_to_the_end(job, clock, sandbox):
    """Run the poll cycle every worker tick until the job is stored; the delay from its finish."""
    remote = sandbox.gateway.jobs[job.clado_id]
    while job.is_active:
        clock.advance(settings.POLL_TICK)
        jobs.poll_due_jobs()
        job.refresh_from_db()
    return job.finished_at.timestamp() - (remote.started + remote.duration)


def forget(job):
    """Keep the install fresh for the next job: this run is not history (the policy learns from
    runs with a start time only)."""
    ResearchJob.objects.filter(pk=job.pk).update(run_started_at=None)


def test_no_job_costs_more_than_a_60_s_poller_and_results_are_stored_soon(user, sandbox, clock):
    delays = []
    for number, seconds in enumerate(LENGTHS):
        results = (40, 140, 240, 35, 420)[number % 5]
        job = start(user, sandbox, seconds=seconds, results=results)
        assert polling.is_cold(polling.recent_runs()), "every job here sees a fresh install"
        delay = run_to_the_end(job, clock, sandbox)
        assert job.status == JobStatus.COMPLETED and job.leads_stored == results
        assert status_calls(job) <= fixed_poller_calls(seconds, results), (seconds, status_calls(job))
        assert 0 <= delay <= 120, (seconds, delay)
        delays.append(delay)
        forget(job)
    assert statistics.median(delays) <= 60, delays


def test_three_90_s_jobs_on_a_fresh_database_cost_what_a_60_s_poller_does(user, sandbox, clock):
    # As they are judged: one after another, each run joining the history (still too short to learn from).
    for results in (40, 140, 240):
        job = start(user, sandbox, seconds=90, results=results)
        delay = run_to_the_end(job, clock, sandbox)
        assert status_calls(job) <= fixed_poller_calls(90, results) == 1 + math.ceil(results / 100)
        assert job.leads_stored == results and delay <= 60


def test_the_first_check_waits_for_a_fixed_pollers_first_and_each_next_for_its_next(user, sandbox, clock):
    job = start(user, sandbox, seconds=600, results=50)
    checks = []
    while job.is_active:
        clock.advance(settings.POLL_TICK)
        if jobs.poll_due_jobs():
            job.refresh_from_db()
            checks.append((job.checked_at - job.run_started_at).total_seconds())
    # The k-th check never before k minutes: however long the job, never more than that poller.
    assert all(at >= 60 * k for k, at in enumerate(checks, start=1)), checks
    # Nor ever more than POLL_COLD_MAX_GAP apart, so a misjudged finish is seen soon.
    gaps = [later - earlier for earlier, later in zip(checks, checks[1:], strict=False)]
    assert max(gaps) <= settings.POLL_COLD_MAX_GAP + settings.POLL_TICK, gaps
    assert len(checks) < 10, "the job's own progress spared some of the ten a 60 s poller makes"


def test_runs_seen_late_by_a_check_that_was_not_aimed_teach_their_real_length(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=5)
    run_to_the_end(job, clock, sandbox)
    # Seen done by the first check, a minute in: it finished at some moment in that minute.
    assert job.finished_after == job.run_started_at and not job.next_poll_aimed
    assert (job.finished_at - job.run_started_at).total_seconds() == pytest.approx(60, abs=settings.POLL_TICK)
    assert polling.past_durations() == [pytest.approx(30, abs=settings.POLL_TICK)]
