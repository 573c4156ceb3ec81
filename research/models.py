"""The domain: research jobs, the leads they find, and the ledger of what every call cost.

Money is integers: base units of the charge currency (6 decimals for the stablecoins the
gateway asks for), formatted to dollars only at the edge (`research.money`).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.functional import cached_property


class JobStatus(models.TextChoices):
    NEW = "new", "New"  # created, launch not yet paid
    LAUNCHING = "launching", "Launching"  # the paid launch call is in flight
    PENDING = "pending", "Pending"
    SEARCHING = "searching", "Searching"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.SEARCHING, JobStatus.PROCESSING)
TERMINAL_STATUSES = (JobStatus.COMPLETED, JobStatus.ERROR, JobStatus.CANCELLED)


class ResearchJobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Everyone on the team sees every job; the list filters to "mine" on request."""
        return self

    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def with_spend(self):
        # GROUP BY queries drop Meta.ordering, so order explicitly.
        return self.annotate(
            spent_total=Sum("charges__amount", filter=Q(charges__state__in=Charge.COUNTED_STATES))
        ).order_by("-created_at", "-id")


class ResearchJob(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    # A form carries this token so a double click or a resubmitted form creates one job.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    query = models.TextField()
    limit = models.PositiveIntegerField()
    company_urls = models.JSONField(default=list, blank=True)

    clado_job_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.NEW)
    message = models.TextField(blank=True)  # the gateway's latest message, or why the job stopped

    # Progress as the gateway reports it (any may be missing).
    chunks_done = models.PositiveIntegerField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(null=True, blank=True)
    profiles_scanned = models.PositiveIntegerField(null=True, blank=True)
    profiles_matched = models.PositiveIntegerField(null=True, blank=True)
    results_reported = models.PositiveIntegerField(null=True, blank=True)
    leads_stored = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # The poller: when the next paid status call is due, and who holds the job meanwhile.
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    # What the poller predicts from: when the current run (the launch, or the latest "more") began,
    # and how many seconds after that the search phase is projected to end (latest progress reading).
    run_started_at = models.DateTimeField(null=True, blank=True)
    search_eta = models.FloatField(null=True, blank=True)
    search_fraction = models.FloatField(null=True, blank=True)  # share of chunks done at that reading
    polls = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)  # consecutive failed polls

    objects = ResearchJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_poll_at"])]

    def __str__(self):
        return f"#{self.pk} {self.query[:60]}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("research:job_detail", args=[self.pk])

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES or self.status in (JobStatus.NEW, JobStatus.LAUNCHING)

    @property
    def is_terminal(self):
        return self.status in TERMINAL_STATUSES

    @property
    def progress_percent(self):
        """A best estimate from whatever progress fields the gateway reported."""
        if self.status == JobStatus.COMPLETED:
            return 100
        if self.is_terminal:
            return None
        if self.chunks_total:
            done = min(self.chunks_done or 0, self.chunks_total)
            # Searching is most of the wait; leave room for processing.
            percent = 10 + int(80 * done / self.chunks_total)
            return percent + (5 if self.status == JobStatus.PROCESSING else 0)
        return {JobStatus.PENDING: 5, JobStatus.SEARCHING: 25, JobStatus.PROCESSING: 90}.get(self.status, 0)

    @property
    def elapsed(self):
        if self.launched_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.launched_at

    @cached_property
    def _charge_summary(self):
        """Spend and paid status calls in one query (the progress partial shows both)."""
        return self.charges.counted().aggregate(
            spend=Sum("amount"), status_calls=Count("pk", filter=Q(endpoint="deep-research-status"))
        )

    def status_calls(self):
        """Paid status calls so far: polls, refreshes and result pages alike."""
        return self._charge_summary["status_calls"]

    def spend(self):
        """Base units charged for this job so far (launch, polls, pages, cancel, more)."""
        if hasattr(self, "spent_total"):
            return self.spent_total or 0
        return self._charge_summary["spend"] or 0


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


class ChargeQuerySet(models.QuerySet):
    def counted(self):
        """Charges that are, or may be, money gone: settled, plus in-flight and unknown ones."""
        return self.filter(state__in=Charge.COUNTED_STATES)

    def total(self):
        return self.aggregate(total=Sum("amount"))["total"] or 0


class Charge(models.Model):
    """One paid gateway call. Written before the paid retry goes out, settled from the receipt.

    Append-only: a row's money fields never change after it is written; only its state moves
    pending -> settled / failed / unknown, and unknown -> settled / failed by reconciliation.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"  # signed, the paid retry is (about to be) in flight
        SETTLED = "settled", "Settled"
        FAILED = "failed", "Failed"  # rejected before any money moved
        UNKNOWN = "unknown", "Unknown"  # may have settled: reconcile against the chain

    COUNTED_STATES = (State.PENDING, State.SETTLED, State.UNKNOWN)

    endpoint = models.CharField(max_length=50, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    job = models.ForeignKey(
        ResearchJob, null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    amount = models.BigIntegerField()  # base units
    currency = models.CharField(max_length=42)
    decimals = models.PositiveSmallIntegerField()
    recipient = models.CharField(max_length=42)
    chain_id = models.PositiveIntegerField()
    payer = models.CharField(max_length=42)
    challenge_id = models.CharField(max_length=200)
    tx_hash = models.CharField(max_length=66, unique=True, null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    detail = models.TextField(blank=True)  # why it failed or is unknown
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    objects = ChargeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.endpoint} {self.amount} ({self.state})"


class SpendWindow(models.Model):
    """A budget counter: what one scope has spent and has in flight within one period.

    Reservations are conditional UPDATEs on these rows (`research.ledger`), so two launches
    racing for the last dollars cannot both win.
    """

    class Scope(models.TextChoices):
        TEAM_DAY = "team-day", "Team, per day"
        USER_MONTH = "user-month", "Person, per month"
        JOB = "job", "Job, lifetime"

    scope = models.CharField(max_length=20, choices=Scope.choices)
    key = models.CharField(max_length=50)  # "team", a user id or a job id
    period_start = models.DateField()
    cap = models.BigIntegerField()
    spent = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key", "period_start"], name="one_window"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="reserved_not_negative"),
        ]

    def __str__(self):
        return f"{self.scope}:{self.key}@{self.period_start}"

    @property
    def remaining(self):
        return max(self.cap - self.spent - self.reserved, 0)


class BudgetCap(models.Model):
    """An admin's override of the default caps in settings, for the team or one person."""

    scope = models.CharField(max_length=20, choices=SpendWindow.Scope.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    cap = models.BigIntegerField(help_text="Base units (6 decimals): 1000000 is $1.00")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "user"], name="one_cap_per_scope_user"),
            # NULLs are distinct in a unique index: without this, two team-wide caps could exist
            # and which one applies would be arbitrary.
            models.UniqueConstraint(
                fields=["scope"], condition=Q(user__isnull=True), name="one_team_wide_cap_per_scope"
            ),
        ]

    def __str__(self):
        return f"{self.get_scope_display()} {self.user or 'team'}: {self.cap}"


class AuditEvent(models.Model):
    """Who launched, refreshed, cancelled, extended or reconciled what."""

    class Action(models.TextChoices):
        LAUNCH = "launch", "Launched"
        REFRESH = "refresh", "Refreshed"
        CANCEL = "cancel", "Cancelled"
        MORE = "more", "Asked for more results"
        EXPORT = "export", "Exported"
        RECONCILE = "reconcile", "Reconciled"
        REFUSED = "refused", "Payment refused"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=20, choices=Action.choices)
    job = models.ForeignKey(ResearchJob, null=True, blank=True, on_delete=models.SET_NULL)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.user} {self.action} {self.job_id}"
