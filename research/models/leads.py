"""The people a job found."""

from django.db import models
from django.utils import timezone

from .jobs import ResearchJob


class Lead(models.Model):
    """One profile a job found. Stored as soon as it arrives; the raw JSON is kept whole."""

    job = models.ForeignKey(ResearchJob, on_delete=models.CASCADE, related_name="leads")
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
        # The results table sorts one job's leads by these columns.
        indexes = [
            models.Index(fields=["job", field], name=f"lead_job_{field}")
            for field in ("position", "name", "title", "company", "location")
        ]

    def __str__(self):
        return self.name or self.profile_id

    @property
    def experience(self):
        return self.raw.get("experience") or []

    @property
    def education(self):
        return self.raw.get("education") or []
