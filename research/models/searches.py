"""Saved searches: a search that runs again by itself, daily or weekly, within its own cap per run."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Cadence(models.TextChoices):
    DAILY = "daily", "Every day"
    WEEKLY = "weekly", "Every week"


class SavedSearch(models.Model):
    """A search and its schedule. Each run is a `ResearchJob` whose `saved_search` is this one.

    Its django-q2 `Schedule` row is created, changed and removed with it (`research.saved_searches`).
    """

    Cadence = Cadence

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(max_length=200)
    query = models.TextField()
    limit = models.PositiveIntegerField()  # results each run asks for: its cap on results
    criteria = models.JSONField(default=list, blank=True)
    company_urls = models.JSONField(default=list, blank=True)
    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.WEEKLY)
    # A run that would cost more than this (its launch and expected status checks) is not launched.
    max_spend = models.BigIntegerField(help_text="Base units (6 decimals) a run may cost at most")
    paused = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_message = models.TextField(blank=True)  # what the latest scheduled slot did, or why it did nothing

    class Meta:
        ordering = ["name", "pk"]
        verbose_name_plural = "saved searches"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("research:search_detail", args=[self.pk])

    @property
    def schedule_name(self):
        return f"research: saved search {self.pk}"
