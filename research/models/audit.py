"""The audit trail: who did what to which job, including what was refused."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .jobs import ResearchJob


class AuditEvent(models.Model):
    """Who launched, refreshed, cancelled, extended or reconciled what."""

    class Action(models.TextChoices):
        LAUNCH = "launch", "Launched"
        REFRESH = "refresh", "Refreshed"
        CANCEL = "cancel", "Cancelled"
        MORE = "more", "Asked for more results"
        EXPORT = "export", "Exported"
        RECONCILE = "reconcile", "Reconciled"
        RESUME = "resume", "Fetched results again"
        REFUSED = "refused", "Refused"  # a payment or an action that was not allowed

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=20, choices=Action.choices)
    job = models.ForeignKey(ResearchJob, null=True, blank=True, on_delete=models.SET_NULL)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.user} {self.action} {self.job_id}"
