"""Fill LabProgress from the submissions graded before it existed."""

import itertools

from django.db import migrations


def backfill(apps, schema_editor):
    from grading.models import progress_from_attempts

    Submission = apps.get_model("grading", "Submission")
    LabProgress = apps.get_model("grading", "LabProgress")
    rows = (
        Submission.objects.order_by("user_id", "lab_id", "created_at")
        .values_list("user_id", "lab_id", "pk", "created_at", "status", "score", "max_score")
        .iterator(chunk_size=2000)
    )
    batch = []
    for (user_id, lab_id), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        fields = progress_from_attempts(r[2:] for r in group)
        batch.append(LabProgress(user_id=user_id, lab_id=lab_id, **fields))
        if len(batch) >= 2000:
            LabProgress.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    LabProgress.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("grading", "0003_graderun_labprogress")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
