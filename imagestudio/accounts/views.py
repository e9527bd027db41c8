from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from imagestudio.accounts import session
from imagestudio.accounts.forms import PreferenceForm
from imagestudio.accounts.models import Preference
from imagestudio.web.htmx import HtmxHttpRequest


@require_POST
def language(request: HtmxHttpRequest) -> HttpResponse:
    """The header's language picker: Django's set_language (cookie, safe ?next=), and for a
    signed-in user the choice is kept on the account, so their other devices follow."""
    response = set_language(request)
    chosen = request.POST.get("language", "")
    if translation.check_for_language(chosen) and request.user.is_authenticated:
        Preference.objects.update_or_create(user=request.user, defaults={"language": chosen})
        session.remember(request.session, language=chosen)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HtmxHttpRequest) -> HttpResponse:
    pref = Preference.objects.filter(user=request.user).first()
    initial = (
        {
            "language": pref.language,
            "time_zone": pref.time_zone,
            "visible_label": pref.visible_label,
        }
        if pref
        else {}
    )
    form = PreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data
        Preference.objects.update_or_create(
            user=request.user,
            defaults={
                "language": chosen["language"],
                "time_zone": chosen["time_zone"],
                "visible_label": chosen["visible_label"],
            },
        )
        session.remember(
            request.session, language=chosen["language"], time_zone=chosen["time_zone"]
        )
        if chosen["language"]:
            translation.activate(chosen["language"])
        messages.success(request, _("Your preferences are saved."))
        response = redirect("account:preferences")
        if chosen["language"]:
            response.set_cookie("django_language", chosen["language"], samesite="Lax")
        return response
    # A directory account has no usable password; with local sign-in off none is used.
    can_change_password = settings.LOCAL_SIGNIN and request.user.has_usable_password()
    return render(
        request,
        "account/preferences.html",
        {"form": form, "can_change_password": can_change_password},
    )
