"""A crash mid-payment loses nothing: the ledger row was written before the money moved.

The launch runs in a real process (`manage.py research start`) that is killed while the
gateway, having taken the payment, has not answered yet.
"""

import datetime
import os
import signal
import subprocess
import sys
import time

import pytest

from research import clock as app_clock
from research import jobs, wallet
from research.models import Charge, JobStatus, ResearchJob
from tests.conftest import transfers_by_hash
from tests.test_worker import ROOT, worker_env


@pytest.mark.django_db(transaction=True)
def test_a_launch_killed_mid_payment_ends_in_error_and_its_charge_is_reconciled(user, sandbox, settings):
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
