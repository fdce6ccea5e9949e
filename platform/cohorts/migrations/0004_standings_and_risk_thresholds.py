"""Per-cohort at-risk thresholds, and a Standing row per learner and assignment, counted
for the existing work by the same rules the write paths use (cohorts.standing)."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from cohorts.standing import standing_rows


def count_existing_work(apps, schema_editor):
    models = {
        "Standing": apps.get_model("cohorts", "Standing"),
        "Submission": apps.get_model("grading", "Submission"),
        "LabProgress": apps.get_model("grading", "LabProgress"),
    }
    Membership = apps.get_model("cohorts", "Membership")
    for assignment in apps.get_model("cohorts", "Assignment").objects.all():
        learners = Membership.objects.filter(cohort_id=assignment.cohort_id, role="learner")
        ids = list(learners.values_list("user_id", flat=True))
        models["Standing"].objects.bulk_create(
            standing_rows(assignment, ids, models=models), batch_size=500
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cohorts", "0003_cohort_archive_and_instructor_permission"),
        ("grading", "0007_jobs_leases_labopening"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="cohort",
            name="behind_labs",
            field=models.PositiveIntegerField(
                default=2, validators=[django.core.validators.MinValueValidator(1)]
            ),
        ),
        migrations.AddField(
            model_name="cohort",
            name="stuck_attempts",
            field=models.PositiveIntegerField(
                default=8, validators=[django.core.validators.MinValueValidator(1)]
            ),
        ),
        migrations.CreateModel(
            name="Standing",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("counted_best", models.FloatField(blank=True, null=True)),
                ("best_days_late", models.PositiveIntegerField(default=0)),
                ("counted_last", models.FloatField(blank=True, null=True)),
                ("last_days_late", models.PositiveIntegerField(default=0)),
                ("late_attempts", models.PositiveIntegerField(default=0)),
                ("uncounted_attempts", models.PositiveIntegerField(default=0)),
                ("passed", models.BooleanField(default=False)),
                ("passed_on_time", models.BooleanField(default=False)),
                ("attempts_to_pass", models.PositiveIntegerField(blank=True, null=True)),
                ("hours_to_pass", models.FloatField(blank=True, null=True)),
                ("last_at", models.DateTimeField(blank=True, null=True)),
                (
                    "assignment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="standings",
                        to="cohorts.assignment",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("assignment", "user"), name="one_standing_per_learner"
                    )
                ],
                "indexes": [
                    models.Index(
                        fields=["assignment", "passed", "hours_to_pass"], name="standing_to_pass"
                    )
                ],
            },
        ),
        migrations.RunPython(count_existing_work, migrations.RunPython.noop),
    ]
