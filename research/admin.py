"""Admin: the charge ledger (read-only, append-only, totals, CSV), jobs with their spend broken
down, budget caps in dollars, and the audit trail."""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from . import exports, jobs, spend
from .models import AuditEvent, BudgetCap, BudgetScope, BudgetWindow, Charge, Lead, ResearchJob
from .money import format_usd, to_decimal


def _job_number(text):
    """A job number typed or put in the URL, or None: digits only, and small enough for the database."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) <= 18 else None


def _job_link(job_id):
    if not job_id:
        return "—"
    return format_html(
        '<a href="{}">#{}</a>', reverse("admin:research_researchjob_change", args=[job_id]), job_id
    )


class ReadOnlyMixin:
    """Rows written by the app only: no one adds, edits or deletes them by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


# --- The charge ledger --------------------------------------------------------------------


class JobFilter(admin.SimpleListFilter):
    """The latest jobs with charges; any job id works through the URL (?job=12)."""

    title = "job"
    parameter_name = "job"

    def lookups(self, request, model_admin):
        jobs = (
            ResearchJob.objects.filter(charges__isnull=False).distinct().order_by("-created_at", "-id")[:15]
        )
        return [(str(job.pk), f"#{job.pk} {job.query[:40]}") for job in jobs]

    def queryset(self, request, queryset):
        number = _job_number(self.value())
        if number is not None:
            return queryset.filter(job_id=number)
        return queryset.none() if self.value() else queryset


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "job_link", "endpoint", "amount_display", "state", "tx_hash")
    list_filter = (
        ("created_at", admin.DateFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
        JobFilter,
        "endpoint",
        "state",
    )
    search_fields = ("tx_hash", "job__clado_id", "=job__id")
    search_help_text = "A transaction hash, a Clado job id, or our job number."
    readonly_fields = [f.name for f in Charge._meta.fields]
    date_hierarchy = "created_at"
    list_select_related = ("user", "job")
    actions = ["export_selected"]
    # The changelist shows the totals of the current filter (templates/admin/research/charge/).

    @admin.display(description="Job", ordering="job")
    def job_link(self, charge):
        return _job_link(charge.job_id)

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, charge):
        return format_usd(charge.amount, charge.decimals)

    def get_search_results(self, request, queryset, search_term):
        # A number is our job id and 0x… a transaction hash: don't also match digits inside hashes.
        term = search_term.strip()
        if term.isdigit():
            number = _job_number(term)
            return (queryset.filter(job_id=number) if number is not None else queryset.none()), False
        if term.lower().startswith("0x"):
            return queryset.filter(tx_hash__istartswith=term), False
        return super().get_search_results(request, queryset, search_term)

    def get_urls(self):
        export = path(
            "export.csv", self.admin_site.admin_view(self.export_view), name="research_charge_export"
        )
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:  # not a redirect or an action's response
            response.context_data["totals"] = spend.figures(changelist.queryset)
            response.context_data["export_query"] = request.GET.urlencode()
        return response

    def export_view(self, request):
        """The ledger under the current filters and search, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:  # as the change list itself answers unknown filters
            return redirect(reverse("admin:research_charge_changelist") + f"?{ERROR_FLAG}=1")
        return self._csv(request, changelist.get_queryset(request))

    @admin.action(description="Export selected charges as CSV")
    def export_selected(self, request, queryset):
        return self._csv(request, queryset)

    def _csv(self, request, charges):
        charges = charges.order_by("created_at", "id")
        AuditEvent.objects.create(
            user=request.user,
            action=AuditEvent.Action.EXPORT,
            detail=f"Charge ledger: {charges.count()} rows",
        )
        response = StreamingHttpResponse(
            exports.stream_charges(charges), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="charges-{stamp}.csv"'
        return response


class ChargeInline(ReadOnlyMixin, admin.TabularInline):
    model = Charge
    fields = ("created_at", "user", "endpoint", "amount_display", "state", "tx_hash")
    readonly_fields = fields
    ordering = ("created_at", "id")
    extra = 0
    show_change_link = True

    @admin.display(description="Amount")
    def amount_display(self, charge):
        return format_usd(charge.amount, charge.decimals)


# --- Jobs with their spend ----------------------------------------------------------------


def _usd_column(name, description):
    @admin.display(description=description, ordering=name)
    def column(self, job):
        return format_usd(getattr(job, name) or 0)

    return column


@admin.register(ResearchJob)
class ResearchJobAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "query",
        "owner",
        "team",
        "status",
        "total_display",
        "cost_per_lead",
        "leads_stored",
        "launch_display",
        "status_display",
        "cancel_display",
        "more_display",
    )
    list_display_links = ("id", "query")
    list_filter = (
        "status",
        ("owner", admin.RelatedOnlyFieldListFilter),
        ("team", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("query", "clado_id", "=id")
    readonly_fields = [f.name for f in ResearchJob._meta.fields]
    date_hierarchy = "created_at"
    inlines = [ChargeInline]

    def get_queryset(self, request):
        return spend.jobs_with_breakdown(super().get_queryset(request).select_related("owner", "team"))

    launch_display = _usd_column("spent_launch", "Launch")
    cancel_display = _usd_column("spent_cancel", "Cancel")
    more_display = _usd_column("spent_more", "More")

    @admin.display(description="Polls + pages", ordering="spent_status")
    def status_display(self, job):
        return f"{format_usd(job.spent_status)} ({job.status_calls})"

    @admin.display(description="Total", ordering="spent_total")
    def total_display(self, job):
        link = reverse("admin:research_charge_changelist") + f"?job={job.pk}"
        unconfirmed = f" ({format_usd(job.spent_unconfirmed)} unconfirmed)" if job.spent_unconfirmed else ""
        return format_html('<a href="{}">{}</a>{}', link, format_usd(job.spent_total), unconfirmed)

    @admin.display(description="Per lead")
    def cost_per_lead(self, job):
        average = spend.per_unit(job.spent_total, job.leads_stored)
        return "—" if average is None else format_usd(average)


# --- Budgets ------------------------------------------------------------------------------


class BudgetCapForm(forms.ModelForm):
    """Caps typed in dollars, stored in base units (6 decimals)."""

    cap_usd = forms.DecimalField(
        label="Cap in dollars",
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=6,
        help_text="e.g. 250 or 0.50",
    )

    class Meta:
        model = BudgetCap
        fields = ("scope", "user", "team")
        help_texts = {
            "user": "Only for 'Person, per month': one person's cap. Empty (and no team): the default.",
            "team": "Only for 'Team, per day': one team's cap. Empty (and no person): the default for "
            "every team, and for the jobs in no team, which share one daily window.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["cap_usd"] = to_decimal(self.instance.cap)

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if cleaned.get("user") and scope and scope != BudgetScope.USER_MONTH:
            self.add_error("user", "Only the per-person monthly cap is set per person.")
        if cleaned.get("team") and scope and scope != BudgetScope.TEAM_DAY:
            self.add_error("team", "Only the daily team cap is set per team.")
        if cleaned.get("cap_usd") is not None:
            self.instance.cap = int(cleaned["cap_usd"] * 10**6)  # exact: at most 6 decimals
        return cleaned


@admin.register(BudgetCap)
class BudgetCapAdmin(admin.ModelAdmin):
    form = BudgetCapForm
    fields = ("scope", "user", "team", "cap_usd")
    list_display = ("scope", "who", "cap_display")
    list_filter = ("scope",)
    list_select_related = ("user", "team")

    @admin.display(description="For", ordering="user")
    def who(self, cap):
        if cap.user or cap.team:
            return cap.user or f"team {cap.team}"
        return {
            BudgetScope.USER_MONTH: "every person (default)",
            BudgetScope.TEAM_DAY: "every team (default)",
        }.get(cap.scope, "every job (default)")

    @admin.display(description="Cap", ordering="cap")
    def cap_display(self, cap):
        return format_usd(cap.cap)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        resumed = jobs.resume_held()  # a raised cap takes effect now, not at the next budget retry
        if resumed:
            self.message_user(request, f"{resumed} job(s) paused by a budget cap will try again now.")

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        jobs.resume_held()  # back to the default cap, which may be higher


@admin.register(BudgetWindow)
class BudgetWindowAdmin(ReadOnlyAdmin):
    """The budget counters: written only by the ledger, so they always match the charges."""

    list_display = (
        "scope",
        "key",
        "period_start",
        "cap_display",
        "spent_display",
        "reserved_display",
        "left",
    )
    list_filter = ("scope", "period_start")

    cap_display = _usd_column("cap", "Cap")
    spent_display = _usd_column("spent", "Spent")
    reserved_display = _usd_column("reserved", "Reserved (unconfirmed)")

    @admin.display(description="Left")
    def left(self, window):
        return format_usd(window.remaining)


# --- The audit trail ----------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "action", "job_link", "detail")
    list_filter = (
        "action",
        ("user", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("detail", "=job__id", "job__query")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    date_hierarchy = "created_at"
    list_select_related = ("user", "job")

    @admin.display(description="Job", ordering="job")
    def job_link(self, event):
        return _job_link(event.job_id)


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdmin):
    """Leads come from paid results only; the admin looks, it doesn't edit."""

    list_display = ("name", "title", "company", "country", "job")
    list_filter = ("country", "is_decision_maker")
    search_fields = ("name", "company", "linkedin_url", "=job__id")
    list_select_related = ("job",)
    readonly_fields = [f.name for f in Lead._meta.fields]


from .api import admin as api_admin  # noqa: E402, F401  API tokens and webhook deliveries
