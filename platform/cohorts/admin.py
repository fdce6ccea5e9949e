"""The admin's view of cohorts: find a cohort, its people, invites and assignments.

The instructor permission (cohorts.create_cohort, "Can create cohorts (instructor)") is
granted on the user or group pages of the admin.
"""

from django.contrib import admin

from cohorts.models import Assignment, Cohort, Invite, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "joined_at")


class ArchivedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", "Active"), ("yes", "Archived")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.active()
        if self.value() == "yes":
            return queryset.archived()
        return queryset


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at", "archived_at", "score_policy", "inactive_days")
    list_filter = (ArchivedFilter, "score_policy", "created_at")
    search_fields = ("name", "memberships__user__username")
    date_hierarchy = "created_at"
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "cohort", "role", "joined_at")
    list_filter = ("role", "cohort")
    search_fields = ("user__username", "user__email", "cohort__name")
    raw_id_fields = ("user", "cohort")
    list_select_related = ("user", "cohort")


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("code", "cohort", "created_by", "created_at", "expires_at", "revoked_at")
    list_filter = ("cohort", "created_at", "expires_at")
    search_fields = ("code", "cohort__name", "created_by__username")
    raw_id_fields = ("cohort", "created_by")
    list_select_related = ("cohort", "created_by")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("lab", "cohort", "opens_at", "due_at", "late_policy", "penalty_per_day")
    list_filter = ("late_policy", "cohort", "lab")
    search_fields = ("lab__title", "lab__slug", "cohort__name")
    raw_id_fields = ("cohort", "lab")
    list_select_related = ("cohort", "lab")
    date_hierarchy = "due_at"
