"""Outages on our side never end a paid job: it waits, says why, and carries on by itself.

The chain RPC down (nothing can be signed) or the gateway unreachable before payment: nothing
is paid, the job is held as *waiting* with the real cause named, and it tries again until the
dependency is back. Only the gateway saying the job failed or does not exist ends it; a job that
ended in error while the gateway still has its results can fetch them again.
"""

import json

import pytest
from django.core.management import call_command

from research import jobs
from research.models import Charge, Hold, JobStatus
from tests.conftest import advance_to, assert_ledger_matches_chain, finish, start, status_calls

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]


@pytest.fixture
def rpc_down(sandbox):
    sandbox.rpc_down = True
    yield sandbox
    sandbox.rpc_down = False


def poll_when_due(job, clock):
    job.refresh_from_db()
    advance_to(clock, job.next_poll_at)
    jobs.poll_due_jobs()
    job.refresh_from_db()
    return job


def test_a_launch_with_the_chain_rpc_down_waits_names_the_cause_and_launches_when_it_is_back(
    user, sandbox, clock, rpc_down
):
    sandbox.gateway.script(job_seconds=60, results=8)
    job = jobs.launch(jobs.create_job(user, "Heads of growth in Warsaw", 8), user)
    assert (job.status, job.hold) == (JobStatus.NEW, Hold.OUTAGE)
    assert job.message.startswith("Waiting: The chain RPC at 127.0.0.1 does not answer")
    assert "Nothing was paid." in job.message and job.message.endswith("by itself when it answers.")
    assert not Charge.objects.exclude(state=Charge.State.FAILED).exists()

    job = poll_when_due(job, clock)
    assert job.hold == Hold.OUTAGE, "still down: it keeps waiting, for free"

    sandbox.rpc_down = False
    job = poll_when_due(job, clock)
    assert job.status == JobStatus.PENDING and job.hold == Hold.NONE and job.clado_id
    assert Charge.objects.filter(job=job, endpoint="deep-research", state=Charge.State.SETTLED).count() == 1
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_an_rpc_outage_of_several_minutes_mid_job_never_ends_it_and_it_completes_with_all_results(
    user, sandbox, clock
):
    job = start(user, sandbox, seconds=240, results=230)
    job = poll_when_due(job, clock)
    assert job.is_running
    paid_before = status_calls(job)

    sandbox.rpc_down = True
    try:
        for _ in range(12):  # six simulated minutes of checks that cannot be signed
            job = poll_when_due(job, clock)
            assert job.is_running and job.hold == Hold.OUTAGE and job.failures == 0
            assert "The chain RPC at 127.0.0.1 does not answer" in job.message
        assert status_calls(job) == paid_before, "nothing was paid while the chain was down"
    finally:
        sandbox.rpc_down = False

    finish(job, clock, sandbox)
    job = poll_when_due(job, clock)
    assert job.status == JobStatus.COMPLETED and job.hold == Hold.NONE
    assert job.leads_stored == 230 == job.leads.count()
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_a_gateway_that_drops_the_connection_before_payment_holds_the_job_and_costs_nothing(
    user, sandbox, clock
):
    job = start(user, sandbox, seconds=30, results=5)
    finish(job, clock, sandbox)
    sandbox.gateway.inject("deep-research-status", "connection_drop", times=2)
    job = poll_when_due(job, clock)
    assert job.hold == Hold.OUTAGE and job.failures == 0
    assert job.message.startswith("Waiting: The gateway at 127.0.0.1 does not answer")
    job = poll_when_due(job, clock)
    job = poll_when_due(job, clock)
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 5
    assert status_calls(job) == 1
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_a_job_that_ended_in_error_fetches_its_results_again_paying_only_for_the_pages_it_lacks(
    user, sandbox, clock, settings, capsys, monkeypatch
):
    settings.POLL_MAX_FAILURES = 2
    job = start(user, sandbox, seconds=30, results=250)
    finish(job, clock, sandbox)
    handle = sandbox.gateway.handle

    def later_pages_are_garbage(endpoint, method, url, headers, body):
        paid = any(name.lower() == "authorization" for name in headers)
        if endpoint == "deep-research-status" and paid and json.loads(body).get("page", 1) > 1:
            sandbox.gateway.inject(endpoint, "malformed_json")
        return handle(endpoint, method, url, headers, body)

    monkeypatch.setattr(sandbox.gateway, "handle", later_pages_are_garbage)
    job = poll_when_due(job, clock)  # page 1 stored, page 2 garbage
    job = poll_when_due(job, clock)  # page 2 garbage again: the job gives up
    assert job.status == JobStatus.ERROR and job.leads_stored == 100
    paid = status_calls(job)

    monkeypatch.setattr(sandbox.gateway, "handle", handle)  # the gateway still has the results
    call_command("research", "resume", str(job.pk))
    assert capsys.readouterr().out.startswith("Fetched again: completed, 250 profiles stored.")
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.leads.count() == 250
    assert status_calls(job) == paid + 2, "pages 2 and 3 only: page 1 was stored already"
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))
