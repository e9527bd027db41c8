"""The sign-in page (the company's provider and/or a password), the provider's round trip,
and sign-out (which ends the provider's session too where it offers that).

Every way a company sign-in can go wrong ends on the sign-in page with a sentence saying
what happened, never an error page: a provider that is down or misconfigured (503), a
link the studio did not start or a code the provider refused (400), someone the directory
vouches for but the studio does not let in (403)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from imagestudio.accounts import oidc
from imagestudio.accounts.directory import SignInRefused

log = logging.getLogger(__name__)
DIRECTORY_BACKEND = "imagestudio.accounts.oidc.DirectoryBackend"
END_SESSION_HINT = "oidc_end_session_hint"


def context(request: HttpRequest) -> dict[str, Any]:
    """Context processor: what the sign-in page offers (no query, no network)."""
    return {
        "sso_name": oidc.provider_name() if oidc.configured() else "",
        "local_signin": settings.LOCAL_SIGNIN,
    }


def local_signin_only[V: Callable[..., HttpResponseBase]](view: V) -> V:
    """The password pages (change, reset, the reset link) answer 404 while local sign-in is
    switched off: a password set there could not be used, and an invitation or reset link
    mailed earlier must not quietly bring passwords back. Read per request, so switching
    it needs no new URL table."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.LOCAL_SIGNIN:
            raise Http404
        return view(request, *args, **kwargs)

    return guarded  # type: ignore[return-value]


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    form = AuthenticationForm(request) if settings.LOCAL_SIGNIN else None
    return render(
        request, "registration/login.html", {"form": form, "sso_error": message}, status=status
    )


def provider_unavailable(request: HttpRequest) -> HttpResponse:
    message = _(
        "%(provider)s cannot be reached or is not set up correctly, so company sign-in is "
        "not possible right now. Try again in a few minutes; if it keeps happening, tell "
        "your admin."
    ) % {"provider": oidc.provider_name()}
    if settings.LOCAL_SIGNIN:
        message += " " + _("You can still sign in with a studio password below.")
    return _refused(request, message, 503)


@login_not_required
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponseBase:
    """Django's sign-in page; with local sign-in switched off, its form is not offered and
    a password sent anyway is refused."""
    if not settings.LOCAL_SIGNIN and request.method == "POST":
        return _refused(
            request,
            _("Sign-in with a studio password is switched off: use %(provider)s.")
            % {"provider": oidc.provider_name()},
            403,
        )
    return LoginView.as_view()(request)


class _Start(OIDCAuthenticationRequestView):
    """mozilla-django-oidc's redirect to the provider (state, nonce and PKCE kept in the
    session), told the endpoint from discovery."""

    OIDC_OP_AUTH_ENDPOINT = ""
    OIDC_RP_CLIENT_ID = ""

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)


@login_not_required
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    if not oidc.configured():
        raise Http404
    try:
        endpoint = oidc.authorization_endpoint()
    except oidc.ProviderUnavailable:
        return provider_unavailable(request)
    view = _Start.as_view(
        OIDC_OP_AUTH_ENDPOINT=endpoint, OIDC_RP_CLIENT_ID=settings.OIDC_RP_CLIENT_ID
    )
    response: HttpResponse = view(request)
    return response


@login_not_required
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the browser back. The state must be one this browser's
    session started (and is used up here, so a replayed link fails); the nonce and the
    PKCE verifier kept with it are checked by the backend against the provider's tokens."""
    if not oidc.configured():
        raise Http404
    states: dict[str, Any] = request.session.get("oidc_states", {})
    state = request.GET.get("state", "")
    entry = states.pop(state, None)
    if entry is not None:
        request.session["oidc_states"] = states
    if request.GET.get("error"):
        return _refused(
            request,
            _("%(provider)s did not sign you in. Try again, or ask your admin.")
            % {"provider": oidc.provider_name()},
            403,
        )
    if entry is None or not request.GET.get("code"):
        return _refused(
            request,
            _(
                "This sign-in was not started here or was already used. "
                "Start again with the button below."
            ),
            400,
        )
    try:
        user = oidc.DirectoryBackend().authenticate(
            request, nonce=entry.get("nonce"), code_verifier=entry.get("code_verifier")
        )
    except (oidc.ProviderUnavailable, requests.RequestException) as exc:
        log.warning("company sign-in failed: %s", type(exc).__name__)
        return provider_unavailable(request)
    except SuspiciousOperation as exc:
        log.warning("company sign-in refused: %s", exc)
        return _refused(
            request,
            _(
                "The answer from %(provider)s did not check out (it may have expired). "
                "Start again with the button below."
            )
            % {"provider": oidc.provider_name()},
            400,
        )
    except SignInRefused as exc:
        log.info("company sign-in refused: %s", exc)
        user = None
    if user is None or not user.is_active:
        return _refused(
            request,
            _(
                "%(provider)s knows you, but your account may not use the studio. "
                "Ask your admin for access."
            )
            % {"provider": oidc.provider_name()},
            403,
        )
    auth.login(request, user, backend=DIRECTORY_BACKEND)
    after = request.session.pop("oidc_login_next", None)
    return HttpResponseRedirect(after or resolve_url(settings.LOGIN_REDIRECT_URL))


@login_not_required
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Signs out here; for someone who came through the provider, a page that moves on to
    end_provider_session (a form's redirect to another site would be refused by the
    browser: CSP form-action 'self')."""
    id_token = str(request.session.get("oidc_id_token", ""))
    through_provider = request.session.get(auth.BACKEND_SESSION_KEY) == DIRECTORY_BACKEND
    auth.logout(request)
    if through_provider and oidc.configured():
        # Kept in the new, signed-out session for the next request only: the id token is
        # handed to the provider in a redirect, never written into a page.
        request.session[END_SESSION_HINT] = id_token
        return render(
            request, "registration/signed_out.html", {"provider_url": reverse("oidc:end")}
        )
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_not_required
@require_GET
def end_provider_session(request: HttpRequest) -> HttpResponse:
    """On to the provider's end_session_endpoint (RP-Initiated Logout), which comes back to
    the sign-in page; straight there when the provider has none or cannot be reached."""
    if not oidc.configured():
        raise Http404
    hint = str(request.session.pop(END_SESSION_HINT, ""))
    after = resolve_url(settings.LOGOUT_REDIRECT_URL)
    return HttpResponseRedirect(oidc.end_session_url(request, hint, after) or after)
