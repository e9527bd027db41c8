"""A user's API tokens in the browser: list them (name, created, last used), create one
(its secret shown on that answer only, with a copy button) and revoke them. The same
rule as the API's /tokens (provisioning.tokens_of): your own; staff may revoke anyone's
but a superuser's."""

from __future__ import annotations

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from imagestudio.api import messages
from imagestudio.api.models import ApiToken
from imagestudio.api.provisioning import tokens_of
from imagestudio.web.htmx import HtmxHttpRequest, page_or_part, redirect_or_client

TEMPLATE = "account/tokens.html"


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)


def _get_token_for_user(request: HtmxHttpRequest, pk: int) -> ApiToken:
    return get_object_or_404(tokens_of(request.user), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HtmxHttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    created = raw = None
    if request.method == "POST" and form.is_valid():
        created, raw = ApiToken.issue(
            request.user, name=form.cleaned_data["name"], issued_by=request.user
        )
        form = TokenForm()
    context = {
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id"),
        "form": form,
        "created": created,
        # Only in this answer: nothing stores it but its hash.
        "raw": raw,
    }
    response = page_or_part(request, TEMPLATE, context, "tokens")
    # The secret must not stay in a shared or back-button cache.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def revoke(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET asks first (a script using the token stops working at once); POST revokes."""
    token = _get_token_for_user(request, pk)
    if request.method == "GET":
        return render(request, "account/revoke_token.html", {"token": token})
    name = token.name or token.prefix
    token.delete()
    flash.success(request, messages.token_revoked(name))
    return redirect_or_client(request, reverse("tokens:list"))
