"""Shortlists: what a team makes of a person (a status, tags, a note), whichever job found them."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .leads import Person


class ShortlistStatus(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    QUALIFIED = "qualified", "Qualified"
    NOT_A_FIT = "not_a_fit", "Not a fit"


class ShortlistEntry(models.Model):
    """A person on one scope's shortlist. The scope says whose it is (`research.shortlists.scope_of`)."""

    Status = ShortlistStatus

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="shortlist_entries")
    scope = models.CharField(max_length=40)  # "team:<group id>" or "user:<user id>"
    status = models.CharField(max_length=20, choices=ShortlistStatus.choices, default=ShortlistStatus.NEW)
    note = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "shortlist entries"
        constraints = [models.UniqueConstraint(fields=["scope", "person"], name="one_entry_per_scope")]
        indexes = [models.Index(fields=["scope", "status"], name="shortlist_scope_status")]

    def __str__(self):
        return f"{self.person} ({self.get_status_display()})"


class ShortlistTag(models.Model):
    """One tag on a shortlist entry (a row each, so "tagged X" is an indexed lookup on any database)."""

    entry = models.ForeignKey(ShortlistEntry, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["entry", "name"], name="one_tag_per_entry")]
        indexes = [models.Index(fields=["name"], name="shortlist_tag_name")]

    def __str__(self):
        return self.name
