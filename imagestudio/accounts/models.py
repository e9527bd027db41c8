from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.db import models


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

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"
