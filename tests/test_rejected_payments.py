"""A payment the gateway rejects after it was sent is never booked "nothing moved" on its word alone.

A gateway may broadcast our transaction and then answer 402 or 403. So any answer to the paid
retry without a receipt leaves the charge *unknown*; only the chain closes it: settled when the
transaction is there, failed once it is not and can no longer be included. The ledger then equals
the chain, base unit for base unit, and the budgets count what really moved.
"""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from research import jobs, wallet
from research.models import BudgetScope, BudgetWindow, Charge, JobStatus
from tests.conftest import advance_to, assert_ledger_matches_chain, finish, start, transfers_by_hash

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]

STATUS = "deep-research-status"
AFTER_EXPIRY = datetime.timedelta(minutes=5)  # pympp signs a transaction valid for about a minute


@pytest.fixture
def finished_job(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=12)
    finish(job, clock, sandbox)
    advance_to(clock, job.next_poll_at)
    return job


def poll(job):
    jobs.poll_due_jobs()
    job.refresh_from_db()
    return job


def status_charge(job):
    return Charge.objects.get(job=job, endpoint=STATUS)


@pytest.mark.parametrize("fault", ["reject_402_after_broadcast", "reject_403_after_broadcast"])
def test_a_rejection_after_the_money_moved_is_unknown_until_the_chain_settles_it(
    finished_job, sandbox, clock, fault
):
    sandbox.gateway.inject(STATUS, fault)
    job = poll(finished_job)
    charge = status_charge(job)
    assert charge.state == Charge.State.UNKNOWN, "the gateway's word alone is not proof"
    assert charge.tx_hash in transfers_by_hash(sandbox), "the gateway did broadcast it"
    assert "only the chain can tell" in charge.detail
    assert job.is_running and "the chain will tell whether it moved" in job.message

    assert wallet.reconcile(charge) == Charge.State.SETTLED
    assert_ledger_matches_chain(sandbox, [charge])
    window = BudgetWindow.objects.get(scope=BudgetScope.JOB, key=str(job.pk))
    assert window.reserved == 0 and window.spent == sum(c.amount for c in job.charges.all())

    advance_to(clock, job.next_poll_at)
    job = poll(job)  # the lost answer is asked for again with a new, single payment
    assert job.status == JobStatus.COMPLETED and job.leads_stored == 12
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


@pytest.mark.parametrize("fault", ["reject_402_unsettled", "reject_403_unsettled"])
def test_a_rejection_before_the_money_moved_fails_only_once_the_transaction_is_dead(
    finished_job, sandbox, fault
):
    sandbox.gateway.inject(STATUS, fault)
    job = poll(finished_job)
    charge = status_charge(job)
    assert charge.state == Charge.State.UNKNOWN and charge.tx_hash not in transfers_by_hash(sandbox)
    assert charge.valid_before is not None, "the transaction's expiry is read from what was signed"

    assert wallet.reconcile(charge) == Charge.State.UNKNOWN, "still includable: it may yet land"
    assert wallet.reconcile(charge, now=timezone.now() + AFTER_EXPIRY) == Charge.State.FAILED
    assert "Not on chain and expired" in Charge.objects.get(pk=charge.pk).detail
    assert_ledger_matches_chain(sandbox, [charge])
    window = BudgetWindow.objects.get(scope=BudgetScope.JOB, key=str(job.pk))
    assert window.reserved == 0, "the reservation is given back once the chain says nothing moved"


def test_reconcile_from_the_command_line_resolves_every_open_charge_and_says_what_changed(
    finished_job, sandbox, capsys
):
    sandbox.gateway.inject(STATUS, "reject_402_after_broadcast")
    charge = status_charge(poll(finished_job))
    call_command("research", "reconcile")
    out = capsys.readouterr().out
    assert f"Charge {charge.pk} ({STATUS}, {charge.tx_hash}): unknown -> settled" in out
    assert "Reconciled 1 charge(s); 0 still open." in out
    assert_ledger_matches_chain(sandbox, [charge])


def test_research_poll_reconciles_as_the_workers_cycle_does(finished_job, sandbox, capsys):
    sandbox.gateway.inject(STATUS, "reject_403_after_broadcast")
    charge = status_charge(poll(finished_job))
    Charge.objects.filter(pk=charge.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=2))
    call_command("research", "poll")
    assert "Reconciled 1 charge(s)" in capsys.readouterr().out
    assert Charge.objects.get(pk=charge.pk).state == Charge.State.SETTLED
    assert_ledger_matches_chain(sandbox, Charge.objects.all())
