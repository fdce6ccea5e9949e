"""LabProgress.hours_to_pass, filled for the rows that already have a first pass."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    LabProgress = apps.get_model("grading", "LabProgress")
    LabOpening = apps.get_model("cohorts", "LabOpening")
    opened = {
        (user_id, lab_id): at
        for user_id, lab_id, at in LabOpening.objects.values_list(
            "user_id", "lab_id", "first_opened_at"
        ).iterator(chunk_size=2000)
    }
    batch = []
    passed = LabProgress.objects.filter(first_pass_at__isnull=False)
    for progress in passed.iterator(chunk_size=2000):
        at = opened.get((progress.user_id, progress.lab_id))
        if at is not None and at <= progress.first_pass_at:
            progress.hours_to_pass = (progress.first_pass_at - at).total_seconds() / 3600
            batch.append(progress)
    LabProgress.objects.bulk_update(batch, ["hours_to_pass"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("cohorts", "0001_initial"),
        ("grading", "0005_graderun_enqueued_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="labprogress",
            name="hours_to_pass",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
