"""Budget alerts: when a month's billed spend first passes a budget's threshold
(Budget.alert_at, default 80 %), and again when it reaches the cap, the budget's people
(the user, or the team's members, and staff) see a notice in the studio, get an e-mail,
and the event is POSTed to IMAGESTUDIO_ALERT_WEBHOOK_URL when it is set.

Once per budget, level, month (and cap), with any number of workers: ledger.record calls
`after_spend` inside the transaction that writes a billed attempt; it locks the budgets that
apply (in the order budgets.reserve locks them, so a submit and a worker never wait on each
other in a cycle), sums the month, and claims a BudgetAlert row; the unique constraint lets
one claim win. The e-mail and the webhook are Celery tasks enqueued on commit (ids only,
retried, never in the way of a submit or of the worker's own answer)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import translation
from django.utils.functional import SimpleLazyObject

from imagestudio.accounts import preferences
from imagestudio.spend import budgets, messages, teams
from imagestudio.spend.models import Budget, BudgetAlert
from imagestudio.spend.money import decimal_str

if TYPE_CHECKING:
    from imagestudio.reconcile.alerts import DayNotice

log = logging.getLogger(__name__)
Level = BudgetAlert.Level
Scope = Budget.Scope
EVENTS = {Level.THRESHOLD: "budget.threshold", Level.EXHAUSTED: "budget.exhausted"}
CACHE_TTL_SECONDS = 300
WEBHOOK_TIMEOUT_SECONDS = 10.0


# --- claiming: inside the ledger's transaction -------------------------------------------
def after_spend(*, user_id: int, team_id: int | None) -> None:
    """A billed attempt by `user_id` charged to `team_id` was just written (same
    transaction): claim each alert its budgets now call for."""
    scopes = Q(scope=Scope.GLOBAL) | Q(scope=Scope.USER, user_id=user_id)
    if team_id is not None:
        scopes |= Q(scope=Scope.TEAM, team_id=team_id)
    # Locked, so two workers' attempts are summed one after the other: the one that
    # crosses the line sees the other's spend, in reserve's lock order. Asked after every
    # billed call, mostly of no budget: nothing joined.
    rows = list(
        Budget.objects.filter(scopes).select_for_update(of=("self",)).order_by(*budgets.LOCK_ORDER)
    )
    for budget in rows:
        # Only what was billed: the images in progress a budget also holds back (standing)
        # cost a grouped query of every pending image in scope, on every billed call.
        spent = budgets.spent(budget)
        claimed = [c for c in (_claim(budget, lv, spent) for lv in _levels(budget, spent)) if c]
        if claimed:
            # Passing both lines at once is one event, the cap's; the threshold is
            # claimed all the same, so it is not told later in the month.
            _announce(claimed[0].pk)


@receiver(post_save, sender=Budget, dispatch_uid="alerts-budget-cap")
def after_cap_change(sender: type, instance: Budget, **kwargs: object) -> None:
    """A cap set at or below what is already spent this month (or a threshold already
    passed) is told at once, not at the next billed call, which may never come."""
    with transaction.atomic():
        budget = (
            Budget.objects.select_for_update(of=("self",))
            .select_related("team", "user")
            .filter(pk=instance.pk)
            .first()
        )
        if budget is None:
            return
        spent = budgets.spent(budget)
        claimed = [c for c in (_claim(budget, lv, spent) for lv in _levels(budget, spent)) if c]
        if claimed:
            _announce(claimed[0].pk)


def _levels(budget: Budget, spent: Decimal) -> list[str]:
    """The levels reached, highest first."""
    if spent >= budget.monthly_cap:
        return [Level.EXHAUSTED, Level.THRESHOLD]
    if spent >= budget.monthly_cap * budget.alert_at:
        return [Level.THRESHOLD]
    return []


def _claim(budget: Budget, level: str, spent: Decimal) -> BudgetAlert | None:
    try:
        with transaction.atomic():
            return BudgetAlert.objects.create(
                budget=budget,
                month=budgets.month_start().date(),
                level=level,
                cap=budget.monthly_cap,
                spent=spent,
            )
    except IntegrityError:
        return None  # another attempt claimed it first


def _announce(alert_id: int) -> None:
    forget_notices()

    def send() -> None:
        forget_notices()
        email_alert.delay(alert_id)
        if settings.ALERT_WEBHOOK_URL:
            post_alert.delay(alert_id)

    # robust: a broker that is down costs the alert, never the worker's finished image.
    transaction.on_commit(send, robust=True)


# --- who is told, and what ---------------------------------------------------------------
def people(budget: Budget) -> Any:
    """The budget's people: its user or its team's members, and staff; active ones."""
    who = Q(is_staff=True)
    if budget.scope == Scope.USER:
        who |= Q(pk=budget.user_id)
    elif budget.scope == Scope.TEAM:
        who |= Q(memberships__team_id=budget.team_id)
    return get_user_model().objects.filter(who, is_active=True).distinct()


def _percent(share: Decimal) -> str:
    return decimal_str(share * 100).removesuffix(".00")


def sentence(alert: BudgetAlert) -> str:
    budget = alert.budget
    label = messages.alert_budget_label(budget.scope, budget.name)
    if alert.level == Level.EXHAUSTED:
        resets_on = budgets.next_month_start(budgets.month_start()).date()
        return messages.alert_exhausted(
            label=label, cap=alert.cap, spent=alert.spent, resets_on=resets_on
        )
    return messages.alert_threshold(
        label=label, percent=_percent(budget.alert_at), cap=alert.cap, spent=alert.spent
    )


def payload(alert: BudgetAlert) -> dict[str, str]:
    budget = alert.budget
    return {
        "event": EVENTS[Level(alert.level)],
        "scope": budget.scope,
        "name": budget.name,
        "cap_usd": decimal_str(alert.cap),
        "spent_usd": decimal_str(alert.spent),
        "month": f"{alert.month:%Y-%m}",
    }


def _alert(alert_id: int) -> BudgetAlert | None:
    return (
        BudgetAlert.objects.select_related("budget__team", "budget__user")
        .filter(pk=alert_id)
        .first()
    )


@shared_task(
    name="imagestudio.spend.alerts.email_alert",
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def email_alert(alert_id: int) -> int:
    """One e-mail to each of the budget's people who has an address; how many were sent."""
    alert = _alert(alert_id)
    if alert is None:
        return 0  # the budget was removed meanwhile
    budget = alert.budget
    recipients = sorted({u.email: u for u in people(budget) if u.email}.items())
    if not recipients:
        return 0
    languages = preferences.languages([u.pk for _address, u in recipients])
    # One message each (nobody learns who else is on the list), in each one's language.
    for address, user in recipients:
        with translation.override(languages.get(user.pk) or settings.LANGUAGE_CODE):
            subject = messages.alert_subject(
                label=messages.alert_budget_label(budget.scope, budget.name),
                exhausted=alert.level == Level.EXHAUSTED,
                percent=_percent(budget.alert_at),
            )
            body = messages.alert_body(sentence(alert), f"{alert.month:%Y-%m}")
            send_mail(subject, body, None, [address])
    return len(recipients)


@shared_task(
    name="imagestudio.spend.alerts.post_alert",
    autoretry_for=(httpx.HTTPError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def post_alert(alert_id: int) -> int | None:
    """POST the event as JSON to IMAGESTUDIO_ALERT_WEBHOOK_URL; a failure or a non-2xx
    answer is retried with backoff. The receiver's status code."""
    url = settings.ALERT_WEBHOOK_URL
    alert = _alert(alert_id)
    if not url or alert is None:
        return None
    response = httpx.post(url, json=payload(alert), timeout=WEBHOOK_TIMEOUT_SECONDS)
    response.raise_for_status()
    return response.status_code


# --- the studio's notice -----------------------------------------------------------------
@dataclass(frozen=True)
class Notice:
    text: str
    exhausted: bool
    # Whom it is for: staff, and the budget's user or team members.
    user_id: int | None
    team_id: int | None


def _cache_key(month: date) -> str:
    return f"spend:alerts:{month:%Y-%m}"


def forget_notices(**kwargs: object) -> None:
    cache.delete(_cache_key(budgets.month_start().date()))


# A budget changed or removed changes its notices (a raised cap clears them): receivers
# connected here because this module is imported whenever the ledger is.
receiver([post_save, post_delete], sender=Budget, dispatch_uid="alerts-budget")(forget_notices)


def _month_notices() -> list[BudgetAlert]:
    """This month's alerts to tell, highest level per budget, only those about the
    budget's current cap: cached for everyone, so a page costs no query for them. The
    alerts, not their sentences: each reader gets them in their own language."""
    month = budgets.month_start().date()
    key = _cache_key(month)
    found = cache.get(key)
    if found is None:
        found = []
        seen: set[int] = set()
        # "exhausted" sorts before "threshold": the higher level comes first per budget.
        alerts = (
            BudgetAlert.objects.filter(month=month)
            .select_related("budget__team", "budget__user")
            .order_by("budget_id", "level")
        )
        for alert in alerts:
            budget = alert.budget
            if alert.budget_id in seen or alert.cap != budget.monthly_cap:
                continue
            seen.add(alert.budget_id)
            found.append(alert)
        cache.set(key, found, CACHE_TTL_SECONDS)
    return found


def notices_for(user: Any) -> list[Notice | DayNotice]:
    if not user.is_authenticated:
        return []
    every = [_notice(alert) for alert in _month_notices()]
    if user.is_staff:
        # The gateway's books differing from ours is the staff's to hear (reconcile).
        from imagestudio.reconcile.alerts import staff_notices

        return [*every, *staff_notices()]
    if not every:
        return []
    team_ids = {t.pk for t in teams.teams_for(user)}
    return [n for n in every if n.user_id == user.pk or n.team_id in team_ids]


def _notice(alert: BudgetAlert) -> Notice:
    """An alert as the reader of this request reads it."""
    return Notice(
        text=sentence(alert),
        exhausted=alert.level == Level.EXHAUSTED,
        user_id=alert.budget.user_id,
        team_id=alert.budget.team_id,
    )


def notices(request: Any) -> dict[str, Any]:
    """Context processor: `budget_notices`, worked out only when a template shows them
    (the htmx fragments never do)."""
    return {"budget_notices": SimpleLazyObject(lambda: notices_for(request.user))}
