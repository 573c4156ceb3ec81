"""The poller: every paid status call earns its price, and nothing is lost or paid twice.

Real payments against the sandbox; the app's clock (`research.clock`) follows the sandbox's, so
tests move time instead of waiting.
"""

import datetime

import pytest
from django.conf import settings as django_settings
from django_q.models import Schedule

from research import clock as app_clock
from research import ingest, jobs, poller, polling, tasks
from research.clado import StatusPage
from research.models import AuditEvent, Charge, JobStatus, Lead, Person, ResearchJob
from tests.conftest import (
    advance_to,
    assert_ledger_matches_chain,
    cap_jobs_at,
    finish,
    past_run,
    start,
    status_calls,
    when_due,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]


# --- When to poll ----------------------------------------------------------------------------


def test_on_a_fresh_install_the_first_poll_comes_when_a_fixed_pollers_first_check_would(user, sandbox):
    job = start(user, sandbox)
    assert (job.next_poll_at - job.launched_at).total_seconds() == django_settings.POLL_COLD_PACE


def test_the_first_poll_waits_until_the_quickest_past_runs_would_be_done_but_not_past_a_minute(user):
    for seconds in (30, 32, 35, 120, 125, 600, 610, 620):
        past_run(user, seconds)
    assert polling.first_poll_delay() == datetime.timedelta(seconds=35)  # a quarter were quicker
    for seconds in (900, 950, 1000, 1100, 1200, 1300, 1400, 1500, 1600):
        past_run(user, seconds)
    assert polling.first_poll_delay() == datetime.timedelta(seconds=django_settings.POLL_FIRST_MAX)


def learn_from_past_runs(user):
    """Past runs like the sandbox's: search from 5% to 60% of the run, then processing."""
    for seconds, fraction in ((100, 0.3), (200, 0.5), (300, 0.7), (400, 0.85), (500, 0.45)):
        share = 0.05 + 0.55 * fraction
        past_run(user, seconds, eta=seconds * share / fraction, fraction=fraction)


def test_a_running_job_is_next_polled_at_its_predicted_finish(user, sandbox, clock):
    learn_from_past_runs(user)
    a, b = polling.progress_line()
    # Learned from sightings that come half an overdue step late on average.
    assert a == pytest.approx(0.05, abs=0.03) and b == pytest.approx(0.55, abs=0.05)

    job = start(user, sandbox, seconds=300)
    clock.advance(150)  # half way: 8 of 10 chunks searched
    assert jobs.poll_due_jobs() == 1
    job.refresh_from_db()
    assert (job.status, job.chunks_done) == (JobStatus.SEARCHING, 8)
    predicted = polling.predicted_finish(job, 150)
    assert predicted == pytest.approx(300, rel=0.1)
    assert (job.next_poll_at - job.run_started_at).total_seconds() == pytest.approx(predicted)


def test_a_coarse_early_reading_is_refined_late_in_the_search_before_betting_on_the_finish(
    user, sandbox, clock
):
    learn_from_past_runs(user)
    job = start(user, sandbox, seconds=600)
    clock.advance(90)  # 15% in: one chunk of ten done, a prediction good to a few minutes only
    jobs.poll_due_jobs()
    job.refresh_from_db()
    predicted = polling.predicted_finish(job, 90)
    wait = (job.next_poll_at - app_clock.now()).total_seconds()
    assert job.chunks_done == 1 and wait < predicted - 90
    advance_to(clock, job.next_poll_at)
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.SEARCHING and job.search_fraction >= 0.5


def test_a_job_longer_than_every_past_run_and_a_late_one_are_checked_an_overdue_step_apart(user):
    for seconds in (30, 32, 35, 40):
        past_run(user, seconds)
    job = ResearchJob(owner=user, status=JobStatus.PENDING, polls=3, run_checks=3)
    job.launched_at = job.run_started_at = app_clock.now() - datetime.timedelta(seconds=100)
    # Nothing predicts its finish any more: no geometric back-off from a few seconds, but the
    # step that bounds how late a finish is seen.
    assert polling.next_poll_delay(job, app_clock.now()) == django_settings.POLL_OVERDUE_INTERVAL
    # Past its predicted finish, a job is checked at most an overdue step apart.
    job.status, job.search_eta, job.search_fraction, job.chunks_total = JobStatus.PROCESSING, 60, 0.5, 10
    later = app_clock.now() + datetime.timedelta(seconds=400)
    assert polling.next_poll_delay(job, later) <= django_settings.POLL_OVERDUE_INTERVAL


def test_a_terminal_job_is_never_polled(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=5)
    finish(job, clock, sandbox)
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=app_clock.now())
    assert jobs.poll_due_jobs() == 1
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=app_clock.now())  # a stray schedule
    clock.advance(60)
    assert jobs.poll_due_jobs() == 0
    assert not poller.claim(job.pk, "someone", app_clock.now(), due_only=False)
    assert status_calls(job) == 1


def test_on_completion_every_page_is_fetched_at_100_a_page_in_the_same_cycle(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=250)
    finish(job, clock, sandbox)
    advance_to(clock, when_due(job))
    before = len(sandbox.gateway.calls)
    assert jobs.poll_due_jobs() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.next_poll_at is None
    assert status_calls(job) == 3  # pages 1, 2 and 3, each $0.003
    assert [c for c in sandbox.gateway.calls[before:] if c[1]] == [("deep-research-status", True, 200)] * 3
    assert job.leads_stored == job.results_reported == 250 == job.leads.count()
    assert list(job.leads.values_list("position", flat=True)) == list(range(250))


def test_refresh_now_polls_one_job_once_outside_the_schedule(user, sandbox, clock):
    job = start(user, sandbox, seconds=120)
    clock.advance(30)
    scheduled = when_due(job)
    assert jobs.refresh(job, user) is True
    job.refresh_from_db()
    assert status_calls(job) == 1 and job.polls == 1 and job.next_poll_at > scheduled
    assert AuditEvent.objects.filter(job=job, action=AuditEvent.Action.REFRESH, user=user).exists()

    finish(job, clock, sandbox)
    jobs.refresh(job, user)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert jobs.refresh(job, user) is False, "a finished job is not polled again"
    assert status_calls(job) == 2


# --- Results -------------------------------------------------------------------------------


def test_a_repeated_or_overlapping_page_stores_nothing_twice_and_counts_agree(user, sandbox):
    job = start(user, sandbox)

    def page(first, count, number):
        results = [{"profile": {"id": str(i), "name": f"Person {i}"}} for i in range(first, first + count)]
        return StatusPage(status="completed", results=results, page=number)

    ingest.store_page(job, page(0, 100, 1))
    ingest.store_page(job, page(0, 100, 1))  # the same page again
    ingest.store_page(job, page(50, 100, 1))  # an overlapping one
    assert Lead.objects.filter(job=job).count() == 150 == job.leads_stored
    job.refresh_from_db()
    assert job.leads_stored == 150
    for person in Person.objects.filter(leads__job=job):  # each at a lead that was stored
        assert person.latest_lead_id == max(person.leads.values_list("pk", flat=True))


# --- Budgets -------------------------------------------------------------------------------


def test_a_launch_the_budget_refuses_waits_says_why_and_launches_by_itself_when_the_cap_allows(
    user, sandbox, clock
):
    cap_jobs_at(1_000)  # less than any launch costs
    job = jobs.launch(jobs.create_job(user, "CTOs in Oslo", 10), user)
    assert job.status == JobStatus.NEW and job.clado_id is None
    assert "Waiting for budget" in job.message and "Nothing was paid" in job.message
    assert job.next_poll_at == app_clock.now() + datetime.timedelta(seconds=django_settings.POLL_BUDGET_RETRY)
    assert not Charge.objects.filter(job=job).exists()

    clock.advance(django_settings.POLL_BUDGET_RETRY)
    jobs.poll_due_jobs()  # still capped: tried again, nothing paid
    job.refresh_from_db()
    assert job.status == JobStatus.NEW and not Charge.objects.filter(job=job).exists()

    cap_jobs_at(25_000_000)
    clock.advance(django_settings.POLL_BUDGET_RETRY)
    sandbox.gateway.script(job_seconds=60, results=10)
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.clado_id
    assert list(Charge.objects.filter(job=job).values_list("endpoint", "state")) == [
        ("deep-research", "settled")
    ]


def test_a_poll_the_budget_refuses_pauses_the_job_and_it_resumes_when_the_cap_allows(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=10)
    spent = Charge.objects.filter(job=job).total()
    cap_jobs_at(spent + 1_000)  # less than one status call
    finish(job, clock, sandbox)
    advance_to(clock, when_due(job))
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.is_active and job.message.startswith("Paused: Budget reached")
    assert status_calls(job) == 0

    cap_jobs_at(25_000_000)
    advance_to(clock, when_due(job))
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 10


# --- Cancel and more -----------------------------------------------------------------------


def test_cancel_stops_a_running_job_for_three_tenths_of_a_cent(user, sandbox, clock):
    job = start(user, sandbox, seconds=120)
    clock.advance(20)
    assert jobs.cancel(job, user) == "Job cancelled"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.next_poll_at is None
    cancel = Charge.objects.get(job=job, endpoint="deep-research-cancel")
    assert (cancel.amount, cancel.state) == (3_000, Charge.State.SETTLED)
    assert jobs.cancel(job, user).startswith("This job has already ended (cancelled). Nothing was paid.")
    assert Charge.objects.filter(job=job, endpoint="deep-research-cancel").count() == 1


def test_cancel_on_a_job_that_already_finished_says_so_and_fetches_its_results(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=12)
    finish(job, clock, sandbox)  # finished at Clado; not yet seen here
    message = jobs.cancel(job, user)
    assert message == (
        "Not cancelled: Cannot cancel job: already completed. The call was paid ($0.003). "
        "Its results are being fetched."
    )
    job.refresh_from_db()
    assert job.is_active and job.next_poll_at == app_clock.now()
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 12


def test_cancel_before_launch_pays_nothing(user):
    cap_jobs_at(1_000)
    job = jobs.launch(jobs.create_job(user, "CTOs in Oslo", 10), user)
    assert jobs.cancel(job, user) == "Cancelled before launch. Nothing was paid."
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and not Charge.objects.filter(job=job).exists()


def test_more_results_resume_polling_and_the_new_leads_are_stored(user, sandbox, clock):
    job = start(user, sandbox, seconds=40, results=20)
    finish(job, clock, sandbox)
    advance_to(clock, when_due(job))
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 20

    message = jobs.more(job, user, 30)
    job.refresh_from_db()
    assert message == "Searching for 30 more results"
    assert job.is_active and job.limit == 50 and job.finished_at is None and job.next_poll_at
    more = Charge.objects.get(job=job, endpoint="deep-research-more")
    assert (more.amount, more.state) == (10_000 * 30 + 3_000, Charge.State.SETTLED)

    added = sandbox.gateway.jobs[job.clado_id].extensions[0]
    clock.advance(added.duration + 1)
    while job.is_active:
        advance_to(clock, when_due(job))
        jobs.poll_due_jobs()
        job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert job.leads_stored == 20 + added.added == job.leads.count() == job.results_reported
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_more_on_an_unfinished_job_is_refused_with_a_clear_message(user, sandbox, clock):
    job = start(user, sandbox, seconds=60)
    assert jobs.more(job, user, 10) == (
        "More results can be asked for once the job has completed. Nothing was paid."
    )
    assert not Charge.objects.filter(job=job, endpoint="deep-research-more").exists()

    # The stored state says completed but Clado says otherwise: the gateway answers 409.
    ResearchJob.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED)
    message = jobs.more(job, user, 10, confirmed=True)  # it found 0 of 30: asked to confirm
    assert message == (
        "No more results: Cannot request more results: job is pending. The call was paid ($0.103)."
    )
    # The gateway charges the full price of "more" even for its refusal: hence the check first.
    assert Charge.objects.get(job=job, endpoint="deep-research-more").amount == 10_000 * 10 + 3_000


# --- The django-q2 side --------------------------------------------------------------------


def test_the_queue_never_retries_or_replays_paid_work_and_a_cycle_fits_in_its_timeout():
    q = django_settings.Q_CLUSTER
    assert q["catch_up"] is False and q["max_attempts"] == 1
    longest_call = django_settings.GATEWAY_TIMEOUT + django_settings.GATEWAY_PAID_TIMEOUT
    assert q["timeout"] >= django_settings.POLL_CYCLE_SECONDS + longest_call
    assert q["retry"] > q["timeout"]
    schedule = Schedule.objects.get(name="research: poll due jobs")
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "research.tasks.poll_cycle",
        Schedule.MINUTES,
        1,
        -1,
    )


def test_a_poll_cycle_polls_due_jobs_and_reconciles_open_charges(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=3)
    finish(job, clock, sandbox)
    advance_to(clock, when_due(job))
    assert tasks.poll_cycle(seconds=0) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 3
