"""A failed image keeps its failure's parameters, not a sentence in the worker's language.

Rows written before keep their code; their parameters are read back from what the studio
still knows: the image's ledger rows (tries, what was billed, the last HTTP status and the
gateway's words) and a soft refusal's reply. The sentence is then said in each reader's
language like any new one."""

from django.db import migrations, models

# The codes whose sentence is the studio's own (no parameters).
STUDIO_CODES = {"canceled", "worker_lost", "internal_error", "bad_image", "storage_error"}


def params_from_ledger(apps, schema_editor):
    Generation = apps.get_model("studio", "Generation")
    Attempt = apps.get_model("spend", "Attempt")
    failed = (
        Generation.objects.exclude(error_code="")
        .exclude(error_code__in=STUDIO_CODES)
        .only("pk", "error_code", "reply")
    )
    for generation in failed.iterator(chunk_size=500):
        rows = list(
            Attempt.objects.filter(generation_id=generation.pk).order_by("number", "id")
        )
        params = {
            "tries": max(len(rows), 1),
            "billed": [str(row.amount) for row in rows if row.billed],
        }
        last = rows[-1] if rows else None
        if last is not None and last.http_status is not None:
            params["http_status"] = last.http_status
        if generation.error_code == "soft_refusal" and generation.reply:
            params["detail"] = generation.reply[:300]
        elif generation.error_code in ("invalid_request", "invalid_input") and last is not None:
            params["detail"] = last.error_message[:300]
        elif generation.error_code == "timeout" and last is not None:
            params["timeout"] = round(last.latency_ms / 1000)
        Generation.objects.filter(pk=generation.pk).update(error_params=params)


class Migration(migrations.Migration):
    dependencies = [
        ("spend", "0007_budget_alert"),
        ("studio", "0011_routes"),
    ]

    operations = [
        migrations.AddField(
            model_name="generation",
            name="error_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(params_from_ledger, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="generation", name="error_message"),
    ]
