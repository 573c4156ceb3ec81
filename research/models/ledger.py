"""The money side: one row per paid call, and the budget counters and caps it is checked against.

Money is integers: base units of the charge currency (6 decimals for the stablecoins the
gateway asks for), formatted to dollars only at the edge (`research.money`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone


class ChargeQuerySet(models.QuerySet):
    def counted(self):
        """Charges that are, or may be, money gone: settled, plus in-flight and unknown ones."""
        return self.filter(state__in=Charge.COUNTED_STATES)

    def open(self):
        """Charges whose outcome the chain has not told yet."""
        return self.filter(state__in=Charge.OPEN_STATES)

    def total(self):
        return self.aggregate(total=Sum("amount"))["total"] or 0


class Charge(models.Model):
    """One paid gateway call. Written before the paid retry goes out, settled from the receipt.

    Append-only: a row's money fields never change after it is written; only its state moves
    pending -> settled / failed / unknown, and unknown -> settled / failed by reconciliation.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"  # signed, the paid retry is (about to be) in flight
        SETTLED = "settled", "Settled"  # a receipt or the chain says the money moved
        FAILED = "failed", "Failed"  # no money moved: never sent, or the chain says so
        UNKNOWN = "unknown", "Unknown"  # may have settled: reconciled against the chain

    # Not closed yet: reconciliation asks the chain about these.
    OPEN_STATES = (State.PENDING, State.UNKNOWN)
    # Money gone or possibly gone: what spend figures and budgets count.
    COUNTED_STATES = (State.PENDING, State.SETTLED, State.UNKNOWN)

    endpoint = models.CharField(max_length=50, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    job = models.ForeignKey(
        "research.ResearchJob", null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    amount = models.BigIntegerField()  # base units
    currency = models.CharField(max_length=42)
    decimals = models.PositiveSmallIntegerField()
    recipient = models.CharField(max_length=42)
    chain_id = models.PositiveIntegerField()
    payer = models.CharField(max_length=42)
    challenge_id = models.CharField(max_length=200)
    tx_hash = models.CharField(max_length=66, unique=True, null=True, blank=True)
    # The signed transaction can't be included after this (its validBefore): an open charge whose
    # hash the chain still doesn't know by then moved nothing.
    valid_before = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    detail = models.TextField(blank=True)  # why it failed or is unknown
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    objects = ChargeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # A team lead's view of the spend page, budgets and audit trail, for their own teams only.
        permissions = [("view_team_spend", "Can view team spend")]

    def __str__(self):
        return f"{self.endpoint} {self.amount} ({self.state})"


class BudgetScope(models.TextChoices):
    TEAM_DAY = "team-day", "Team, per day"
    USER_MONTH = "user-month", "Person, per month"
    JOB = "job", "Job, lifetime"


class BudgetWindow(models.Model):
    """A budget counter: what one scope has spent and has in flight within one period.

    Its cap is the `BudgetCap` override in force, else the default in settings. Reservations are
    conditional UPDATEs on these rows (`research.budgets`), so two launches racing for the last
    dollars cannot both win.
    """

    Scope = BudgetScope

    scope = models.CharField(max_length=20, choices=BudgetScope.choices)
    # team-day: a team's group id, or NO_TEAM for jobs in no team; user-month: a user id; job: a job id
    key = models.CharField(max_length=50)
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
    """An admin's override of a default cap in settings: for one person, one team, or the default.

    With neither `user` nor `team` it is the default of its scope (every person's monthly cap,
    every team's daily cap, every job's cap); with one of them, that person's or that team's.
    It sets the cap of the matching `BudgetWindow` counters.
    """

    Scope = BudgetScope

    scope = models.CharField(max_length=20, choices=BudgetScope.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    team = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE)
    cap = models.BigIntegerField(help_text="Base units (6 decimals): 1000000 is $1.00")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "user"], name="one_cap_per_scope_user"),
            models.UniqueConstraint(fields=["scope", "team"], name="one_cap_per_scope_team"),
            # NULLs are distinct in a unique index: without this, two default caps could exist
            # and which one applies would be arbitrary.
            models.UniqueConstraint(
                fields=["scope"],
                condition=Q(user__isnull=True, team__isnull=True),
                name="one_default_cap_per_scope",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=True) | Q(team__isnull=True), name="cap_for_a_person_or_a_team"
            ),
        ]

    def __str__(self):
        return f"{self.get_scope_display()} {self.user or self.team or 'default'}: {self.cap}"
