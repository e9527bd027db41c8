from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from imagestudio.audit import messages, queries, signals
from imagestudio.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only; nobody adds, edits or deletes a row here."""

    list_display = [
        "created_at",
        "actor_name",
        "via",
        "action",
        "what",
        "name",
        "address",
    ]
    list_filter = ["action", "via"]
    search_fields = ["actor_name", "object_repr", "object_id"]
    date_hierarchy = "created_at"

    # The stored type and name (kept in English for the CSV and the API) in the reader's
    # language, as the audit log's page says them.
    @admin.display(description=gettext_lazy("what"), ordering="object_type")
    def what(self, entry: AuditEntry) -> str:
        return messages.object_type_label(entry.object_type)

    @admin.display(description=gettext_lazy("name"), ordering="object_repr")
    def name(self, entry: AuditEntry) -> str:
        return messages.object_name(entry.object_type, entry.object_repr)

    @admin.display(description=gettext_lazy("Before → after"))
    def changes(self, entry: AuditEntry) -> str:
        names = queries.related_names([entry])
        model = signals.model_of(entry.object_type)
        return "; ".join(str(change) for change in messages.changes(entry, model, names))

    # The raw columns (English names, JSON values) are the CSV's and the API's.
    fields = [
        "created_at",
        "actor_name",
        "via",
        "address",
        "action",
        "what",
        "name",
        "object_id",
        "changes",
    ]
    readonly_fields = ["what", "name", "changes"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
