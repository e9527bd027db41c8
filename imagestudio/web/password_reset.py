"""Password reset: offered only when e-mail is configured (IMAGESTUDIO_EMAIL_URL), and
answering the same, in the same time, for a known and an unknown address: the lookup, the
token and the e-mail happen after the answer, in a thread of their own, so neither the
page nor its timing says whether an address has an account."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordResetForm
from django.db import close_old_connections
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from imagestudio.web.throttle import FailureThrottle, client_address


def _in_background(work: Callable[[], None]) -> None:
    def run() -> None:
        try:
            work()
        finally:
            close_old_connections()

    threading.Thread(target=run, name="password-reset-mail", daemon=True).start()


# Tests replace this with a direct call: a thread would not see the test's transaction.
dispatch: Callable[[Callable[[], None]], None] = _in_background


# A flood of resets sends a handful of mails, not one per request: per client address
# and per address asked for, a few an hour. Past that the answer is the same page (it must
# not say whether the address has an account) and nothing is sent.
BY_CLIENT = FailureThrottle("reset-client", limit=5, window=3600, block=3600)
BY_ACCOUNT = FailureThrottle("reset-account", limit=3, window=3600, block=3600)


def _allowed(client: str, account: str) -> bool:
    if BY_CLIENT.retry_after(client) or BY_ACCOUNT.retry_after(account):
        return False
    BY_CLIENT.failed(client)
    BY_ACCOUNT.failed(account)
    return True


class DeferredPasswordResetForm(PasswordResetForm):
    def save(self, **kwargs: Any) -> None:  # type: ignore[override]
        # The request is not safe to use after the answer: what the e-mail needs of it
        # (domain, protocol) is fixed now.
        request = kwargs.pop("request", None)
        if request is not None and not kwargs.get("domain_override"):
            kwargs["domain_override"] = request.get_host()
            kwargs["use_https"] = request.is_secure()
        client = client_address(request) if request is not None else "server"
        if not _allowed(client, self.cleaned_data["email"].strip().lower()):
            return
        dispatch(lambda: PasswordResetForm.save(self, **kwargs))


_reset = auth_views.PasswordResetView.as_view(form_class=DeferredPasswordResetForm)


@login_not_required
def password_reset(request: HttpRequest) -> HttpResponseBase:
    if not settings.EMAIL_CONFIGURED:
        return render(request, "registration/password_reset_unavailable.html")
    return _reset(request)
