"""Staff's fallback chains per route and size tier, and each route's circuit state.

A route is a model at a size tier ("gpt-image-2-vip" at "4k"). Its chain says where the
same request goes when the route fails with a gateway error (502/503/504, a read
timeout), and when the route counts as failing: below `min_success_rate` over its last
`window_calls` calls it is skipped to its fallback for `cool_down_s`, then tried again
with one request (routing.breaker)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

TIER_CHOICES = [("1k", "1K"), ("2k", "2K"), ("4k", "4K")]


class Chain(models.Model):
    # What staff set (the admin's form) and the audit log records a change of.
    STAFF_FIELDS = (
        "model",
        "tier",
        "fallbacks",
        "allow_dearer",
        "allow_size_change",
        "min_success_rate",
        "window_calls",
        "cool_down_s",
    )

    model = models.CharField(gettext_lazy("route"), max_length=40)
    tier = models.CharField(gettext_lazy("size tier"), max_length=4, choices=TIER_CHOICES)
    fallbacks = models.JSONField(
        gettext_lazy("fallbacks"),
        default=list,
        blank=True,
        help_text=gettext_lazy(
            "Models tried in this order, at the same size, when this one fails with a "
            'gateway error, e.g. ["gpt-image-2.6-all"]. Empty: no rerouting.'
        ),
    )
    allow_dearer = models.BooleanField(
        gettext_lazy("allow dearer fallbacks"),
        default=False,
        help_text=gettext_lazy(
            "Unticked, a fallback that costs more per image than this route is never taken."
        ),
    )
    allow_size_change = models.BooleanField(
        gettext_lazy("allow another size"),
        default=False,
        help_text=gettext_lazy(
            "Ticked, a fallback that does not make the size asked for makes its nearest "
            "one (the closest aspect ratio, then the closest resolution) and the image says "
            "so. Unticked, it is not tried and the image says why."
        ),
    )
    min_success_rate = models.DecimalField(
        gettext_lazy("minimum success rate"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=gettext_lazy(
            "Below this share of images over the last calls, the route is skipped to its "
            "fallback for the cool-down (0 switches the skipping off)."
        ),
    )
    window_calls = models.PositiveSmallIntegerField(
        gettext_lazy("calls counted"),
        default=20,
        validators=[MinValueValidator(1)],
    )
    cool_down_s = models.PositiveIntegerField(
        gettext_lazy("cool-down (seconds)"),
        default=300,
        help_text=gettext_lazy("How long a failing route is skipped before one request tries it."),
    )
    updated_at = models.DateTimeField(gettext_lazy("updated"), auto_now=True)

    class Meta:
        ordering = ["model", "tier"]
        verbose_name = gettext_lazy("fallback chain")
        verbose_name_plural = gettext_lazy("fallback chains")
        constraints = [
            models.UniqueConstraint(fields=["model", "tier"], name="chain_once_per_route"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.tier.upper()} → {', '.join(self.fallbacks) or '—'}"

    def clean(self) -> None:
        from imagestudio.routing import chains

        if not isinstance(self.fallbacks, list) or not all(
            isinstance(m, str) for m in self.fallbacks
        ):
            raise ValidationError({"fallbacks": _("A list of model ids, in the order tried.")})
        unknown = [m for m in self.fallbacks if not chains.known(m)]
        if unknown:
            raise ValidationError(
                {"fallbacks": _("Not in the catalog: %(models)s.") % {"models": ", ".join(unknown)}}
            )
        if self.model in self.fallbacks or len(set(self.fallbacks)) != len(self.fallbacks):
            raise ValidationError(
                {"fallbacks": _("Each fallback once, and never the route itself.")}
            )


class Circuit(models.Model):
    """One route's breaker, shared by every worker process through the database."""

    class State(models.TextChoices):
        CLOSED = "closed", gettext_lazy("Closed: calls go through")
        OPEN = "open", gettext_lazy("Open: skipped to the fallback")
        PROBING = "probing", gettext_lazy("Half-open: one request is trying it")

    model = models.CharField(gettext_lazy("route"), max_length=40)
    tier = models.CharField(gettext_lazy("size tier"), max_length=4, choices=TIER_CHOICES)
    state = models.CharField(
        gettext_lazy("state"), max_length=8, choices=State.choices, default=State.CLOSED
    )
    # When it entered this state: a closed circuit counts only the calls made since.
    changed_at = models.DateTimeField(gettext_lazy("since"))

    class Meta:
        verbose_name = gettext_lazy("route breaker")
        verbose_name_plural = gettext_lazy("route breakers")
        ordering = ["model", "tier"]
        constraints = [
            models.UniqueConstraint(fields=["model", "tier"], name="circuit_once_per_route"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.tier}: {self.state}"
