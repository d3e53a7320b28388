"""ORG-7 and X-3: the organisation's time zone, default language and idle session timeout."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0005_search_trigram"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="time_zone",
            field=models.CharField(default="UTC", max_length=64, verbose_name="time zone"),
        ),
        migrations.AddField(
            model_name="organization",
            name="language",
            field=models.CharField(
                choices=[("en", "English"), ("ja", "Japanese")],
                default="en",
                max_length=10,
                verbose_name="default language",
            ),
        ),
        migrations.AddField(
            model_name="organization",
            name="idle_timeout_minutes",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="idle session timeout (minutes)"
            ),
        ),
    ]
