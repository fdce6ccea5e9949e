"""LabOpening now lives in grading (its rows were copied there first)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cohorts", "0001_initial"),
        ("grading", "0007_jobs_leases_labopening"),
    ]

    operations = [migrations.DeleteModel(name="LabOpening")]
