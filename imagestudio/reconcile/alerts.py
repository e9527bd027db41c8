"""A day whose books differ by more than the staff-set threshold raises the budget-alert
channels: a notice for staff on every page, an e-mail to staff, the webhook
(IMAGESTUDIO_ALERT_WEBHOOK_URL) with event "reconciliation.difference". Once per day:
a DayAlert row is claimed under a unique constraint, whichever machine gets there first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from imagestudio.accounts import preferences
from imagestudio.reconcile import books, messages
from imagestudio.reconcile.models import DayAlert
from imagestudio.spend.alerts import WEBHOOK_TIMEOUT_SECONDS
from imagestudio.spend.money import decimal_str

EVENT = "reconciliation.difference"
NOTICE_DAYS = 31
CACHE_KEY = "reconcile:notices"
CACHE_TTL_SECONDS = 300


def check_days(start: datetime, end: datetime) -> list[DayAlert]:
    """Claim an alert for each whole day of [start, end] the complete pulls have read
    (with the window either side) whose difference passes the threshold."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    span = books.window()
    coverage = books.Coverage.around(start - span * 4, end + span * 4)
    limit = books.threshold()
    claimed = []
    for day in books.days(first, last):
        day_start, day_end = books.bounds(day.day, day.day)
        if not coverage.covers(day_start - span, day_end + span):
            continue
        if abs(day.difference) <= limit:
            continue
        alert = _claim(day, limit)
        if alert is not None:
            claimed.append(alert)
    return claimed


def _claim(day: books.Day, limit) -> DayAlert | None:
    try:
        with transaction.atomic():
            alert = DayAlert.objects.create(
                day=day.day, gateway_usd=day.gateway, ledger_usd=day.ledger, threshold=limit
            )
    except IntegrityError:
        return None  # told already
    cache.delete(CACHE_KEY)
    pk = alert.pk

    def send() -> None:
        email_staff.delay(pk)
        if settings.ALERT_WEBHOOK_URL:
            post_difference.delay(pk)

    # robust: a broker that is down costs the e-mail, never the run.
    transaction.on_commit(send, robust=True)
    return alert


def payload(alert: DayAlert) -> dict[str, str]:
    return {
        "event": EVENT,
        "day": alert.day.isoformat(),
        "gateway_usd": decimal_str(alert.gateway_usd),
        "ledger_usd": decimal_str(alert.ledger_usd),
        "difference_usd": decimal_str(alert.difference),
        "threshold_usd": decimal_str(alert.threshold),
    }


def _staff():
    return get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")


@shared_task(
    name="imagestudio.reconcile.alerts.email_staff",
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def email_staff(alert_id: int) -> int:
    alert = DayAlert.objects.filter(pk=alert_id).first()
    if alert is None:
        return 0
    people = list(_staff())
    languages = preferences.languages([u.pk for u in people])
    for user in people:
        with translation.override(languages.get(user.pk) or settings.LANGUAGE_CODE):
            sentence = messages.day_differs(alert.day, alert.gateway_usd, alert.ledger_usd)
            send_mail(
                messages.alert_subject(alert.day),
                messages.alert_body(sentence),
                None,
                [user.email],
            )
    return len(people)


@shared_task(
    name="imagestudio.reconcile.alerts.post_difference",
    autoretry_for=(httpx.HTTPError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def post_difference(alert_id: int) -> int | None:
    url = settings.ALERT_WEBHOOK_URL
    alert = DayAlert.objects.filter(pk=alert_id).first()
    if not url or alert is None:
        return None
    response = httpx.post(url, json=payload(alert), timeout=WEBHOOK_TIMEOUT_SECONDS)
    response.raise_for_status()
    return response.status_code


@dataclass(frozen=True)
class DayNotice:
    """A day whose books differ, shown like a budget notice (spend/_budget_notices.html)."""

    day: date
    gateway: Decimal
    ledger: Decimal
    exhausted: bool = False

    @property
    def text(self) -> str:
        # Worded when the page is drawn, in its reader's language.
        return messages.day_differs(self.day, self.gateway, self.ledger)


def staff_notices() -> list[DayNotice]:
    """The recent days whose books differ, as budget-style notices (staff only)."""
    found = cache.get(CACHE_KEY)
    if found is None:
        since = timezone.now().astimezone(UTC).date() - timedelta(days=NOTICE_DAYS)
        found = list(
            DayAlert.objects.filter(day__gte=since).values_list("day", "gateway_usd", "ledger_usd")
        )
        cache.set(CACHE_KEY, found, CACHE_TTL_SECONDS)
    return [DayNotice(day, gateway, ledger) for day, gateway, ledger in found]


def alerted_days(first: date, last: date) -> set[date]:
    return set(DayAlert.objects.filter(day__gte=first, day__lte=last).values_list("day", flat=True))
