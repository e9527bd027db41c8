from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from imagestudio.accounts import session
from imagestudio.accounts.models import Preference


@receiver(user_logged_in)
def apply_saved_preferences(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    pref = Preference.objects.filter(user=user).first()
    if pref is not None:
        session.remember(request.session, language=pref.language, time_zone=pref.time_zone)
