"""Users' saved preferences, read where no request carries them (e-mails, tasks)."""

from __future__ import annotations

from imagestudio.accounts.models import Preference


def languages(user_ids: list[int]) -> dict[int, str]:
    """Each user's chosen language ("" or absent: the studio's default), in one query."""
    rows = Preference.objects.filter(user_id__in=user_ids).exclude(language="")
    return dict(rows.values_list("user_id", "language"))
