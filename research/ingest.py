"""Storing the results a status call returned, as soon as they arrive.

A repeated or overlapping page inserts nothing twice (unique per job + profile id), so two
pollers, a retry or a resumed job can never store a lead twice. The job's `leads_stored` counter
moves by what was really inserted, so ingest costs the same at the first page and the hundredth.
Each new lead gets its `Person` (one per normalised LinkedIn URL) in the same transaction, in
bulk (`research.people`): a fixed number of queries per page, however many people were seen before.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import F

from . import clado, facets, people
from .models import Lead, ResearchJob


def store_page(job, page):
    """Store one page of results for `job`; returns how many leads were new."""
    offset = (page.page - 1) * settings.POLL_PAGE_SIZE
    leads = []
    for index, result in enumerate(page.results):
        fields = clado.parse_lead(result)
        if fields["profile_id"]:
            leads.append(Lead(job=job, position=offset + index, **fields))
    if not leads:
        return 0
    with transaction.atomic():
        # No ordering: with `Lead`'s default one SQLite walks the job's whole (job, position)
        # index instead of the unique (job, profile_id) one, a cost that grows with the job.
        known = set(
            Lead.objects.filter(job=job, profile_id__in=[lead.profile_id for lead in leads])
            .order_by()
            .values_list("profile_id", flat=True)
        )
        new = list({lead.profile_id: lead for lead in leads if lead.profile_id not in known}.values())
        if new:
            people.assign(new)
            Lead.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
            people.refresh_latest(lead.person_id for lead in new)
            facets.note(job, new)
            ResearchJob.objects.filter(pk=job.pk).update(leads_stored=F("leads_stored") + len(new))
    job.leads_stored += len(new)
    return len(new)
