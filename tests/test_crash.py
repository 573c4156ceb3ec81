"""A crash mid-payment loses nothing: the ledger row was written before the money moved.

The launch runs in a real process (`manage.py research start`) that is killed while the
gateway, having taken the payment, has not answered yet.
"""

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.utils import timezone

from research import clock as app_clock
from research import jobs, wallet
from research.models import Charge, JobStatus, Lead, ResearchJob
from tests.conftest import assert_ledger_matches_chain, transfers_by_hash
from tests.test_worker import ROOT, worker_env


@pytest.mark.django_db(transaction=True)
def test_a_launch_killed_mid_payment_ends_in_error_and_its_charge_is_reconciled(user, sandbox):
    sandbox.gateway.clear_faults()
    sandbox.gateway.inject("deep-research", "timeout_after_payment")
    sandbox.gateway.hang_seconds = 20.0
    launcher = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "research",
            "start",
            "CFOs in Vienna",
            "--limit",
            "5",
            "--user",
            "alice",
        ],
        cwd=ROOT,
        env=worker_env(sandbox, "orm"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        charge = None
        for _ in range(200):  # until the payment has settled on chain
            charge = Charge.objects.filter(endpoint="deep-research", tx_hash__isnull=False).first()
            if charge and charge.tx_hash in transfers_by_hash(sandbox):
                break
            time.sleep(0.05)
        assert charge is not None, launcher.stderr.read().decode() if launcher.poll() is not None else ""
    finally:
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait()
        sandbox.gateway.hang_seconds = 4.0

    # What the dead process left: the money moved, its row says pending, the job says launching.
    job = ResearchJob.objects.get()
    assert job.status == JobStatus.LAUNCHING
    assert Charge.objects.get().state == Charge.State.PENDING

    # Within the lease nothing happens; once it has run out, the poll cycle ends the job.
    jobs.poll_due_jobs()
    assert ResearchJob.objects.get().status == JobStatus.LAUNCHING
    later = app_clock.now() + datetime.timedelta(seconds=settings.POLL_LEASE_SECONDS + 1)
    jobs.poll_due_jobs(now=later)
    job.refresh_from_db()
    assert job.status == JobStatus.ERROR and job.message == jobs.INTERRUPTED_LAUNCH

    assert wallet.reconcile(charge) == Charge.State.SETTLED
    assert Charge.objects.count() == 1, "nothing was paid twice"
    assert transfers_by_hash(sandbox)[charge.tx_hash].amount == charge.amount == 53_000
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


@pytest.mark.django_db(transaction=True)
def test_a_poller_killed_mid_ingest_loses_no_stored_page_and_the_next_one_resumes_where_it_stopped(
    user, sandbox, clock, monkeypatch
):
    sandbox.gateway.clear_faults()
    job = jobs.launch(jobs.create_job(user, "Founders in Vilnius [results=250]", 250), user)
    clock.advance(sandbox.gateway.jobs[job.clado_id].duration + 1)
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=job.created_at)
    handle, release = sandbox.gateway.handle, threading.Event()

    def page_two_never_answers(endpoint, method, url, headers, body):
        paid = any(name.lower() == "authorization" for name in headers)
        if endpoint == "deep-research-status" and paid and json.loads(body).get("page") == 2:
            release.wait(30)  # the poller dies while it waits for this answer
        return handle(endpoint, method, url, headers, body)

    monkeypatch.setattr(sandbox.gateway, "handle", page_two_never_answers)
    poller = subprocess.Popen(
        [sys.executable, "manage.py", "research", "poll"],
        cwd=ROOT,
        env=worker_env(sandbox, "orm"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(400):  # until page 1 is stored and page 2's paid retry is out
            if Lead.objects.filter(job=job).count() == 100 and Charge.objects.filter(job=job).count() == 3:
                break
            time.sleep(0.05)
        else:
            pytest.fail(poller.stderr.read().decode() if poller.poll() is not None else "no progress")
    finally:
        os.kill(poller.pid, signal.SIGKILL)
        poller.wait()
        release.set()

    job.refresh_from_db()
    assert job.leads_stored == 100 == job.leads.count(), "the stored page and its counter agree"
    assert job.lease_token, "the dead poller still holds the job"
    lost = Charge.objects.get(job=job, endpoint="deep-research-status", state=Charge.State.PENDING)

    later = app_clock.now() + datetime.timedelta(seconds=settings.POLL_LEASE_SECONDS + 1)
    jobs.poll_due_jobs(now=later)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.leads.count() == 250 == job.leads_stored
    pages = Charge.objects.filter(job=job, endpoint="deep-research-status").exclude(pk=lost.pk)
    assert pages.count() == 3, "page 1 once, then pages 2 and 3 once each after the crash"

    wallet.reconcile(lost, now=timezone.now() + datetime.timedelta(minutes=5))
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))
