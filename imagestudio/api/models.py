from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only its hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=gettext_lazy("user"),
    )
    name = models.CharField(max_length=100, blank=True, verbose_name=gettext_lazy("name"))
    # Who was shown the secret: the user themselves, or the staff member who made it for
    # them (null: the management command on the server). The audit log names them.
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("issued by"),
    )
    token_hash = models.CharField(
        max_length=64, unique=True, verbose_name=gettext_lazy("token hash")
    )
    prefix = models.CharField(max_length=12, verbose_name=gettext_lazy("prefix"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=gettext_lazy("created"))
    last_used_at = models.DateTimeField(
        null=True, blank=True, verbose_name=gettext_lazy("last used")
    )

    class Meta:
        verbose_name = gettext_lazy("API token")
        verbose_name_plural = gettext_lazy("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user, name: str = "", *, issued_by=None) -> tuple[ApiToken, str]:
        raw = "ist_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            name=name,
            token_hash=hash_token(raw),
            prefix=raw[:12],
            issued_by=issued_by,
        )
        return token, raw

    def acting_for(self) -> str:
        """Who the audit log names for a change made with this token: its holder, the
        issuer when staff made it for someone else ("ann (as bob)")."""
        user, issuer = self.user.get_username(), self.issued_by
        if issuer is None or issuer.pk == self.user_id:
            return user
        return f"{issuer.get_username()} (as {user})"[:150]


class IdempotentRequest(models.Model):
    """A submit sent with an Idempotency-Key: the first answer, kept for 24 h so that the
    same key from the same user gets it again instead of a second gateway call."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    # sha256 of what was asked (operation, path and body): the same key with another
    # body is a mistake the client must hear about (409).
    fingerprint = models.CharField(max_length=64)
    # The 202's JSON; null while the first request is still being answered.
    answer = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotent_user_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"
