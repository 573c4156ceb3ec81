"""The programmatic face's tables: personal API tokens, and the webhook events sent when jobs end.

A token's secret is shown once and never stored: the table keeps its SHA-256 (`key_hash`, what a
request is looked up by) and a short `prefix` a person recognises it by. Its `webhook_secret`
signs the events sent for the jobs it launched; the server needs it to sign, so it is stored as
is (like Stripe's and GitHub's signing secrets) and, like the token, shown once.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from .jobs import ResearchJob

TOKEN_PREFIX = "cdr_"  # "clado deep research": recognisable in logs and secret scanners
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8  # what the token page shows of a token


def hash_key(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """A person's API token: every call made with it acts as that person."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    webhook_secret = models.CharField(max_length=80, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, name, expires_at=None):
        """A new token: (the row, the secret). The secret exists only in this return value."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            key_hash=hash_key(secret),
            prefix=secret[:PREFIX_LENGTH],
            webhook_secret="whsec_" + secrets.token_urlsafe(32),
            expires_at=expires_at,
        )
        return token, secret

    def state(self, now=None):
        """ "active", "revoked" or "expired"."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class JobWebhook(models.Model):
    """Where to tell the program that launched a job that it ended, signed with its token's secret."""

    job = models.OneToOneField(ResearchJob, on_delete=models.CASCADE, related_name="webhook")
    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)

    def __str__(self):
        return f"job #{self.job_id} → {self.url}"


class WebhookDelivery(models.Model):
    """One event to send (the outbox): each attempt is recorded; retried with back-off until delivered."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"  # not delivered yet: tried again at next_attempt_at
        DELIVERED = "delivered", "Delivered"  # the receiver answered 2xx
        FAILED = "failed", "Failed"  # gave up after WEBHOOK_MAX_ATTEMPTS

    webhook = models.ForeignKey(JobWebhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=100)  # the same end of the same job is one event
    event = models.CharField(max_length=40)  # "job.completed", "job.error", "job.cancelled"
    body = models.TextField()  # the exact JSON signed and sent, the same on every attempt
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status = models.PositiveIntegerField(null=True, blank=True)  # HTTP status; None: no answer
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["webhook", "event_id"], name="one_delivery_per_event")]

    def __str__(self):
        return f"{self.event} for job #{self.webhook.job_id} ({self.state})"
