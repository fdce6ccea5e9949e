from django.contrib import admin

from catalog.models import Lab


@admin.register(Lab)
class LabAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "difficulty", "is_active", "synced_at")
    list_filter = ("difficulty", "is_active")
    # Labs come from labs/ through `manage.py labs sync`; edits here would be overwritten.
    readonly_fields = [f.name for f in Lab._meta.fields]
