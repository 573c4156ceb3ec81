"""A search as a person would recognise it again, so the same search is not paid for twice unawares.

Two launches are the same search when their query (case, spacing and trailing punctuation
aside), limit, criteria and company filter are the same. `earlier_run` finds such a search by
the same person that was launched in the last day or is still active: launching it again needs
an explicit second confirmation.
"""

import datetime
import hashlib
import json
import re

from django.db.models import Q
from django.utils import timezone

from .models import ACTIVE_STATUSES, ResearchJob

RELAUNCH_WINDOW = datetime.timedelta(hours=24)


def _normalise(text):
    return re.sub(r"\s+", " ", str(text)).strip().rstrip(".!?;,").strip().casefold()


def fingerprint(query, limit, criteria=(), company_urls=()):
    """A stable digest of what makes two searches the same."""
    key = {
        "query": _normalise(query),
        "limit": int(limit),
        "criteria": sorted({_normalise(c) for c in criteria if _normalise(c)}),
        "companies": sorted({_normalise(u).rstrip("/") for u in company_urls if _normalise(u)}),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def earlier_run(owner, digest, before=None, now=None):
    """The latest job of `owner` for the same search, launched in the last day or still active.

    `before`: only jobs created before that one (by primary key) count.
    """
    now = now or timezone.now()
    jobs = ResearchJob.objects.filter(owner=owner, fingerprint=digest)
    if before is not None:
        jobs = jobs.filter(pk__lt=before.pk)
    return (
        jobs.filter(Q(launched_at__gte=now - RELAUNCH_WINDOW) | Q(status__in=ACTIVE_STATUSES))
        .order_by("-created_at", "-id")
        .first()
    )
