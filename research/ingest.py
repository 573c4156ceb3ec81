"""Storing the results a status call returned, as soon as they arrive.

A repeated or overlapping page inserts nothing twice (unique per job + profile id), so two
pollers, a retry or a resumed job can never store a lead twice. A page is first inserted as it
is, in a savepoint: no lookup of what the job holds (whose plan, on PostgreSQL, came to read the
whole growing job); only a page that collides is compared with what is stored. The job's
`leads_stored` counter moves by what was really inserted, so ingest costs the same at the first
page and the hundredth.
Each new lead gets its `Person` (one per normalised LinkedIn URL) in the same transaction, in
bulk (`research.people`): a fixed number of queries per page, however many people were seen before.
"""

from django.conf import settings
from django.db import IntegrityError, transaction
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
    leads = list({lead.profile_id: lead for lead in leads}.values())  # a profile twice in a page: once
    with transaction.atomic():
        # Ids taken ahead (PostgreSQL): the person upsert points everyone at their new lead at once.
        pointed = people.reserve_ids(leads)
        people.assign(leads, newest=pointed)
        try:
            # The common case, a page never seen: inserted as it is. A savepoint, so that a page
            # stored before, in whole or in part (a retry, a resumed job), fails alone here.
            with transaction.atomic():
                Lead.objects.bulk_create(leads, batch_size=500)
            new = leads
        except IntegrityError:
            new = store_unseen(job, leads)
            if pointed:  # some may point at ids that were not inserted: set from what is stored
                people.refresh_latest(lead.person_id for lead in leads)
        if new:
            if not pointed:
                people.point_to_newest(new)
            facets.note(job, new)
            ResearchJob.objects.filter(pk=job.pk).update(leads_stored=F("leads_stored") + len(new))
    job.leads_stored += len(new)
    return len(new)


def store_unseen(job, leads):
    """Insert those of `leads` that `job` does not have yet; returns them.

    No ordering on the lookup: with `Lead`'s default one SQLite walks the job's whole
    (job, position) index instead of the unique (job, profile_id) one.
    """
    known = set(
        Lead.objects.filter(job=job, profile_id__in=[lead.profile_id for lead in leads])
        .order_by()
        .values_list("profile_id", flat=True)
    )
    new = [lead for lead in leads if lead.profile_id not in known]
    Lead.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    return new
