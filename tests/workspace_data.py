"""Jobs with stored leads for the workspace tests, built without paying for them.

The leads are the sandbox's own profiles (the tricky ones first: formulas, quotes, newlines,
non-Latin names, both criteria shapes), stored exactly as the poller stores them.
"""

import datetime
import uuid

from django.utils import timezone

from research import access, clado, facets, people
from research.models import TERMINAL_STATUSES, JobStatus, Lead, ResearchJob
from research.sandbox import profiles


def stored_job(owner, query="Heads of sales in Berlin", count=30, status=JobStatus.COMPLETED, **fields):
    """A job whose `count` sandbox profiles are stored as leads (in the owner's only team, as a launch)."""
    now = timezone.now()
    defaults = {
        "team": access.default_team(owner),
        "limit": max(count, 1),
        "clado_id": uuid.uuid4().hex,
        "launched_at": now - datetime.timedelta(minutes=3, seconds=12),
        "finished_at": now if status in TERMINAL_STATUSES else None,
    }
    job = ResearchJob.objects.create(owner=owner, query=query, status=status, **{**defaults, **fields})
    add_profiles(job, 0, count)
    return job


def add_profiles(job, start, stop):
    leads = [
        Lead(job=job, position=index, **clado.parse_lead(result))
        for index, result in enumerate(profiles.profiles(job.query, start, stop), start=start)
    ]
    store(leads)
    ResearchJob.objects.filter(pk=job.pk).update(leads_stored=job.leads.count())
    job.refresh_from_db()
    return job


def store(leads):
    """Insert leads as ingest does: each with its person (one per normalised LinkedIn URL)."""
    people.assign(leads)
    Lead.objects.bulk_create(leads, batch_size=1000)
    people.refresh_latest(lead.person_id for lead in leads)
    for job in {lead.job for lead in leads}:
        facets.note(job, [lead for lead in leads if lead.job == job])


def big_job(owner, count):
    """A job with `count` plain leads (small raw JSON), for query-count and memory checks."""
    job = ResearchJob.objects.create(
        owner=owner, query=f"A big search [results={count}]", limit=count, status=JobStatus.COMPLETED
    )
    countries = ["Germany", "France", "United States", "Poland"]
    store(
        [
            Lead(
                job=job,
                profile_id=str(index),
                position=index,
                name=f"Person {index:06d}",
                title="Head of Sales" if index % 3 else "=CTO",
                company=f"Company {index % 997}",
                location="Berlin, Germany",
                country=countries[index % 4],
                linkedin_url=f"https://www.linkedin.com/in/person-{index}",
                is_decision_maker=index % 2 == 0,
                criteria={"Works in sales.": "YES" if index % 2 else {"answer": "NO", "reasoning": "CTO"}},
                raw={},
            )
            for index in range(count)
        ]
    )
    ResearchJob.objects.filter(pk=job.pk).update(leads_stored=count)
    job.refresh_from_db()
    return job
