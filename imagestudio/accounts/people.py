"""The staff's people pages: users (invite, create, deactivate, staff), teams and their
members, budgets and where each stands this month. The rules are accounts.provisioning's
(the API's too); each change is a model save inside the request, so the audit log records
it as the signed-in staff member's, via the web."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from imagestudio.accounts import oidc
from imagestudio.accounts import provisioning as rules
from imagestudio.accounts.forms import BudgetForm, NewUserForm
from imagestudio.accounts.models import Identity
from imagestudio.spend import budgets as spend_budgets
from imagestudio.spend.models import Budget, Team
from imagestudio.web.access import staff_required
from imagestudio.web.htmx import HtmxHttpRequest

log = logging.getLogger(__name__)
User = get_user_model()
PAGE_SIZE = 100
View = Callable[..., HttpResponseBase]


def _people_pages_reason() -> str:
    return _("The people pages are for staff.")


staff_only = staff_required(_people_pages_reason)


def _may(actor: Any, row: Any, **change: bool) -> bool:
    """Whether the rules let `actor` make this change (a button is offered only then)."""
    errors: dict[str, str] = {}
    try:
        rules.check_user_change(actor, row, errors, **change)
    except rules.Forbidden:
        return False
    return not errors


def _get_user_for_staff(pk: int) -> Any:
    row = User.objects.filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


def _get_team_for_staff(pk: int) -> Team:
    row = Team.objects.filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


# --- users -----------------------------------------------------------------------------
@staff_only
@require_http_methods(["GET", "POST"])
def users(request: HtmxHttpRequest) -> HttpResponseBase:
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = _add_user(request, form)
        if created is not None:
            return _users_page_for(created)
    query = request.GET.get("q", "").strip()[:150]
    rows = (
        User.objects.order_by("username")
        .annotate(directory=Exists(Identity.objects.filter(user=OuterRef("pk"))))
        .prefetch_related(Prefetch("teams", queryset=Team.objects.order_by("name")))
    )
    if query:
        rows = rows.filter(Q(username__icontains=query) | Q(email__icontains=query))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    actor = request.user
    entries = []
    for row in page:
        may = {
            "deactivate": row.is_active and _may(actor, row, is_active=False),
            "activate": not row.is_active and _may(actor, row, is_active=True),
            "make_staff": not row.is_staff and _may(actor, row, is_staff=True),
            "remove_staff": row.is_staff and _may(actor, row, is_staff=False),
            "make_superuser": not row.is_superuser and _may(actor, row, is_superuser=True),
            "remove_superuser": row.is_superuser and _may(actor, row, is_superuser=False),
        }
        entries.append({"row": row, "may": may, "any": any(may.values())})
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "page": page,
        "entries": entries,
        "query": query,
        "sso_name": _sso_name(),
    }
    return render(request, "people/users.html", context, status=status)


def _users_page_for(row: Any) -> HttpResponse:
    """The users page found down to the one just added or changed."""
    return redirect(f"{reverse('people:users')}?{urlencode({'q': row.get_username()})}")


def _sso_name() -> str:
    return oidc.provider_name() if oidc.configured() else ""


def _add_user(request: HtmxHttpRequest, form: NewUserForm) -> Any:
    data = form.cleaned_data
    password = data["password"] or None
    errors: dict[str, str] = {}
    username, address = rules.check_new_user(data["username"], data["email"], password, errors)
    if data["invite"] and not address:
        errors["email"] = _("An invitation needs an e-mail address.")
    if not errors:
        try:
            row = rules.create_user(username, address, password, is_staff=data["is_staff"])
        except rules.Taken as exc:
            errors["username"] = str(exc)
    for field, message in errors.items():
        form.add_error(field if field in form.fields else None, message)
    if errors:
        return None
    if data["invite"]:
        _invite(request, row)
        flash.success(
            request,
            _("%(username)s is added; an invitation is on its way to %(email)s.")
            % {"username": row.get_username(), "email": address},
        )
    else:
        flash.success(request, _("%(username)s is added.") % {"username": row.get_username()})
    return row


def _invite(request: HtmxHttpRequest, row: Any) -> None:
    """With company sign-in, the invitation points to it (the first sign-in with that
    verified address joins this account); otherwise to a link that sets a password."""
    if oidc.configured():
        link = request.build_absolute_uri(reverse("login"))
        how = _("Sign in with %(provider)s: %(link)s") % {
            "provider": oidc.provider_name(),
            "link": link,
        }
    else:
        path = reverse(
            "password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(row.pk)),
                "token": default_token_generator.make_token(row),
            },
        )
        how = _("Choose your password here (the link works once): %(link)s") % {
            "link": request.build_absolute_uri(path)
        }
    subject = _("You are invited to ImageStudio")
    body = _(
        "%(inviter)s added you to ImageStudio, the team's image studio, as %(username)s.\n\n"
        "%(how)s\n"
    ) % {"inviter": request.user.get_username(), "username": row.get_username(), "how": how}
    address = row.email

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:  # the account is made; staff can invite again or set a password
            log.exception("the invitation to user %s could not be sent", row.pk)

    transaction.on_commit(send)


CHANGES: dict[str, tuple[str, bool]] = {
    "deactivate": ("is_active", False),
    "activate": ("is_active", True),
    "make_staff": ("is_staff", True),
    "remove_staff": ("is_staff", False),
    "make_superuser": ("is_superuser", True),
    "remove_superuser": ("is_superuser", False),
}


@staff_only
@require_POST
def change_user(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    row = _get_user_for_staff(pk)
    change = CHANGES.get(request.POST.get("change", ""))
    if change is None:
        return HttpResponse(_("Choose a change."), status=400)
    field, value = change
    errors: dict[str, str] = {}
    try:
        rules.check_user_change(request.user, row, errors, **{field: value})
    except rules.Forbidden as exc:
        raise PermissionDenied(str(exc)) from exc
    if errors:
        flash.error(request, " ".join(errors.values()))
    else:
        rules.change_user(row, **{field: value})
        flash.success(request, _("%(username)s is changed.") % {"username": row.get_username()})
    return _users_page_for(row)


# --- teams -----------------------------------------------------------------------------
@staff_only
@require_http_methods(["GET", "POST"])
def teams(request: HtmxHttpRequest) -> HttpResponseBase:
    errors: dict[str, str] = {}
    name = request.POST.get("name", "")
    if request.method == "POST":
        try:
            team = rules.create_team(name, errors)
        except rules.Taken as exc:
            errors["name"] = str(exc)
            team = None
        if team is not None:
            flash.success(request, _("Team %(name)s is added.") % {"name": team.name})
            return redirect("people:teams")
    rows = Team.objects.order_by("name").prefetch_related(
        Prefetch("members", queryset=User.objects.order_by("username"))
    )
    everyone = list(User.objects.filter(is_active=True).order_by("username").only("username"))
    entries = []
    for team in rows:
        inside = {member.pk for member in team.members.all()}
        candidates = [user for user in everyone if user.pk not in inside]
        entries.append({"team": team, "candidates": candidates})
    context = {"teams": entries, "errors": errors, "name": name}
    return render(request, "people/teams.html", context, status=400 if errors else 200)


@staff_only
@require_POST
def add_member(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    team = _get_team_for_staff(pk)
    user_id = request.POST.get("user", "")
    missing = rules.add_members(team, [int(user_id)]) if user_id.isdigit() else [user_id]
    if missing:
        flash.error(request, _("Choose someone to add."))
    else:
        flash.success(request, _("Team %(name)s is changed.") % {"name": team.name})
    return redirect("people:teams")


@staff_only
@require_POST
def remove_member(request: HtmxHttpRequest, pk: int, user_id: int) -> HttpResponse:
    team = _get_team_for_staff(pk)
    if not rules.remove_member(team, user_id):
        raise Http404
    flash.success(request, _("Team %(name)s is changed.") % {"name": team.name})
    return redirect("people:teams")


# --- budgets ---------------------------------------------------------------------------
@staff_only
@require_http_methods(["GET", "POST"])
def budgets(request: HtmxHttpRequest) -> HttpResponseBase:
    form = BudgetForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _set_budget(form):
        flash.success(request, _("The budget is saved."))
        return redirect("people:budgets")
    rows = Budget.objects.select_related("team", "user").order_by("scope", "id")
    standings = [spend_budgets.standing(row) for row in rows]
    context = {
        "form": form,
        "standings": standings,
        "resets_on": spend_budgets.next_month_start(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "people/budgets.html", context, status=status)


def _set_budget(form: BudgetForm) -> bool:
    data = form.cleaned_data
    scope = data["scope"]
    team = data["team"] if scope == Budget.Scope.TEAM else None
    user = data["user"] if scope == Budget.Scope.USER else None
    errors: dict[str, str] = {}
    share = rules.alert_share(data["alert_at"], errors)
    owner = {"scope": scope, "team": team, "user": user}
    row = Budget.objects.filter(**owner).first() or Budget(**owner)
    try:
        row.clean()  # the model's rule: a scope and its owner
    except ValidationError as exc:
        errors.update({field: " ".join(texts) for field, texts in exc.message_dict.items()})
    for field, message in errors.items():
        form.add_error(field if field in form.fields else None, message)
    if errors:
        return False
    Budget.put(scope, team=team, user=user, cap=data["monthly_usd"], alert_at=share)
    return True


@staff_only
@require_POST
def delete_budget(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    row = Budget.objects.filter(pk=pk).first()
    if row is None:
        raise Http404
    row.delete()
    flash.success(request, _("The budget is removed: that scope is unlimited now."))
    return redirect("people:budgets")
