"""Admin: jobs with their spend, and the charge ledger (read-only, append-only)."""

from django.contrib import admin

from .models import AuditEvent, BudgetCap, Charge, Lead, ResearchJob, SpendWindow
from .money import format_usd


@admin.register(ResearchJob)
class ResearchJobAdmin(admin.ModelAdmin):
    list_display = ("id", "query", "owner", "status", "leads_stored", "spend_display", "created_at")
    list_filter = ("status", "owner")
    search_fields = ("query", "clado_job_id")
    readonly_fields = [f.name for f in ResearchJob._meta.fields]

    def get_queryset(self, request):
        return super().get_queryset(request).with_spend()

    @admin.display(description="Spent", ordering="spent_total")
    def spend_display(self, job):
        return format_usd(job.spent_total or 0)

    def has_add_permission(self, request):
        return False


@admin.register(Charge)
class ChargeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "job", "endpoint", "amount_display", "state", "tx_hash")
    list_filter = ("state", "endpoint", "user", "created_at")
    search_fields = ("tx_hash", "job__clado_job_id", "=job__id")
    readonly_fields = [f.name for f in Charge._meta.fields]
    date_hierarchy = "created_at"

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, charge):
        return format_usd(charge.amount, charge.decimals)

    # The ledger is append-only: no one adds, edits or deletes a charge by hand.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BudgetCap)
class BudgetCapAdmin(admin.ModelAdmin):
    list_display = ("scope", "user", "cap_display")

    @admin.display(description="Cap")
    def cap_display(self, cap):
        return format_usd(cap.cap)


@admin.register(SpendWindow)
class SpendWindowAdmin(admin.ModelAdmin):
    list_display = ("scope", "key", "period_start", "cap", "spent", "reserved")
    list_filter = ("scope",)
    readonly_fields = [f.name for f in SpendWindow._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "action", "job", "detail")
    list_filter = ("action", "user")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(Lead)
