"""Cohorts can be archived; the instructor permission lets non-staff create cohorts."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cohorts", "0002_labopening_moves_to_grading"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="cohort",
            options={
                "ordering": ["name"],
                "permissions": [("create_cohort", "Can create cohorts (instructor)")],
            },
        ),
        migrations.AddField(
            model_name="cohort",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
