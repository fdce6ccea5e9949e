from django.contrib import admin, messages
from django.utils import timezone

from records.models import Credential


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Staff revoke a credential here (after academic misconduct, say): write the reason
    on it, then run "Revoke" on it. The verification page then says it was revoked."""

    list_display = ("subject_name", "user", "track", "issued_at", "revoked_at")
    list_filter = ("track", "revoked_at")
    search_fields = ("subject_name", "user__username", "id")
    readonly_fields = ("id", "user", "track", "subject_name", "issued_at", "kid", "token")
    fields = (*readonly_fields, "revoked_reason", "revoked_at")
    actions = ["revoke"]

    @admin.action(description="Revoke the selected credentials")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        queryset.filter(revoked_reason="").update(revoked_reason="Revoked by staff.")
        self.message_user(request, f"Revoked {count} credential(s).", messages.SUCCESS)
