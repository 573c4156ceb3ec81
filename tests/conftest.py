"""Shared fixtures: a real sandbox gateway and chain on a loopback port, a clock the tests move.

Every paid call in the tests is a real MPP payment: pympp's client (in the app) against
pympp's server (in the sandbox) over a socket, settled on the sandbox chain.
"""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from research import clock as app_clock
from research import jobs, wallet
from research.models import BudgetCap, BudgetWindow, Charge, JobStatus, ResearchJob
from research.sandbox import Sandbox, SimulatedClock


@pytest.fixture(scope="session")
def sandbox_clock():
    """Simulated time for the sandbox's job progress: tests advance it instead of sleeping."""
    return SimulatedClock()


@pytest.fixture
def clock(sandbox_clock):
    return sandbox_clock


@pytest.fixture(scope="session")
def sandbox(sandbox_clock):
    with Sandbox(port=0, clock=sandbox_clock, job_seconds=60.0) as sb:
        yield sb


@pytest.fixture(autouse=True)
def gateway_settings(settings, sandbox):
    """Point the app at the test sandbox; keep timeouts short so fault tests stay quick. The
    sandbox lives for the whole session: no fault or job shape queued by one test reaches the next."""
    _forget_queued(sandbox)
    settings.CLADO_MPP_URL = sandbox.url
    settings.TEMPO_RPC_URL = sandbox.rpc_url
    settings.SANDBOX_MODE = True
    settings.GATEWAY_TIMEOUT = 5.0
    settings.GATEWAY_PAID_TIMEOUT = 3.0
    settings.LAUNCH_RATE_LIMIT = None  # tests launch many jobs; tests/test_launch_rate.py sets its own
    sandbox.gateway.hang_seconds = 4.0
    yield
    _forget_queued(sandbox)


def _forget_queued(sandbox):
    sandbox.gateway.clear_faults()
    sandbox.gateway.clear_scripts()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", password="s3cret-pass")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("boss", password="s3cret-pass")


@pytest.fixture
def bob(django_user_model):
    """A second salesperson."""
    return django_user_model.objects.create_user("bob", password="s3cret-pass")


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def in_team(name, *people):
    """A team (a Django auth group) with these people in it."""
    from django.contrib.auth.models import Group

    team, _ = Group.objects.get_or_create(name=name)
    team.user_set.add(*people)
    return team


def transfers_by_hash(sandbox):
    return {t.tx_hash.lower(): t for t in sandbox.chain.transfers}


def our_transfers(sandbox, since):
    """What the chain recorded from our wallet since transfer number `since`."""
    payer = wallet.payer_address().lower()
    return [t for t in sandbox.chain.transfers[since:] if t.sender.lower() == payer]


# --- Jobs in simulated time, and the ledger checked against the chain ----------------------


@pytest.fixture
def sim_now(clock, sandbox):
    """The app takes its time from the sandbox's clock; no fault outlives its test."""
    sandbox.gateway.clear_faults()
    with app_clock.use(lambda: datetime.datetime.fromtimestamp(clock(), datetime.UTC)):
        yield app_clock.now
    sandbox.gateway.clear_faults()


def start(user, sandbox, *, seconds=60, results=30):
    """A launched job whose duration and result count the sandbox is told in advance."""
    sandbox.gateway.script(job_seconds=seconds, results=results)
    job = jobs.launch(jobs.create_job(user, "Heads of sales in Berlin", max(results, 1), again=True), user)
    assert job.status == JobStatus.PENDING, job.message
    return job


def when_due(job):
    """Move time to the job's next scheduled poll."""
    job.refresh_from_db()
    return job.next_poll_at


def advance_to(clock, moment):
    clock.advance(max((moment - app_clock.now()).total_seconds(), 0))


def status_calls(job):
    return Charge.objects.filter(job=job, endpoint="deep-research-status").count()


def finish(job, clock, sandbox):
    """Let the sandbox job run past its end."""
    remote = sandbox.gateway.jobs[job.clado_id]
    clock.advance(max(remote.started + remote.duration - clock(), 0) + 1)


def past_run(user, seconds, *, eta=None, fraction=None):
    """A completed run in the history the policy learns from (no calls, no money)."""
    now = app_clock.now()
    return ResearchJob.objects.create(
        owner=user,
        query="past",
        limit=10,
        status=JobStatus.COMPLETED,
        launched_at=now - datetime.timedelta(seconds=seconds),
        run_started_at=now - datetime.timedelta(seconds=seconds),
        finished_at=now,
        search_eta=eta,
        search_fraction=fraction,
    )


def assert_ledger_matches_chain(sandbox, charges):
    """Every settled charge is one transfer on chain, to the base unit; every failed one is none."""
    on_chain = transfers_by_hash(sandbox)
    for charge in charges:
        charge.refresh_from_db()
        transfer = on_chain.get((charge.tx_hash or "").lower())
        if charge.state == Charge.State.SETTLED:
            assert transfer is not None, charge
            assert (transfer.amount, transfer.currency.lower(), transfer.recipient.lower()) == (
                charge.amount,
                charge.currency.lower(),
                charge.recipient.lower(),
            )
            assert transfer.sender.lower() == charge.payer.lower()
        else:
            assert charge.state == Charge.State.FAILED and transfer is None, charge


def cap_jobs_at(amount):
    BudgetCap.objects.update_or_create(scope=BudgetWindow.Scope.JOB, user=None, defaults={"cap": amount})
    BudgetWindow.objects.filter(scope=BudgetWindow.Scope.JOB).update(cap=amount)


def finish_and_poll(job, clock, sandbox):
    """Let the sandbox job finish, then run one poll cycle (status call plus result pages)."""
    clock.advance(sandbox.gateway.jobs[job.clado_id].duration + 1)
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    jobs.poll_due_jobs()
    job.refresh_from_db()
    return job


# --- Real races -------------------------------------------------------------------------------


def side_by_side(*calls):
    """Run the calls in threads released at the same instant; return their results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    errors = []

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # surfaced below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def capped_count_statements():
    """What a page's capped count adds to its queries: on PostgreSQL it runs in a transaction of
    its own that turns parallel workers off (BEGIN, SET LOCAL, COMMIT; `research.paging`)."""
    return 3 if connection.vendor == "postgresql" else 0
