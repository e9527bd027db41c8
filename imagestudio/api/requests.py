"""From a parsed body to the studio's one submit path: the body's fields become a
`services.Ask`, services.plan applies every rule (its messages are the ones a person reads;
they replace the models' type fallbacks) and services.send creates the jobs. The studio
form goes through the same two functions."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from imagestudio.api import messages, serializers
from imagestudio.api import spend as spend_api
from imagestudio.api.contract import WRONG, ApiError, invalid, respond
from imagestudio.campaigns import lists
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.studio import services

# The order in which a 400 names "the" bad field: as the fields appear in the docs.
FIELD_ORDER = (
    "n",
    "preset",
    "kit",
    "model",
    "prompt",
    "prompts",
    "template",
    "rows",
    "size",
    "quality",
    "background",
    "output_format",
    "count",
    "fallback_2k",
    "team",
    "override_budget",
    "image",
    "mask",
)


def _list(values: dict[str, Any], ask: services.Ask) -> None:
    """A body's list (`prompts`, or `template` with `rows`) into `ask`; ListInvalid names
    the field. `rows` obey the rules of a pasted table (lists.table_from_rows)."""
    if values.get("prompts") is not None:
        services.check_list_length(len(values["prompts"]), values.get("count"), "prompts")
        ask.items, ask.list_field = [lists.Item(p) for p in values["prompts"]], "prompts"
        return
    if values.get("template") is None and values.get("rows") is None:
        return
    template, rows = (values.get("template") or "").strip(), values.get("rows") or []
    services.check_list_length(len(rows), values.get("count"), "rows")
    if not template:
        raise lists.ListInvalid("template", messages.template_needed())
    if not rows:
        raise lists.ListInvalid("rows", messages.rows_needed())
    table = lists.table_from_rows(rows)
    ask.template, ask.columns = template, table.columns
    ask.items, ask.list_field = lists.from_template(template, table), "rows"


def ask_from(values: dict[str, Any]) -> services.Ask:
    """The Ask a body's values make (a list it could not read is in `ask.refused`)."""
    ask = services.Ask(
        model=values.get("model"),
        prompt=values.get("prompt"),
        size=values.get("size"),
        count=values.get("count", 1),
        fallback_2k=values.get("fallback_2k", True),
        quality=values.get("quality"),
        background=values.get("background"),
        output_format=values.get("output_format"),
        preset=values.get("preset"),
        kit=values.get("kit"),
        team=values.get("team"),
        override_budget=values.get("override_budget", False),
    )
    sent = [k for k in ("prompt", "prompts", "template") if values.get(k) is not None]
    if len(sent) > 1:
        ask.refused[sent[1]] = messages.one_kind_of_prompt()
    elif not any(values.get(k) is WRONG for k in ("prompts", "template", "rows")):
        try:
            _list(values, ask)
        except lists.ListInvalid as exc:
            ask.refused[exc.field] = exc.message
        except services.Invalid as exc:
            ask.refused.update(exc.errors)
    return ask


def submit(
    request: HttpRequest,
    ask: services.Ask,
    errors: dict[str, str],
    uploads: list[services.Upload] | None = None,
    *,
    mask: bytes | None = None,
) -> HttpResponseBase:
    """Plan and send `ask` (with `errors` already found in the body): the 202 of every
    submit, or the 400 / 402 it becomes. A kit the caller may not use is left to the
    operation that takes one (services.KitNotUsable)."""
    try:
        checked = services.plan(request.user, ask)
    except services.KitNotUsable:
        raise
    except services.Invalid as exc:
        raise invalid(_named({**errors, **exc.errors}), FIELD_ORDER) from exc
    if errors:
        raise invalid(_named(errors), FIELD_ORDER)
    try:
        batch, _ = services.send(request.user, checked, uploads, mask=mask)
    except services.StorageDown as exc:
        raise ApiError(503, "storage_unavailable", exc.errors["images"]) from exc
    except services.Invalid as exc:
        raise invalid(_named(exc.errors), FIELD_ORDER) from exc
    except BudgetExceeded as exc:
        raise spend_api.budget_exceeded(exc) from exc
    return respond(serializers.batch_answer(request, batch, checked.warnings), status=202)


def _named(errors: dict[str, str]) -> dict[str, str]:
    # The service says `images` (the form's field); the API's pictures are `image`.
    return {("image" if k == "images" else k): v for k, v in errors.items()}
