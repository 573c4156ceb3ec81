"""django-q2 entry points. Thin: the work is in `research.jobs`, `research.saved_searches`, `research.wallet`.

The schedule (a data migration) starts `poll_cycle` every minute. django-q2 schedules have
whole-minute granularity, so one run keeps polling due jobs every POLL_TICK seconds for
POLL_CYCLE_SECONDS, which lets a job's own `next_poll_at` set the real cadence. Two runs
overlapping (a slow cycle, a second worker, a second machine) is safe: each job is claimed
with a conditional UPDATE before it is polled.
"""

import contextlib
import logging
import signal
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from . import clado, jobs, saved_searches, wallet, webhooks
from .models import SavedSearch

log = logging.getLogger(__name__)

# Charges younger than this are still being answered by the call that made them.
RECONCILE_AFTER_SECONDS = 60
STOP_CHECK_SECONDS = 0.2  # how often a cycle between two passes looks whether it should stop


def poll_cycle(seconds=None):
    """Reconcile open charges once, then poll due jobs now and again until `seconds` have passed.

    A SIGINT or SIGTERM to the worker running it (Ctrl-C on `run.py app`, which signals every
    process it started) ends the cycle at once between two polls, so the worker can stop
    within seconds instead of waiting out the cycle. Returns how many polls ran.
    """
    seconds = settings.POLL_CYCLE_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    with stop_on_signals() as stopping:
        reconcile_open_charges()
        polled = jobs.poll_due_jobs(stop=stopping)  # every cycle makes at least one full pass
        deliver_webhooks()
        while time.monotonic() + settings.POLL_TICK <= deadline and not stopping():
            close_old_connections()
            pause(settings.POLL_TICK, stopping)
            # The deadline stops new work, so the task ends well inside Q_CLUSTER["timeout"].
            polled += jobs.poll_due_jobs(deadline=deadline, stop=stopping)
            deliver_webhooks()
    return polled


def deliver_webhooks():
    """Send the due webhook events (jobs that ended); a failure here never stops the polling."""
    try:
        return webhooks.deliver_due()
    except Exception:
        log.exception("Webhook deliveries wait for the next tick")
        return 0


@contextlib.contextmanager
def stop_on_signals():
    """Yields a function that says whether SIGINT or SIGTERM arrived while the block ran.

    The handlers only set a flag (nothing that could deadlock in a signal handler) and are put
    back afterwards. Signals reach only the main thread; anywhere else nothing changes.
    """
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, lambda signum, frame: received.append(signum))
    try:
        yield lambda: bool(received)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            log.info("Poll cycle stopped early: signal %s", received[0])


def pause(seconds, stopping):
    """Sleep `seconds`, or less if `stopping()` turns true meanwhile."""
    end = time.monotonic() + seconds
    while not stopping() and (left := end - time.monotonic()) > 0:
        time.sleep(min(left, STOP_CHECK_SECONDS))


def reconcile_open_charges(older_than_seconds=RECONCILE_AFTER_SECONDS):
    """Ask the chain about open charges; returns what changed. An unreachable chain waits a cycle."""
    try:
        results = wallet.reconcile_open(older_than_seconds=older_than_seconds, limit=50)
    except wallet.ChainUnavailable as error:
        log.warning("Reconciliation waits for the chain: %s", error)
        return []
    return [(charge, before, after) for charge, before, after in results if before != after]


def run_saved_search(saved_search_id):
    """A saved search's scheduled run (its Schedule row calls this with its id). Returns what it did."""
    saved = SavedSearch.objects.select_related("owner").filter(pk=saved_search_id).first()
    if saved is None:
        saved_searches.drop_schedule(saved_search_id)
        return f"Saved search {saved_search_id} is gone: its schedule was removed."
    if not saved.owner.is_active:
        return saved_searches.said(saved, "Not run: its owner's account is inactive.")
    job, message = saved_searches.run(saved)
    log.info("Saved search %s: %s", saved.pk, message)
    return message


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
