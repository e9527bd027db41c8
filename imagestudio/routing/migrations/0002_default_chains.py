"""The default chains: gpt-image-2-vip at 2K and 4K falls back to gpt-image-2.6-all at the
same size (cheaper, and steadier at those tiers since November; docs/gateway.md)."""

from django.db import migrations

DEFAULTS = [("gpt-image-2-vip", "2k"), ("gpt-image-2-vip", "4k")]
FALLBACK = "gpt-image-2.6-all"


def add(apps, schema_editor):
    Chain = apps.get_model("routing", "Chain")
    for model, tier in DEFAULTS:
        Chain.objects.get_or_create(model=model, tier=tier, defaults={"fallbacks": [FALLBACK]})


def remove(apps, schema_editor):
    Chain = apps.get_model("routing", "Chain")
    for model, tier in DEFAULTS:
        Chain.objects.filter(model=model, tier=tier, fallbacks=[FALLBACK]).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]
