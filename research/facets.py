"""What a job's filters offer, kept at ingest: the countries its leads are in.

`note` runs as each page of leads is stored (`research.ingest.store_page`): one insert that
ignores countries the job already has, so it costs the same at the first page and the thousandth,
and two racing pages can't store a country twice. The job object remembers what it has noted once
that is committed, so the later pages of a poll cycle, mostly in countries seen already, skip it.
A page reads the choices from this small table instead of a DISTINCT over every lead of the job
(or of every job, for the all-leads table).
"""

from django.db import transaction

from .models import JobCountry, Lead


def note(job, leads):
    """Remember the countries of `leads`, newly stored for `job`. One query at most, none when
    this job object has noted them all already (in a transaction that committed)."""
    noted = job.__dict__.setdefault("_countries_noted", set())
    found = sorted({lead.country for lead in leads if lead.country} - noted)
    if found:
        JobCountry.objects.bulk_create(
            [JobCountry(job_id=job.pk, country=country) for country in found], ignore_conflicts=True
        )
        transaction.on_commit(lambda: noted.update(found))


def countries(jobs):
    """The countries of the leads of `jobs` (one job, or a queryset of jobs), alphabetically."""
    rows = JobCountry.objects.filter(job__in=jobs) if hasattr(jobs, "model") else job_countries(jobs)
    return rows.order_by("country").values_list("country", flat=True).distinct()


def job_countries(job):
    return JobCountry.objects.filter(job=job)


def rebuild():
    """Fill the table from the leads stored so far (leads stored before it was kept, a bulk seed)."""
    found = Lead.objects.exclude(country="").order_by().values_list("job_id", "country").distinct()
    JobCountry.objects.bulk_create(
        [JobCountry(job_id=job_id, country=country) for job_id, country in found],
        ignore_conflicts=True,
        batch_size=2000,
    )
