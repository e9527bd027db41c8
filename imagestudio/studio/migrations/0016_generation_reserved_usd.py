from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0015_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="generation",
            name="reserved_usd",
            field=models.DecimalField(blank=True, decimal_places=6, max_digits=12, null=True),
        ),
    ]
