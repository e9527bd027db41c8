from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy


class Category(models.Model):
    """A family of terms that often make the gateway refuse (and still bill)."""

    class Action(models.TextChoices):
        WARN = "warn", gettext_lazy("Warn (the user may still submit)")
        BLOCK = "block", gettext_lazy("Block (the prompt is refused before it is sent)")

    key = models.SlugField(unique=True, verbose_name=gettext_lazy("key"))
    name = models.CharField(max_length=100, verbose_name=gettext_lazy("name"))
    description = models.TextField(blank=True, verbose_name=gettext_lazy("description"))
    action = models.CharField(
        max_length=5,
        choices=Action.choices,
        default=Action.WARN,
        verbose_name=gettext_lazy("action"),
    )

    class Meta:
        verbose_name = gettext_lazy("category")
        verbose_name_plural = gettext_lazy("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Term(models.Model):
    category = models.ForeignKey(
        Category,
        on_delete=models.CASCADE,
        related_name="terms",
        verbose_name=gettext_lazy("category"),
    )
    term = models.CharField(max_length=200, verbose_name=gettext_lazy("term"))
    enabled = models.BooleanField(default=True, verbose_name=gettext_lazy("enabled"))

    class Meta:
        verbose_name = gettext_lazy("blocked term")
        verbose_name_plural = gettext_lazy("blocked terms")
        ordering = ["category", "term"]
        constraints = [
            models.UniqueConstraint(fields=["category", "term"], name="prefilter_unique_term")
        ]

    def __str__(self) -> str:
        return self.term
