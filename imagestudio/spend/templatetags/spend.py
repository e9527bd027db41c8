"""Spend bits the studio page includes: the team picker, the budget line next to Generate,
and the live "would not fit" hint. Tags, so the studio views need not know about budgets."""

from __future__ import annotations

from decimal import Decimal

from django import template

from imagestudio.spend import budgets, charging, money
from imagestudio.spend.models import usage_line

register = template.Library()


@register.filter
def usd(amount: Decimal | None) -> str:
    """The one money filter: spend.money.usd."""
    return money.usd(amount)


@register.filter
def table_label(group: str) -> str:
    from imagestudio.spend.views import TABLES

    return str(TABLES.get(group, group))


@register.filter
def tokens(row: dict) -> str:
    """A report row's summed usage ("text + image → output"), or "" where none of its
    calls was billed by tokens."""
    if not row.get("token_calls"):
        return ""
    return usage_line(row["sum_text_tokens"], row["sum_image_tokens"], row["sum_output_tokens"])


@register.filter
def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"


def _user(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _chosen_team(context, user):
    """The team the form has chosen (POSTed or bound), else the user's first."""
    form = context.get("form")
    team = getattr(form, "charged_team", None)
    if team is not None:
        return team
    request = context.get("request")
    # POSTed with the form, or sent along when the spend line asks again (a GET).
    value = (request.POST.get("team") or request.GET.get("team", "")) if request is not None else ""
    try:
        return charging.charged_team(user, value)
    except charging.ChargeRefused:
        return charging.charged_team(user)


@register.inclusion_tag("spend/_form_fields.html", takes_context=True)
def spend_form_fields(context) -> dict:
    user = _user(context)
    if user is None:
        return {}
    form = context.get("form")
    chosen = _chosen_team(context, user)
    return {
        "teams": list(user.teams.all()),
        "chosen_team_id": chosen.pk if chosen is not None else None,
        "team_errors": form.errors.get("team", []) if form is not None and form.is_bound else [],
        "is_staff": user.is_staff,
        "override_checked": bool(form is not None and form["override_budget"].value()),
    }


@register.inclusion_tag("spend/_user_budget.html", takes_context=True)
def user_budget(context) -> dict:
    user = _user(context)
    if user is None:
        return {}
    # A refused submit is said by budget_fit, in the feedback area, not here as well.
    return budgets.overview(user, _chosen_team(context, user))


@register.inclusion_tag("spend/_budget_fit.html", takes_context=True)
def budget_fit(context) -> dict:
    """Before submitting: say so when the next batch would not fit a budget. After a
    refused submit (`budget_error`): that refusal, said here only."""
    user = _user(context)
    if user is None:
        return {}
    if context.get("budget_error"):
        return {"refused": context["budget_error"], "can_override": user.is_staff}
    model, count = context.get("fit_model"), context.get("fit_count")
    if not model or not count:
        return {}
    refusal = budgets.check(
        user=user,
        team=_chosen_team(context, user),
        model=model,
        count=count,
        size=context.get("fit_size", ""),
        quality=context.get("fit_quality", ""),
        inputs=context.get("fit_inputs", 0),
    )
    return {"refusal": refusal, "can_override": user.is_staff}
