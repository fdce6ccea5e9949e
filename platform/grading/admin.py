from django.contrib import admin

from grading.models import Submission, SubmissionFile, TestResult


class TestResultInline(admin.TabularInline):
    model = TestResult
    extra = 0
    readonly_fields = ("position", "name", "score", "max_score", "status", "visibility")
    fields = readonly_fields


class SubmissionFileInline(admin.TabularInline):
    model = SubmissionFile
    extra = 0
    readonly_fields = ("name", "size", "content")


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "lab",
        "status",
        "score",
        "max_score",
        "created_at",
        "infra_failures",
    )
    list_filter = ("status", "lab")
    search_fields = ("user__username", "id")
    inlines = [SubmissionFileInline, TestResultInline]
    readonly_fields = [f.name for f in Submission._meta.fields]
