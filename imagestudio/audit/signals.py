"""Which models are audited, which of their fields, and the receivers that record their
changes whoever saves them: the admin, the API, a command or a page.

The row before a save is read in pre_save (one query, only for these rarely changed
models); post_save compares and records only the fields that changed, so a sign-in (which
saves last_login) or a token's last-used stamp writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from imagestudio.audit import messages, trail
from imagestudio.audit.trail import Action

PASSWORD = "password"


@dataclass(frozen=True)
class Tracked:
    object_type: str
    fields: tuple[str, ...]
    created: str = Action.CREATED
    deleted: str = Action.DELETED


def tracked_models() -> dict[type[models.Model], Tracked]:
    from imagestudio.api.models import ApiToken
    from imagestudio.campaigns.models import Kit
    from imagestudio.prefilter.models import Category, Term
    from imagestudio.reconcile.models import Threshold
    from imagestudio.routing.models import Chain
    from imagestudio.spend.models import Budget, Membership, RouteSetting, Team

    user_fields = ("username", "email", "first_name", "last_name")
    flags = ("is_active", "is_staff", "is_superuser")
    return {
        get_user_model(): Tracked("user", (*user_fields, *flags, PASSWORD)),
        Team: Tracked("team", ("name",)),
        Membership: Tracked("membership", ("team", "user")),
        Budget: Tracked("budget", ("scope", "team", "user", "monthly_cap", "alert_at")),
        Category: Tracked("prefilter_category", ("key", "name", "description", "action")),
        Term: Tracked("prefilter_term", ("category", "term", "enabled")),
        Kit: Tracked(
            "kit", ("name", "team", "created_by", "model", "size", "preset", "style", "template")
        ),
        RouteSetting: Tracked(
            "route_setting",
            (
                "model",
                "enabled",
                "price_per_image",
                "text_input_per_million",
                "image_input_per_million",
                "image_output_per_million",
                "timeout_seconds",
            ),
        ),
        ApiToken: Tracked("api_token", ("user", "name", "prefix"), Action.ISSUED, Action.REVOKED),
        Threshold: Tracked("reconciliation_threshold", ("usd",)),
        Chain: Tracked(
            "fallback_chain",
            Chain.STAFF_FIELDS,
        ),
    }


# Filled by connect(): the object types and their labels, for the filters.
TRACKED: dict[type[models.Model], Tracked] = {}


def snapshot(instance: models.Model, spec: Tracked) -> dict[str, Any]:
    """The tracked fields by name (a foreign key as its id). A password is never copied:
    only whether it changed is (see _diff)."""
    values: dict[str, Any] = {}
    for name in spec.fields:
        field = instance._meta.get_field(name)
        value = getattr(instance, field.attname)  # type: ignore[union-attr]
        values[name] = trail.plain(value)
    return values


def _concrete(names: tuple[str, ...], model: type[models.Model]) -> list[str]:
    return [model._meta.get_field(n).attname for n in names]  # type: ignore[union-attr]


def _stored(instance: models.Model, spec: Tracked) -> dict[str, Any] | None:
    model = type(instance)
    row = model._base_manager.filter(pk=instance.pk).values(*_concrete(spec.fields, model)).first()
    if row is None:
        return None
    by_attname = {model._meta.get_field(n).attname: n for n in spec.fields}  # type: ignore[union-attr]
    return {by_attname[k]: trail.plain(v) for k, v in row.items()}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    old = {k: v for k, v in before.items() if after.get(k) != v}
    new = {k: after[k] for k in old}
    if PASSWORD in old:
        old[PASSWORD], new[PASSWORD] = "(old)", "(new)"
    return old, new


def _hide_password(values: dict[str, Any]) -> dict[str, Any]:
    if PASSWORD in values:
        values[PASSWORD] = "(set)" if values[PASSWORD] else "(none)"
    return values


def _before_save(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    spec = TRACKED[sender]
    update_fields = kwargs.get("update_fields")
    if instance.pk is None or kwargs.get("raw"):
        return
    if update_fields is not None and not set(update_fields) & set(spec.fields):
        return  # a sign-in's last_login, for one
    instance._audit_before = _stored(instance, spec)  # type: ignore[attr-defined]


def _after_save(
    sender: type[models.Model], instance: models.Model, created: bool, **kwargs: Any
) -> None:
    if kwargs.get("raw"):
        return  # loaddata
    spec = TRACKED[sender]
    after = snapshot(instance, spec)
    before = instance.__dict__.pop("_audit_before", None)
    if created or before is None:
        if created:
            trail.record_change(instance, spec.object_type, spec.created, {}, _hide_password(after))
        return
    old, new = _diff(before, after)
    if old:
        trail.record_change(instance, spec.object_type, Action.CHANGED, old, new)


def _after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    spec = TRACKED[sender]
    before = _hide_password(snapshot(instance, spec))
    trail.record_change(instance, spec.object_type, spec.deleted, before, {})


def _members_added(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    """team.members.add(...) and user.teams.add(...) create memberships in bulk, without
    post_save; a removal deletes them one by one (post_delete records those)."""
    if action != "post_add" or not pk_set:
        return
    from imagestudio.spend.models import Membership

    key = {"user_id": instance.pk, "team_id__in": pk_set}
    if not reverse:
        key = {"team_id": instance.pk, "user_id__in": pk_set}
    spec = TRACKED[Membership]
    for membership in Membership.objects.filter(**key).select_related("team", "user"):
        trail.record_change(
            membership, spec.object_type, spec.created, {}, snapshot(membership, spec)
        )


def connect() -> None:
    from imagestudio.spend.models import Team

    TRACKED.update(tracked_models())
    for model in TRACKED:
        uid = f"audit-{model._meta.label_lower}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"{uid}-pre")
        post_save.connect(_after_save, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_after_delete, sender=model, dispatch_uid=f"{uid}-delete")
    m2m_changed.connect(_members_added, sender=Team.members.through, dispatch_uid="audit-m2m")


def object_types() -> dict[str, str]:
    """Each audited object type and its name in the reader's language, for the filters and
    the log's rows."""
    return {
        spec.object_type: messages.object_type_label(spec.object_type) for spec in TRACKED.values()
    }


def model_of(object_type: str) -> type[models.Model] | None:
    for model, spec in TRACKED.items():
        if spec.object_type == object_type:
            return model
    return None
