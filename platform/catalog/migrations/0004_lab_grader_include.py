from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_lab_upload_kb")]

    operations = [
        migrations.AddField(
            model_name="lab",
            name="grader_include",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
