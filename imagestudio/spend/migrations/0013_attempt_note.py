import re

from django.db import migrations, models

# The notes the ledger wrote in English before they were keys (spend.messages.ledger_note
# says them in each reader's language): read back into a key and its numbers.
LOST_PREFIX = "billed as lost with its worker; "
EXACT = {
    "found only in the gateway's log": "found_in_log",
    "the worker stopped beating its heart during the call": "worker_stopped",
    "the answer's JSON is nested too deep to read": "answer_garbled",
}
UNEXPECTED = re.compile(r"unexpected HTTP (?P<status>[0-9]{3})")
TOO_LONG = re.compile(r"(?:HTTP [0-9]{3}: )?the answer is longer than (?P<limit>[0-9]+) bytes")


def note_of(text: str) -> tuple[str, dict, str]:
    """(note, params, error message to keep) for a known English note; ("", {}, text)."""
    if text.startswith(LOST_PREFIX):
        return "billed_as_lost", {}, text.removeprefix(LOST_PREFIX)
    if text in EXACT:
        kept = "" if EXACT[text] in ("found_in_log", "worker_stopped") else text
        return EXACT[text], {}, kept
    if match := UNEXPECTED.fullmatch(text):
        return "answer_unexpected_status", {"status": int(match["status"])}, text
    if match := TOO_LONG.fullmatch(text):
        return "answer_too_large", {"limit": int(match["limit"])}, text
    if text.startswith("b64_json: "):
        return "answer_not_decodable", {}, text
    return "", {}, text


def forwards(apps, schema_editor):
    Attempt = apps.get_model("spend", "Attempt")
    rows = Attempt.objects.filter(
        models.Q(error_message__startswith=LOST_PREFIX)
        | models.Q(error_message__in=list(EXACT))
        | models.Q(error_message__startswith="unexpected HTTP ")
        | models.Q(error_message__contains="the answer is longer than")
        | models.Q(error_message__startswith="b64_json: ")
    )
    for pk, text in rows.values_list("pk", "error_message").iterator():
        note, params, kept = note_of(text)
        if note:
            # A queryset update: the model's append-only save() is not the historical one,
            # and this fills in a column that did not exist rather than changing a row.
            Attempt.objects.filter(pk=pk).update(note=note, note_params=params, error_message=kept)


class Migration(migrations.Migration):
    dependencies = [
        ("spend", "0012_field_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="attempt",
            name="note",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="attempt",
            name="note_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
