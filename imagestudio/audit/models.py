from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy


class AppendOnlyError(RuntimeError):
    pass


class AuditQuerySet(models.QuerySet):
    """No edits and no deletes in bulk either: an audit row, once written, stays as it is."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit entries are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries are never deleted")


class AuditEntry(models.Model):
    """One change: who, when, what, before → after, and from where."""

    class Action(models.TextChoices):
        CREATED = "created", pgettext_lazy("audit action", "Created")
        CHANGED = "changed", gettext_lazy("Changed")
        DELETED = "deleted", gettext_lazy("Deleted")
        ISSUED = "issued", gettext_lazy("Issued")
        REVOKED = "revoked", gettext_lazy("Revoked")

    class Via(models.TextChoices):
        ADMIN = "admin", gettext_lazy("Admin")
        API = "api", gettext_lazy("API")
        COMMAND = "command", gettext_lazy("Command")
        WEB = "web", gettext_lazy("Web")

    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=gettext_lazy("time")
    )
    # Plain columns, not a foreign key: the row outlives the user, and deleting a user must
    # not have to touch (or be blocked by) the log that records the deletion.
    actor_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, verbose_name=gettext_lazy("actor id")
    )
    actor_name = models.CharField(max_length=150, blank=True, verbose_name=gettext_lazy("who"))
    object_type = models.CharField(max_length=40, db_index=True, verbose_name=gettext_lazy("what"))
    object_id = models.CharField(max_length=64, verbose_name=gettext_lazy("id"))
    object_repr = models.CharField(max_length=200, verbose_name=gettext_lazy("name"))
    action = models.CharField(
        max_length=10, choices=Action.choices, verbose_name=pgettext_lazy("audit", "action")
    )
    before = models.JSONField(default=dict, blank=True, verbose_name=gettext_lazy("before"))
    after = models.JSONField(default=dict, blank=True, verbose_name=gettext_lazy("after"))
    via = models.CharField(max_length=10, choices=Via.choices, verbose_name=gettext_lazy("via"))
    address = models.GenericIPAddressField(
        null=True, blank=True, verbose_name=gettext_lazy("address")
    )

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("audit entry")
        verbose_name_plural = gettext_lazy("audit entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        from imagestudio.audit import messages

        return messages.entry_name(self)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries are never deleted")
