"""django-q2 entry points. Thin: the work is in `research.jobs` and `research.wallet`.

The schedule (a data migration) starts `poll_cycle` every minute. django-q2 schedules have
whole-minute granularity, so one run keeps polling due jobs every POLL_TICK seconds for
POLL_CYCLE_SECONDS, which lets a job's own `next_poll_at` set the real cadence. Two runs
overlapping (a slow cycle, a second worker, a second machine) is safe: each job is claimed
with a conditional UPDATE before it is polled.
"""

import logging
import time

from django.conf import settings
from django.db import close_old_connections

from . import clado, jobs, wallet

log = logging.getLogger(__name__)

# Charges younger than this are still being answered by the call that made them.
RECONCILE_AFTER_SECONDS = 60


def poll_cycle(seconds=None):
    """Reconcile open charges once, then poll due jobs now and again until `seconds` have passed.

    Returns how many polls ran.
    """
    seconds = settings.POLL_CYCLE_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    reconcile_open_charges()
    polled = jobs.poll_due_jobs()  # every cycle makes at least one full pass
    while time.monotonic() + settings.POLL_TICK <= deadline:
        close_old_connections()
        time.sleep(settings.POLL_TICK)
        # The deadline stops new work, so the task ends well inside Q_CLUSTER["timeout"].
        polled += jobs.poll_due_jobs(deadline=deadline)
    return polled


def reconcile_open_charges(older_than_seconds=RECONCILE_AFTER_SECONDS):
    """Ask the chain about open charges; returns what changed. An unreachable chain waits a cycle."""
    try:
        results = wallet.reconcile_open(older_than_seconds=older_than_seconds, limit=50)
    except wallet.ChainUnavailable as error:
        log.warning("Reconciliation waits for the chain: %s", error)
        return []
    return [(charge, before, after) for charge, before, after in results if before != after]


def warm_worker():
    """Load the wallet and pympp (web3) as a worker process starts, not on a person's first click.

    Connected to django-q2's `post_spawn` (research/apps.py), which only a qcluster's workers send.
    A failure here is logged, never fatal: the first paid call then reports it in its own words.
    """
    started = time.monotonic()
    try:
        clado.warm_up()
    except Exception as error:
        log.warning("Warming the wallet failed (%s); the first paid call will load it.", error)
        return
    log.info("Wallet warmed in %.2f s", time.monotonic() - started)
