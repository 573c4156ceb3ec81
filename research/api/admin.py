"""Admin for the API: every person's tokens (revoke any), and the webhook deliveries (read-only).

Tokens are created by their person on /account/tokens/ (the secret is shown to them once), so the
admin can't add one; it sees prefixes and dates, never a secret.
"""

from django.contrib import admin, messages
from django.utils import timezone

from ..models import ApiToken, WebhookDelivery


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), ("user", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "prefix", "user__username")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, not deleted: the audit trail keeps which token did what

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s); they no longer work.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "job", "state", "attempts", "last_status", "next_attempt_at")
    list_filter = ("state", "event")
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    @admin.display(description="Job")
    def job(self, delivery):
        return f"#{delivery.webhook.job_id}"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("webhook")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
