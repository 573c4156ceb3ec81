"""When the gateway misbehaves, every fault has a defined outcome, and the ledger still matches the chain.

Retry later with back-off, or end the job in error with a readable message after a bounded
number of failures. A payment whose outcome is unknown is recorded as such, reconciled against
the chain by its transaction hash, and never paid again blindly.
"""

import datetime
import json

import pytest
from django.conf import settings as django_settings

from research import clock as app_clock
from research import jobs, polling, tasks
from research.models import AuditEvent, Charge, JobStatus
from tests.conftest import (
    advance_to,
    assert_ledger_matches_chain,
    finish,
    start,
    status_calls,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]


@pytest.fixture(autouse=True)
def quick_timeouts(gateway_settings, settings, sandbox):
    """A paid retry that hangs is given up on after 1 s (the gateway holds it for 1.5 s)."""
    settings.GATEWAY_PAID_TIMEOUT = 1.0
    settings.POLL_MAX_FAILURES = 3
    sandbox.gateway.hang_seconds = 1.5


@pytest.fixture
def finished_job(user, sandbox, clock):
    """A job that has finished at Clado with 12 results, its next poll due now."""
    job = start(user, sandbox, seconds=30, results=12)
    finish(job, clock, sandbox)
    advance_to(clock, job.next_poll_at)
    return job


def poll(job, clock=None):
    if clock is not None:
        job.refresh_from_db()
        advance_to(clock, job.next_poll_at)
    jobs.poll_due_jobs()
    job.refresh_from_db()
    return job


def retried_later(job, failures):
    wait = (job.next_poll_at - app_clock.now()).total_seconds()
    return job.is_active and job.failures == failures and wait == polling.backoff_delay(failures)


def test_a_gateway_error_before_payment_costs_nothing_and_is_retried_with_backoff(
    finished_job, sandbox, clock
):
    sandbox.gateway.inject("deep-research-status", "http_500")
    job = poll(finished_job)
    assert retried_later(job, 1)
    assert job.message.startswith("Status check failed, retrying (1/3): Gateway error:")
    assert status_calls(job) == 0

    job = poll(job, clock)
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 12 and job.failures == 0
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_a_gateway_that_keeps_failing_ends_the_job_after_a_bounded_number_of_tries(
    finished_job, sandbox, clock
):
    sandbox.gateway.inject("deep-research-status", "http_500", times=3)
    job = poll(finished_job)
    job = poll(job, clock)
    assert retried_later(job, 2)
    job = poll(job, clock)
    assert job.status == JobStatus.ERROR and job.next_poll_at is None
    assert job.message.startswith("Stopped after 3 failed status calls in a row: Gateway error:")
    assert job.message.endswith("Nothing was paid.")
    clock.advance(3600)
    assert jobs.poll_due_jobs() == 0
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_a_5xx_after_payment_is_recorded_unknown_retried_and_reconciled_by_hash(finished_job, sandbox, clock):
    sandbox.gateway.inject("deep-research-status", "http_500_after_payment")
    job = poll(finished_job)
    assert retried_later(job, 1)
    unknown = Charge.objects.get(job=job, endpoint="deep-research-status")
    assert unknown.state == Charge.State.UNKNOWN and unknown.tx_hash

    job = poll(job, clock)  # a new status call: the lost answer is asked for again, not re-paid
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 12
    tasks.reconcile_open_charges(older_than_seconds=0)
    unknown.refresh_from_db()
    assert unknown.state == Charge.State.SETTLED
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_a_timeout_after_the_paid_retry_leaves_an_unknown_charge_that_the_chain_settles(
    finished_job, sandbox, clock
):
    sandbox.gateway.inject("deep-research-status", "timeout_after_payment")
    job = poll(finished_job)
    assert retried_later(job, 1)
    assert "No answer after the paid retry" in job.message
    charge = Charge.objects.get(job=job, endpoint="deep-research-status")
    assert charge.state == Charge.State.UNKNOWN

    tasks.reconcile_open_charges(older_than_seconds=0)
    charge.refresh_from_db()
    assert charge.state == Charge.State.SETTLED and "reconciled" in charge.detail
    assert Charge.objects.filter(job=job, endpoint="deep-research-status").count() == 1, "never re-paid"
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_a_launch_whose_answer_is_lost_is_never_launched_again_and_its_charge_is_reconciled(
    user, sandbox, clock
):
    sandbox.gateway.inject("deep-research", "timeout_after_payment")
    sandbox.gateway.script(job_seconds=30, results=5)
    job = jobs.launch(jobs.create_job(user, "CFOs in Lisbon", 5), user)
    assert job.status == JobStatus.ERROR
    assert job.message == (
        "The launch was paid but no answer came back, so the job id is unknown. "
        "The charge is being reconciled against the chain."
    )
    clock.advance(3600)
    jobs.poll_due_jobs()
    jobs.launch(job, user)
    launch = Charge.objects.get(job=job)  # one launch charge, however often it is asked
    assert launch.state == Charge.State.UNKNOWN

    tasks.reconcile_open_charges(older_than_seconds=0)
    launch.refresh_from_db()
    assert launch.state == Charge.State.SETTLED and launch.amount == 10_000 * 5 + 3_000
    assert_ledger_matches_chain(sandbox, [launch])


def test_malformed_json_is_paid_for_and_retried(finished_job, sandbox, clock):
    sandbox.gateway.inject("deep-research-status", "malformed_json")
    job = poll(finished_job)
    assert retried_later(job, 1)
    assert "body that is not a JSON object" in job.message
    assert Charge.objects.get(job=job, endpoint="deep-research-status").state == Charge.State.SETTLED

    job = poll(job, clock)
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 12
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_a_rate_limit_waits_as_long_as_the_gateway_asks_and_costs_nothing(finished_job, sandbox, clock):
    sandbox.gateway.inject("deep-research-status", "rate_limit")
    job = poll(finished_job)
    assert job.next_poll_at == app_clock.now() + datetime.timedelta(seconds=60)
    assert (
        job.failures == 0 and job.message == "The gateway asked us to slow down; next status check in 60 s."
    )
    assert status_calls(job) == 0

    job = poll(job, clock)
    assert job.status == JobStatus.COMPLETED
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_a_job_the_gateway_does_not_know_ends_in_error_after_bounded_paid_tries(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=5)
    type(job).objects.filter(pk=job.pk).update(clado_id="6d1c7a52-0000-4000-8000-000000000000")
    job = poll(job, clock)
    assert retried_later(job, 1) and job.message.endswith("Not found: Job not found.")
    job = poll(job, clock)
    job = poll(job, clock)
    assert job.status == JobStatus.ERROR
    assert job.message == (
        "Stopped after 3 failed status calls in a row: Not found: Job not found. The call was paid ($0.003)."
    )
    assert status_calls(job) == 3  # the gateway charges for its 404
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_an_unpaid_404_from_the_gateway_is_retried_like_any_hiccup(finished_job, sandbox, clock):
    sandbox.gateway.inject("deep-research-status", "not_found")
    job = poll(finished_job)
    assert retried_later(job, 1) and status_calls(job) == 0
    job = poll(job, clock)
    assert job.status == JobStatus.COMPLETED
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("overprice", "The gateway asked $0.03, more than the $0.003 deep-research-status should cost."),
        ("wrong_recipient", "unexpected recipient (0x000000000000000000000000000000000000dEaD)"),
        ("wrong_currency", "unexpected currency (0x20c0000000000000000000000000000000000000)"),
    ],
)
def test_a_price_the_wallet_refuses_is_never_paid_and_ends_the_job_at_once_with_its_reason(
    finished_job, sandbox, clock, settings, fault, words
):
    settings.MPP_CURRENCIES = [django_settings.USDC_E]  # pathUSD is then a wrong currency
    sandbox.gateway.inject("deep-research-status", fault)
    job = poll(finished_job)
    assert job.status == JobStatus.ERROR and job.next_poll_at is None
    assert job.message.startswith("Stopped: The gateway asked")
    assert words in job.message and job.message.endswith("Nothing was paid.")
    assert status_calls(job) == 0
    assert AuditEvent.objects.filter(job=job, action=AuditEvent.Action.REFUSED).count() == 1
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_pages_cut_short_by_a_fault_resume_where_they_stopped_and_none_is_paid_twice(
    user, sandbox, clock, monkeypatch
):
    job = start(user, sandbox, seconds=30, results=350)
    finish(job, clock, sandbox)
    handle = sandbox.gateway.handle

    def page_two_fails_once(endpoint, method, url, headers, body):
        if endpoint == "deep-research-status" and json.loads(body).get("page") == 2:
            monkeypatch.setattr(sandbox.gateway, "handle", handle)
            sandbox.gateway.inject(endpoint, "http_500")
        return handle(endpoint, method, url, headers, body)

    monkeypatch.setattr(sandbox.gateway, "handle", page_two_fails_once)
    job = poll(job, clock)
    assert retried_later(job, 1) and job.leads_stored == 100 and job.finished_at is not None

    job = poll(job, clock)
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 350 == job.leads.count()
    assert status_calls(job) == 4, "pages 1, 2, 3 and 4, each paid once"
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))
