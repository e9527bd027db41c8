"""The gateway's own books, kept beside ours: each spending row of its log (once, by its
id), the rows it sent that could not be read, every pull, the staff's alert threshold
and the days already alerted about."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy

from imagestudio.spend.models import Attempt

DEFAULT_THRESHOLD = Decimal("1.00")


class State(models.TextChoices):
    # Read, not yet decided: too young for "unknown here" (its call may still be
    # written by a worker or the sweep).
    PENDING = "pending", gettext_lazy("Waiting")
    MATCHED = "matched", gettext_lazy("Matched")
    AMOUNT_DIFFERS = "amount_differs", gettext_lazy("Amount differs")
    UNKNOWN_HERE = "unknown_here", gettext_lazy("Billed by the gateway, unknown here")


class LogRow(models.Model):
    """One spending row of the gateway's log. `attempt` is the ledger row it was matched
    to: one to one, so no row is ever matched to two attempts nor two rows to one."""

    log_id = models.BigIntegerField(unique=True)
    # The gateway's clock (it may be minutes off ours: matching allows for it).
    created_at = models.DateTimeField(db_index=True)
    model = models.CharField(max_length=100)
    path = models.CharField(max_length=200, blank=True)
    billing_type = models.CharField(max_length=40, blank=True)
    request_id = models.CharField(max_length=200, blank=True, db_index=True)
    token_name = models.CharField(max_length=100, blank=True)
    quota = models.BigIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=6)
    use_time = models.PositiveIntegerField(default=0)
    # As the gateway sent it (a JSON string): billing type, request path, usage.
    other = models.TextField(blank=True)
    attempt = models.OneToOneField(
        Attempt,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gateway_log_row",
    )
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.PENDING, db_index=True
    )
    # The attempt was written from this row: a call only the gateway knew of.
    added = models.BooleanField(default=False)
    fetched_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "log_id"]

    def __str__(self) -> str:
        return f"gateway log {self.log_id} ({self.state})"


class MalformedRow(models.Model):
    """A row of the log that could not be read: kept aside (once) and shown."""

    digest = models.CharField(max_length=64, unique=True)
    log_id = models.BigIntegerField(null=True, blank=True)
    raw = models.TextField()
    problem = models.CharField(max_length=200)
    seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seen_at", "-id"]

    def __str__(self) -> str:
        return f"unreadable gateway log row {self.log_id or '?'}: {self.problem}"

    @property
    def problem_text(self) -> str:
        from imagestudio.reconcile.messages import malformed

        return malformed(self.problem)


class Pull(models.Model):
    """One reading of the log over a period. Only a complete one (`ok`) counts as
    having looked: an attempt it covers and did not find is "not billed by the
    gateway"; otherwise it is "not in the log yet"."""

    class Outcome(models.TextChoices):
        RUNNING = "running", gettext_lazy("Running")
        OK = "ok", gettext_lazy("Complete")
        BAD_TOKEN = "bad_token", gettext_lazy("Token refused")
        UNAVAILABLE = "unavailable", gettext_lazy("Log unavailable")

    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.RUNNING)
    pages = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    new_rows = models.PositiveIntegerField(default=0)
    malformed = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["outcome", "period_end"])]

    def __str__(self) -> str:
        return f"pull {self.period_start:%Y-%m-%d %H:%M}–{self.period_end:%H:%M}: {self.outcome}"


class Threshold(models.Model):
    """The staff-set difference (US dollars, either way) above which a day's books are
    reported to the budget-alert channels. One row."""

    usd = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=DEFAULT_THRESHOLD,
        verbose_name=gettext_lazy("alert threshold (USD)"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"reconciliation alert above ${self.usd}"

    @classmethod
    def current(cls) -> Threshold:
        """The row, or the default one unsaved (reading the page writes nothing)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class DayAlert(models.Model):
    """That a day's difference passed the threshold: claimed once (unique day)."""

    day = models.DateField(unique=True)
    gateway_usd = models.DecimalField(max_digits=14, decimal_places=6)
    ledger_usd = models.DecimalField(max_digits=14, decimal_places=6)
    threshold = models.DecimalField(max_digits=10, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"books differ on {self.day}"

    @property
    def difference(self) -> Decimal:
        return self.gateway_usd - self.ledger_usd
