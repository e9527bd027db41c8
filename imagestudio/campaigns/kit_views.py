"""Brand kits in the app: list, create, edit, delete, and their pictures. Any member of a
kit's team maintains it (Kit.objects.usable_by); a kit of someone else's is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from imagestudio import catalog
from imagestudio.campaigns import kits
from imagestudio.campaigns.forms import KitForm
from imagestudio.campaigns.models import Kit
from imagestudio.web import files
from imagestudio.web.htmx import HtmxHttpRequest


def _get_kit_for_user(request: HtmxHttpRequest, pk: int) -> Kit:
    return get_object_or_404(Kit.objects.usable_by(request.user), pk=pk)


def describe(kit: Kit) -> str:
    """What the kit asks for, as the list and the form's heading say it."""
    preset = catalog.PRESETS_BY_KEY.get(kit.preset)
    if preset is not None:
        return _(preset.label)
    return f"{kit.model} · {catalog.size_label(kit.model, kit.size)}"


@require_GET
def kit_list(request: HtmxHttpRequest) -> HttpResponse:
    rows = list(
        Kit.objects.usable_by(request.user)
        .select_related("team", "created_by")
        .prefetch_related("pictures")
    )
    for kit in rows:
        kit.asks_for = describe(kit)
    return render(request, "campaigns/kits.html", {"kits": rows})


def _save(request: HtmxHttpRequest, kit: Kit | None) -> HttpResponse:
    form = KitForm(
        data=request.POST or None, files=request.FILES or None, user=request.user, kit=kit
    )
    if request.method == "POST" and form.is_valid() and form.kit_fields is not None:
        try:
            saved = kits.save(request.user, form.kit_fields, form.uploaded(), kit)
        except kits.KitInvalid as exc:
            for field, message in exc.errors.items():
                form.add_error("pictures" if field == "image" else None, message)
        else:
            if kit is None:
                messages.success(request, _("Kit “%(name)s” saved.") % {"name": saved.name})
            else:
                messages.success(request, _("Kit “%(name)s” updated.") % {"name": saved.name})
            return redirect("kits:list")
    status = 400 if request.method == "POST" else 200
    return render(request, "campaigns/kit_form.html", {"form": form, "kit": kit}, status=status)


@require_http_methods(["GET", "POST"])
def kit_new(request: HtmxHttpRequest) -> HttpResponse:
    return _save(request, None)


@require_http_methods(["GET", "POST"])
def kit_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _save(request, _get_kit_for_user(request, pk))


@require_http_methods(["GET", "POST"])
def kit_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    kit = _get_kit_for_user(request, pk)
    if request.method == "POST":
        name = kit.name
        # Images made with it keep their style and pictures (copied when they were asked).
        kit.delete()
        messages.success(request, _("Kit “%(name)s” deleted.") % {"name": name})
        return redirect("kits:list")
    return render(request, "campaigns/kit_delete.html", {"kit": kit})


@require_GET
def kit_picture(request: HtmxHttpRequest, pk: int, position: int) -> HttpResponseBase:
    kit = _get_kit_for_user(request, pk)
    picture = get_object_or_404(kit.pictures, position=position)
    return files.serve(
        picture.file.name,
        content_type=picture.content_type,
        missing=_("The kit's picture is missing from storage."),
    )
