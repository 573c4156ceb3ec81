"""Any challenge, however absurd, is refused with its real reason before anything is signed.

The job then ends at once with that reason, in one clean sentence per fact; nothing moves on
chain and no charge row is written. A gateway asking us to wait for ever is waited on for at
most an hour.
"""

import pytest

from research import jobs
from research.models import AuditEvent, Charge, JobStatus
from tests.conftest import advance_to, assert_ledger_matches_chain, finish, start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]

REASONS = [
    ("absurd_amount", "The gateway asked $10,000,000,000,000,000,000,000,000,000,000,000.00, more than the"),
    ("negative_amount", "an amount that is not a positive whole number of base units ('-5000')"),
    ("non_integer_amount", "an amount that is not a positive whole number of base units"),
    ("wrong_chain", "The gateway asked to pay on chain 1 instead of 4217."),
    ("expired_challenge", "The gateway's challenge expired at"),
    ("wrong_recipient", "unexpected recipient (0x000000000000000000000000000000000000dEaD)"),
    ("overprice", "The gateway asked $0.03, more than the $0.003 deep-research-status should cost."),
]


@pytest.mark.parametrize(("fault", "reason"), REASONS)
def test_a_status_check_facing_a_hostile_challenge_ends_the_job_at_once_with_the_real_reason(
    user, sandbox, clock, fault, reason
):
    job = start(user, sandbox, seconds=30, results=5)
    finish(job, clock, sandbox)
    advance_to(clock, job.next_poll_at)
    transfers = len(sandbox.chain.transfers)
    sandbox.gateway.inject("deep-research-status", fault)

    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.ERROR and job.next_poll_at is None
    assert reason in job.message and job.message.endswith("Nothing was paid.")
    assert ".." not in job.message and "Nothing was paid. Nothing was paid." not in job.message
    assert not Charge.objects.filter(job=job, endpoint="deep-research-status").exists()
    assert len(sandbox.chain.transfers) == transfers
    assert AuditEvent.objects.filter(job=job, action=AuditEvent.Action.REFUSED).count() == 1
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


@pytest.mark.parametrize(("fault", "reason"), REASONS[:5])
def test_a_launch_facing_a_hostile_challenge_is_not_launched_and_says_why(user, sandbox, fault, reason):
    sandbox.gateway.inject("deep-research", fault)
    job = jobs.launch(jobs.create_job(user, f"Founders in Porto ({fault})", 5), user)
    assert job.status == JobStatus.ERROR and job.lease_until is None, "ended at once, not left launching"
    assert job.message.startswith("Not launched: ") and job.message.endswith("Nothing was paid.")
    assert reason in job.message
    assert not Charge.objects.exists()
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_a_retry_after_of_any_size_is_capped_at_an_hour(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=5)
    finish(job, clock, sandbox)
    advance_to(clock, job.next_poll_at)
    sandbox.gateway.inject("deep-research-status", "retry_after_huge")
    jobs.poll_due_jobs()
    job.refresh_from_db()
    wait = (job.next_poll_at - clock.aware()).total_seconds()
    assert wait == 3600 and job.is_running
    assert job.message == "The gateway asked us to slow down; next status check in 3600 s."
    assert_ledger_matches_chain(sandbox, Charge.objects.all())
