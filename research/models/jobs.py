"""A research job: one deep-research search at Clado, launched, polled and extended by this app."""

import datetime
import math
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from .. import clock
from .ledger import Charge


class JobStatus(models.TextChoices):
    NEW = "new", "New"  # created, launch not yet paid
    LAUNCHING = "launching", "Launching"  # the paid launch call is in flight
    PENDING = "pending", "Pending"
    SEARCHING = "searching", "Searching"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Cancelled"


# Running at Clado: the states the poller pays to check.
RUNNING_STATUSES = (JobStatus.PENDING, JobStatus.SEARCHING, JobStatus.PROCESSING)
# Ended: nothing more happens unless a person asks (more results, fetch results again).
TERMINAL_STATUSES = (JobStatus.COMPLETED, JobStatus.ERROR, JobStatus.CANCELLED)
# "Active" means one thing everywhere: not ended (new, launching or running).
ACTIVE_STATUSES = tuple(s for s in JobStatus if s not in TERMINAL_STATUSES)


class Hold(models.TextChoices):
    """Why a job that is not ended makes no paid call for now. It resumes by itself."""

    NONE = "", "—"
    BUDGET = "budget", "Paused: budget"  # a cap refused the next call; nothing was paid
    OUTAGE = "outage", "Waiting: outage"  # our side (chain RPC, network) is down; nothing was paid


class ResearchJobQuerySet(models.QuerySet):
    def with_spend(self):
        # GROUP BY queries drop Meta.ordering, so order explicitly.
        return self.annotate(
            spent_total=Sum("charges__amount", filter=Q(charges__state__in=Charge.COUNTED_STATES))
        ).order_by("-created_at", "-id")

    def with_spend_of(self, jobs):
        """`jobs` (a page of them, in order) each with its `spent_total` set: one query for the page."""
        jobs = list(jobs)
        of_page = self.filter(pk__in=[job.pk for job in jobs]).with_spend()
        spent = dict(of_page.values_list("pk", "spent_total"))
        for job in jobs:
            job.spent_total = spent.get(job.pk)
        return jobs


class ResearchJob(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    # The team (a Django auth group) whose members see this job and may spend on it
    # (`research.access`); empty for a person in no team: then only the owner and staff see it.
    # A team with jobs can't be deleted: who sees them, and the team budget window their open
    # charges are reserved in, hang on it.
    team = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.PROTECT, related_name="research_jobs"
    )
    # A form carries this token so a double click or a resubmitted form creates one job.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    query = models.TextField()
    limit = models.PositiveIntegerField()
    company_urls = models.JSONField(default=list, blank=True)
    criteria = models.JSONField(default=list, blank=True)  # the yes/no questions sent with the launch
    # The search as a person would recognise it again (`research.searches.fingerprint`): a second
    # launch of the same search needs an explicit confirmation.
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    # A run of a saved search (`research.saved_searches`): new people are counted against its earlier runs.
    saved_search = models.ForeignKey(
        "research.SavedSearch", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    # The most its person accepts paying for the launch call (the API's `max_price`, base units):
    # the wallet refuses a challenge above it, as it refuses one above the price table's ceiling.
    max_launch_price = models.BigIntegerField(null=True, blank=True)

    clado_id = models.CharField(max_length=100, null=True, blank=True, unique=True)  # Clado's job id
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.NEW)
    hold = models.CharField(max_length=10, choices=Hold.choices, default=Hold.NONE, blank=True)
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
    checked_at = models.DateTimeField(null=True, blank=True)  # the latest paid status answer

    # The claim: who may make a paid call for this job right now, until when, and for what.
    # Taken with one conditional UPDATE (`research.claims`), never a row lock across HTTP.
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=64, blank=True)
    lease_action = models.CharField(max_length=20, blank=True)
    # What the poller predicts from: when the current run (the launch, or the latest "more") began,
    # and how many seconds after that the search phase is projected to end (latest progress reading).
    run_started_at = models.DateTimeField(null=True, blank=True)
    search_eta = models.FloatField(null=True, blank=True)
    search_fraction = models.FloatField(null=True, blank=True)  # share of chunks done at that reading
    # Whether the next check is aimed at the predicted finish. A check that is not may see the
    # finish long after it happened: the run then records since when it finished
    # (`finished_after`, the last time it was seen running), so past runs teach their real length.
    next_poll_aimed = models.BooleanField(default=False)
    finished_after = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    # Paid status checks of the current run: on a fresh install the policy never makes the k-th
    # one before k times POLL_COLD_PACE seconds (`research.polling`).
    run_checks = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)  # consecutive failed polls
    # The ending the owner was last told about by email ("completed", "error", "cancelled" or
    # "budget"), and when: each ending is told once, however often the poller sees it.
    notified_as = models.CharField(max_length=20, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    objects = ResearchJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_poll_at"]),
            models.Index(fields=["owner", "fingerprint", "created_at"], name="job_owner_fingerprint"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.query[:60]}"

    def get_absolute_url(self):
        return reverse("research:job_detail", args=[self.pk])

    @property
    def is_active(self):
        """Not ended: new, launching, or running at Clado."""
        return self.status not in TERMINAL_STATUSES

    @property
    def is_running(self):
        """Running at Clado: the poller checks it."""
        return self.status in RUNNING_STATUSES

    @property
    def elapsed(self):
        """Time since launch, in whole seconds, that never goes backwards as the job ends.

        A running job's is rounded down from the app's clock (the one the poller writes
        `finished_at` with, at the moment it sees the end); an ended job's is rounded up, so it is
        never less than what the page showed a moment before.
        """
        if self.launched_at is None:
            return None
        if self.finished_at is not None:
            seconds = (self.finished_at - self.launched_at).total_seconds()
            return datetime.timedelta(seconds=math.ceil(seconds))
        seconds = max((clock.now() - self.launched_at).total_seconds(), 0)
        return datetime.timedelta(seconds=math.floor(seconds))

    @property
    def found_fewer_than_asked(self):
        """The last run found fewer people than asked: the pool is probably exhausted."""
        found = self.results_reported if self.results_reported is not None else self.leads_stored
        return self.status == JobStatus.COMPLETED and found < self.limit

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
