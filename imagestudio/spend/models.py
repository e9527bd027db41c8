from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imagestudio.spend import messages
from imagestudio.upstream.types import Outcome

DEFAULT_ALERT_AT = Decimal("0.80")


class AppendOnlyError(RuntimeError):
    pass


class Team(models.Model):
    """People who share a gallery and a budget; a generation is charged to one team."""

    name = models.CharField(max_length=100, unique=True, verbose_name=gettext_lazy("name"))
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Membership",
        related_name="teams",
        blank=True,
        verbose_name=gettext_lazy("members"),
    )
    # Every image of the team's leaves the studio with the visible "AI生成" label too
    # (campaigns.labelling); the implicit label is always there.
    visible_label = models.BooleanField(
        default=False,
        verbose_name=gettext_lazy("visible AI label on downloads"),
        help_text=gettext_lazy(
            "Downloads of the team's images carry “AI生成” / “AI-generated” in a corner."
        ),
    )

    class Meta:
        verbose_name = gettext_lazy("team")
        verbose_name_plural = gettext_lazy("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=gettext_lazy("team"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=gettext_lazy("user"),
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("membership")
        verbose_name_plural = gettext_lazy("memberships")
        # "The user's first team" is the one they joined first.
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class Attempt(models.Model):
    """One call to the gateway. Append-only: a correction is a new row, never an edit."""

    generation = models.ForeignKey(
        "studio.Generation",
        on_delete=models.SET_NULL,
        null=True,
        related_name="attempt_rows",
        verbose_name=gettext_lazy("image"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="attempts",
        verbose_name=gettext_lazy("user"),
    )
    # The team the generation was charged to, copied so a later team change or a deleted
    # generation never moves money between teams.
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attempts",
        verbose_name=gettext_lazy("team"),
    )
    number = models.PositiveSmallIntegerField(verbose_name=gettext_lazy("call number"))
    model = models.CharField(max_length=40, verbose_name=gettext_lazy("model"))
    endpoint = models.CharField(max_length=40, verbose_name=gettext_lazy("endpoint"))
    size_sent = models.CharField(max_length=40, blank=True, verbose_name=gettext_lazy("size sent"))
    size_tier = models.CharField(max_length=4, blank=True, verbose_name=gettext_lazy("size tier"))
    http_status = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=gettext_lazy("HTTP status")
    )
    request_id = models.CharField(
        max_length=200, blank=True, verbose_name=gettext_lazy("request id")
    )
    latency_ms = models.PositiveIntegerField(verbose_name=gettext_lazy("latency (ms)"))
    outcome = models.CharField(
        max_length=20, choices=Outcome.choices, verbose_name=gettext_lazy("outcome")
    )
    billed = models.BooleanField(verbose_name=gettext_lazy("billed"))
    # Dollars to a millionth: token routes bill fractions of a cent.
    amount = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=Decimal("0"),
        verbose_name=gettext_lazy("amount (USD)"),
    )
    error_code = models.CharField(
        max_length=80, blank=True, verbose_name=gettext_lazy("error code")
    )
    # What the gateway (or the network) said, as it came; the studio's own technical
    # text where it had nothing to say, kept for staff and the worker log.
    error_message = models.TextField(blank=True, verbose_name=gettext_lazy("details"))
    # The studio's note on the call, as a key and its numbers (upstream.messages.Reason
    # keys, or the ledger's own in spend.messages): pages say it in their reader's
    # language (`note_text`).
    note = models.CharField(max_length=40, blank=True, verbose_name=gettext_lazy("note"))
    note_params = models.JSONField(
        default=dict, blank=True, verbose_name=gettext_lazy("note's numbers")
    )
    # A token route's quality tier and usage as its answer reported them (null: a per-call
    # route, or no usage; then `usage_missing` says it was billed at the top of its range).
    quality = models.CharField(max_length=10, blank=True, verbose_name=gettext_lazy("quality"))
    text_tokens = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=gettext_lazy("text input tokens")
    )
    image_tokens = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=gettext_lazy("image input tokens")
    )
    output_tokens = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=gettext_lazy("output tokens")
    )
    usage_missing = models.BooleanField(
        default=False, verbose_name=gettext_lazy("answered without usage")
    )
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=gettext_lazy("time")
    )

    class Meta:
        verbose_name = gettext_lazy("gateway call")
        verbose_name_plural = gettext_lazy("gateway calls")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return _("call %(number)s of image %(id)s: %(outcome)s") % {
            "number": self.number,
            "id": self.generation_id or "—",
            "outcome": self.get_outcome_display(),
        }

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("ledger rows are append-only; write a correction row instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("ledger rows are never deleted")

    @property
    def tokens(self) -> str:
        """ "text + image → output" tokens, or "" for a call not billed by tokens."""
        if self.output_tokens is None:
            return ""
        return usage_line(self.text_tokens or 0, self.image_tokens or 0, self.output_tokens)

    @property
    def gateway_words(self) -> str:
        """The gateway's (or the network's) own words, quoted under the outcome in an
        image's call table. The ledger's notes on a lost worker, a failed download or an
        unreadable picture are the studio's: the outcome's name, `note_text` and the
        image's explanation say those in the reader's language."""
        if self.outcome in (Outcome.LOST, Outcome.DOWNLOAD_FAILED, Outcome.BAD_IMAGE):
            return ""
        if messages.note_restates_detail(self.note):
            return ""  # the detail is the studio's own English for the note
        return self.error_message

    @property
    def note_text(self) -> str:
        """The studio's note on this call in the reader's language ("" without one)."""
        return messages.ledger_note(self.note, self.note_params)


class Budget(models.Model):
    """A monthly cap (calendar month, UTC) on billed spend: the studio's, a team's or a
    user's. A scope with no Budget row is unlimited."""

    class Scope(models.TextChoices):
        GLOBAL = "global", gettext_lazy("Whole studio")
        TEAM = "team", gettext_lazy("Team")
        USER = "user", gettext_lazy("User")

    scope = models.CharField(
        max_length=6, choices=Scope.choices, verbose_name=gettext_lazy("scope")
    )
    team = models.OneToOneField(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="budget",
        verbose_name=gettext_lazy("team"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="budget",
        verbose_name=gettext_lazy("user"),
    )
    monthly_cap = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        help_text=gettext_lazy("US dollars per calendar month (UTC)."),
        verbose_name=gettext_lazy("monthly cap (USD)"),
    )
    alert_at = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=DEFAULT_ALERT_AT,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1"))],
        help_text=gettext_lazy(
            "The share of the cap (0.01–1) at which its people are warned; they are "
            "told again when it is used up."
        ),
        verbose_name=gettext_lazy("alert at"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated"))

    class Meta:
        verbose_name = gettext_lazy("budget")
        verbose_name_plural = gettext_lazy("budgets")
        ordering = ["scope", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope"], condition=models.Q(scope="global"), name="budget_one_global"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(scope="global", team__isnull=True, user__isnull=True)
                    | models.Q(scope="team", team__isnull=False, user__isnull=True)
                    | models.Q(scope="user", team__isnull=True, user__isnull=False)
                ),
                name="budget_scope_matches_owner",
            ),
            models.CheckConstraint(
                condition=models.Q(monthly_cap__gte=0), name="budget_cap_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(alert_at__gt=0, alert_at__lte=1), name="budget_alert_at_share"
            ),
        ]

    def __str__(self) -> str:
        return messages.budget_name(self.scope, self.name, Decimal(self.monthly_cap))

    def clean(self) -> None:
        """The admin form's check of the scope against its owner, said in words beside the
        field to fix (the database's constraint would only say its own name)."""
        errors: dict[str, str] = {}
        if self.scope == self.Scope.TEAM:
            if self.team_id is None:
                errors["team"] = _("A team budget needs a team: choose one here.")
            if self.user_id is not None:
                errors["user"] = _("A team budget has no user: clear this field.")
        elif self.scope == self.Scope.USER:
            if self.user_id is None:
                errors["user"] = _("A user budget needs a user: choose one here.")
            if self.team_id is not None:
                errors["team"] = _("A user budget has no team: clear this field.")
        elif self.scope == self.Scope.GLOBAL:
            for field in ("team", "user"):
                if getattr(self, f"{field}_id") is not None:
                    errors[field] = _("The studio's budget is for everyone: clear this field.")
            others = Budget.objects.filter(scope=self.Scope.GLOBAL).exclude(pk=self.pk)
            if not errors and others.exists():
                errors["scope"] = _(
                    "The studio already has a budget: change that one instead of adding another."
                )
        if errors:
            raise ValidationError(errors)

    @property
    def name(self) -> str:
        """The team's or user's name; "studio" for the global budget."""
        if self.scope == self.Scope.TEAM:
            return self.team.name if self.team else ""
        if self.scope == self.Scope.USER:
            return self.user.get_username() if self.user else ""
        return "studio"

    @classmethod
    def put(
        cls,
        scope: str,
        *,
        team: Team | None = None,
        user: Any = None,
        cap: Decimal,
        alert_at: Decimal = DEFAULT_ALERT_AT,
    ) -> Budget:
        """Create the budget of this scope, or replace its cap and threshold (the row and
        its alerts stay: a raised cap is warned about again when it is reached)."""
        owner = {"scope": scope, "team": team, "user": user}
        with transaction.atomic():
            budget = cls.objects.select_for_update().filter(**owner).first()
            if budget is None:
                try:
                    with transaction.atomic():
                        return cls.objects.create(**owner, monthly_cap=cap, alert_at=alert_at)
                except IntegrityError:
                    # Someone created it meanwhile: replace theirs.
                    budget = cls.objects.select_for_update().get(**owner)
            budget.monthly_cap = cap
            budget.alert_at = alert_at
            budget.save()
            return budget

    def describe(self) -> str:
        if self.scope == self.Scope.TEAM:
            return f"team {self.team}"
        if self.scope == self.Scope.USER:
            return f"user {self.user}"
        return "the studio"


class BudgetAlert(models.Model):
    """That a budget's month passed its threshold or its cap: claimed once (the unique
    constraint) by whichever worker's billed attempt crossed it, then told to the
    budget's people (spend.alerts). `cap` is the cap it was about, so a raised cap is
    warned about again when it is reached."""

    class Level(models.TextChoices):
        THRESHOLD = "threshold", gettext_lazy("Passed its alert threshold")
        EXHAUSTED = "exhausted", gettext_lazy("Used up")

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    month = models.DateField(help_text="The first day of the calendar month (UTC).")
    level = models.CharField(max_length=10, choices=Level.choices)
    cap = models.DecimalField(max_digits=10, decimal_places=2)
    spent = models.DecimalField(max_digits=14, decimal_places=6)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("budget alert")
        verbose_name_plural = gettext_lazy("budget alerts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "month", "level", "cap"], name="budget_alert_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.budget.describe()} {self.level} in {self.month:%Y-%m}"


class RouteSetting(models.Model):
    """Staff's changes to one route of the catalog (catalog/routes.json): switched off, a
    price or a timeout of their own. An empty field keeps the catalog's value. Read
    through spend.routes, so a change applies within seconds, without a restart."""

    model = models.CharField(max_length=40, unique=True, verbose_name=gettext_lazy("model"))
    enabled = models.BooleanField(default=True, verbose_name=gettext_lazy("enabled"))
    price_per_image = models.DecimalField(
        max_digits=10,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=gettext_lazy(
            "US dollars per image (routes billed per call). Empty: the catalog's."
        ),
        verbose_name=gettext_lazy("price per image (USD)"),
    )
    text_input_per_million = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=gettext_lazy("US dollars per million text-input tokens (token routes)."),
        verbose_name=gettext_lazy("text input per million tokens (USD)"),
    )
    image_input_per_million = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=gettext_lazy("US dollars per million image-input tokens (token routes)."),
        verbose_name=gettext_lazy("image input per million tokens (USD)"),
    )
    image_output_per_million = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=gettext_lazy("US dollars per million image-output tokens (token routes)."),
        verbose_name=gettext_lazy("image output per million tokens (USD)"),
    )
    timeout_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(30), MaxValueValidator(3600)],
        help_text=gettext_lazy(
            "Seconds to wait for one answer at every size. Empty: the catalog's per "
            "size. IMAGESTUDIO_UPSTREAM_TIMEOUT, when set, still overrides it."
        ),
        verbose_name=gettext_lazy("timeout (seconds)"),
    )
    updated_at = models.DateTimeField(gettext_lazy("updated"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("route setting")
        verbose_name_plural = gettext_lazy("route settings")
        ordering = ["model"]

    def __str__(self) -> str:
        return self.model

    def clean(self) -> None:
        from imagestudio import catalog

        if self.model not in catalog.MODELS:
            raise ValidationError(
                {
                    "model": _("Not a model of the catalog: %(models)s.")
                    % {"models": ", ".join(catalog.MODELS)}
                }
            )


def usage_line(text: int, image: int, output: int) -> str:
    """Tokens as every spend page and export shows them: "text + image → output"."""
    return f"{text} + {image} → {output}"
