"""Jobs get leases; a regrade run points at its regrade; LabOpening moves here from cohorts."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def copy_openings(apps, schema_editor):
    old = apps.get_model("cohorts", "LabOpening")
    new = apps.get_model("grading", "LabOpening")
    rows = old.objects.values_list("user_id", "lab_id", "first_opened_at")
    new.objects.bulk_create(
        [new(user_id=u, lab_id=lab, first_opened_at=at) for u, lab, at in rows.iterator()],
        batch_size=1000,
        ignore_conflicts=True,
    )


def link_regrades(apps, schema_editor):
    """A run's batch was its regrade's id; runs made without a regrade cannot be kept."""
    GradeRun = apps.get_model("grading", "GradeRun")
    Regrade = apps.get_model("cohorts", "Regrade")
    for regrade_id in Regrade.objects.values_list("id", flat=True).iterator():
        GradeRun.objects.filter(batch=regrade_id).update(regrade_id=regrade_id)
    GradeRun.objects.filter(regrade__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_lab_grader_include"),
        ("cohorts", "0001_initial"),
        ("grading", "0006_labprogress_hours_to_pass"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="LabOpening",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("first_opened_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "lab",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="openings",
                        to="catalog.lab",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lab_openings",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "lab"), name="one_lab_opening_per_learner"
                    )
                ],
            },
        ),
        migrations.RunPython(copy_openings, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="submission", name="grading_sub_status_ee3760_idx"),
        migrations.AddField(
            model_name="submission",
            name="lease_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="submission",
            index=models.Index(
                fields=["status", "lease_expires_at"], name="grading_sub_status_0803a4_idx"
            ),
        ),
        migrations.AddField(
            model_name="graderun",
            name="lease_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="graderun",
            name="deliveries",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="graderun",
            name="regrade",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="runs",
                to="cohorts.regrade",
            ),
        ),
        migrations.RunPython(link_regrades, migrations.RunPython.noop),
        migrations.RemoveField(model_name="graderun", name="batch"),
        migrations.AlterField(
            model_name="graderun",
            name="regrade",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="runs",
                to="cohorts.regrade",
            ),
        ),
    ]
