from __future__ import annotations

from django.db import models


class Category(models.Model):
    """A family of terms that often make the gateway refuse (and still bill)."""

    class Action(models.TextChoices):
        WARN = "warn", "Warn (the user may still submit)"
        BLOCK = "block", "Block (the prompt is refused before it is sent)"

    key = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    action = models.CharField(max_length=5, choices=Action.choices, default=Action.WARN)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Term(models.Model):
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="terms")
    term = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "term"]
        constraints = [
            models.UniqueConstraint(fields=["category", "term"], name="prefilter_unique_term")
        ]

    def __str__(self) -> str:
        return self.term
