"""X-1: a member's date format defaults to "" ("Default for my language"); members who still
hold the old default, m/d/Y, follow their language from now on."""

from django.db import migrations, models

OLD_DEFAULT = "m/d/Y"


def old_default_to_language_default(apps, schema_editor):
    CrmUser = apps.get_model("users", "CrmUser")
    CrmUser.objects.filter(date_format=OLD_DEFAULT).update(date_format="")


def language_default_to_old_default(apps, schema_editor):
    CrmUser = apps.get_model("users", "CrmUser")
    CrmUser.objects.filter(date_format="").update(date_format=OLD_DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("users", "0006_organization_settings")]

    operations = [
        migrations.AlterField(
            model_name="crmuser",
            name="date_format",
            field=models.CharField(
                blank=True, default="", max_length=20, verbose_name="date format"
            ),
        ),
        migrations.RunPython(old_default_to_language_default, language_default_to_old_default),
    ]
