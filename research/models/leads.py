"""The people a job found: one `Lead` per job and profile, one `Person` per LinkedIn profile across jobs."""

from django.db import models
from django.utils import timezone

from .jobs import ResearchJob


class Person(models.Model):
    """One person however many jobs found them, keyed by their normalised LinkedIn URL.

    Kept up to date at ingest (`research.people`), so one row per person is read from this
    indexed table, never by deduplicating every lead. Shortlists hang on it.
    """

    key = models.CharField(max_length=500)  # `research.people.key_of`, unique (below)
    linkedin_url = models.CharField(max_length=500, blank=True)  # the latest URL seen, as given
    # The most recently stored lead of this person: what a one-row-per-person table shows.
    latest_lead = models.OneToOneField(
        "Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="latest_for"
    )
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "people"
        # A constraint rather than `unique=True`: on PostgreSQL that would add a second, LIKE-ready
        # index on the key, which nothing searches and every page of ingest would keep up to date.
        constraints = [models.UniqueConstraint(fields=["key"], name="unique_person_key")]

    def __str__(self):
        return self.key


class Lead(models.Model):
    """One profile a job found. Stored as soon as it arrives; the raw JSON is kept whole."""

    job = models.ForeignKey(ResearchJob, on_delete=models.CASCADE, related_name="leads")
    # Filled at ingest. Indexed together with the job below (person first), for "seen before?" lookups.
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads", db_index=False
    )
    profile_id = models.CharField(max_length=100)
    position = models.PositiveIntegerField()  # order in the gateway's results
    name = models.CharField(max_length=300, blank=True)
    headline = models.TextField(blank=True)
    title = models.CharField(max_length=300, blank=True)  # current role
    company = models.CharField(max_length=300, blank=True)
    location = models.CharField(max_length=300, blank=True)
    country = models.CharField(max_length=100, blank=True, db_index=True)
    linkedin_url = models.URLField(max_length=500, blank=True, db_index=True)
    is_decision_maker = models.BooleanField(null=True)
    criteria = models.JSONField(default=dict, blank=True)
    raw = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job_id", "position"]  # "job" would join the jobs table to use its ordering
        constraints = [models.UniqueConstraint(fields=["job", "profile_id"], name="unique_lead_per_job")]
        # The results table sorts one job's leads by these columns; the id (the tie-breaker) makes a
        # deep page an index-only walk. Country: a job's leads in one country, in position order.
        # The all-leads table (every job the reader sees) has the same orders without the job:
        # position is its default, and without these a sort by name reads a million leads (0.7 s).
        # PostgreSQL also has trigram indexes for the search (migration 0014_perf), which a model
        # can't declare for SQLite too.
        indexes = (
            [
                models.Index(fields=["job", field, "id"], name=f"lead_job_{field}")
                for field in ("position", "name", "title", "company", "location")
            ]
            + [
                models.Index(fields=["person", "job"], name="lead_person_job"),
                models.Index(fields=["job", "country", "position", "id"], name="lead_job_country"),
                models.Index(fields=["position", "id"], name="lead_position"),
                models.Index(fields=["country", "position", "id"], name="lead_country"),
            ]
            + [
                models.Index(fields=[field, "id"], name=f"lead_{field}")
                for field in ("name", "title", "company", "location")
            ]
        )

    def __str__(self):
        return self.name or self.profile_id

    @property
    def experience(self):
        return self.raw.get("experience") or []

    @property
    def education(self):
        return self.raw.get("education") or []


class JobCountry(models.Model):
    """A country some lead of a job is in: the choices of its country filter, kept at ingest
    (`research.facets`) so a page never runs a DISTINCT over a job's leads."""

    job = models.ForeignKey(ResearchJob, on_delete=models.CASCADE, related_name="countries")
    country = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "country"], name="unique_country_per_job")]

    def __str__(self):
        return self.country
