"""django-q2 entry points. Thin: the work is in `research.jobs` and `research.payments`.

The schedule (a data migration) starts `poll_cycle` every minute. django-q2 schedules have
whole-minute granularity, so one run keeps polling due jobs every POLL_TICK seconds for
POLL_CYCLE_SECONDS, which lets a job's own `next_poll_at` set the real cadence. Two runs
overlapping (a slow cycle, a second worker, a second machine) is safe: each job is claimed
with a conditional UPDATE before it is polled.
"""

import time
import uuid

from django.conf import settings
from django.db import close_old_connections

from . import jobs, payments
from .models import Charge


def poll_cycle(seconds=None):
    """Poll due jobs now and again until `seconds` have passed. Returns how many polls ran."""
    seconds = settings.POLL_CYCLE_SECONDS if seconds is None else seconds
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + seconds
    polled = jobs.poll_due_jobs(owner=owner)  # every cycle makes at least one full pass
    while True:
        reconcile_open_charges()
        if time.monotonic() + settings.POLL_TICK > deadline:
            return polled
        close_old_connections()
        time.sleep(settings.POLL_TICK)
        # The deadline stops new work, so the task ends well inside Q_CLUSTER["timeout"].
        polled += jobs.poll_due_jobs(owner=owner, deadline=deadline)


def reconcile_open_charges(older_than_seconds=60):
    """Look up, by transaction hash, charges whose outcome is still unknown."""
    from datetime import timedelta

    from django.utils import timezone

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = Charge.objects.filter(
        state__in=[Charge.State.UNKNOWN, Charge.State.PENDING], created_at__lt=cutoff
    )
    for charge in stale[:20]:
        try:
            payments.reconcile(charge)
        except Exception as error:  # the chain may be unreachable: try next cycle
            Charge.objects.filter(pk=charge.pk).update(detail=f"Reconcile failed: {error}"[:2000])
