from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


@cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class Preference(models.Model):
    """What a user chose for themselves, kept on the account so every device follows it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # "" = follow the browser's Accept-Language.
    language = models.CharField(max_length=10, blank=True, choices=settings.LANGUAGES)
    # "" = the studio's default (IMAGESTUDIO_TIME_ZONE).
    time_zone = models.CharField(max_length=64, blank=True)
    # The visible "AI生成" label on every image this user downloads (campaigns.labelling).
    visible_label = models.BooleanField(default=False)

    class Meta:
        verbose_name = gettext_lazy("preference")
        verbose_name_plural = gettext_lazy("preferences")

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class Identity(models.Model):
    """A person as the company's OpenID provider knows them: its issuer and subject are
    who they are (an e-mail address can change hands); `groups` is the groups claim of
    their last sign-in, so a group they left is told from a team staff added them to."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="identities",
        verbose_name=gettext_lazy("user"),
    )
    issuer = models.CharField(max_length=255, verbose_name=gettext_lazy("issuer"))
    subject = models.CharField(max_length=255, verbose_name=gettext_lazy("subject"))
    groups = models.JSONField(default=list, blank=True, verbose_name=gettext_lazy("groups"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created"))
    last_sign_in = models.DateTimeField(
        null=True, blank=True, verbose_name=gettext_lazy("last sign-in")
    )

    class Meta:
        verbose_name = gettext_lazy("sign-in identity")
        verbose_name_plural = gettext_lazy("sign-in identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="identity_once"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
