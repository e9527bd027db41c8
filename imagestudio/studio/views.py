"""The studio's pages: generate, watch progress, browse the gallery, look at one image.

Every page is one template; htmx asks for a named partial of it ("page.html#part") and
the same view answers a plain request with the whole page, so everything works without
JavaScript too, only with full reloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import PurePosixPath
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet
from django.db.models.functions import Substr
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from imagestudio import catalog
from imagestudio.prefilter import matching
from imagestudio.spend import teams as spend_teams
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.spend.models import Team
from imagestudio.studio import edit_views, services
from imagestudio.studio.forms import GalleryFilterForm, GenerateForm
from imagestudio.studio.models import PENDING, Generation, Status

# What a tile shows, and nothing more: the poll runs every 2 s for every open page.
TILE_FIELDS = (
    "id",
    "user_id",
    "team_id",
    "model",
    "size",
    "status",
    "error_message",
    "created_at",
    "started_at",
    "finished_at",
    "billed",
    "cost_usd",
    "thumbnail",
)
# Alt text needs the start of the prompt only; a prompt may be 32,000 characters long.
PROMPT_HEAD = 200
RECENT_TILES = 12
MAX_POLL_IDS = 200
GALLERY_PAGE_SIZE = 24
# "Generate again" carries the prompt in the URL; past this length it carries the id
# instead, because proxies and gunicorn refuse very long request lines.
MAX_PREFILL_QUERY = 3000
FILE_CACHE_SECONDS = 24 * 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _tiles(qs: QuerySet[Generation]) -> QuerySet[Generation]:
    return qs.only(*TILE_FIELDS).annotate(prompt_head=Substr("prompt", 1, PROMPT_HEAD))


def _get_generation_for_user(request: HttpRequest, pk: int, *, tile: bool = False) -> Generation:
    """404 unless the signed-in user may see it: staff see everyone's, others their own,
    and a deleted row is never shown (its files are gone)."""
    qs = Generation.objects.for_user(request.user)
    if tile:
        qs = _tiles(qs)
    return get_object_or_404(qs, pk=pk)


def _usd(amount: Decimal) -> str:
    # Cents for the usual prices, but never round a sub-cent price away.
    if amount == amount.quantize(Decimal("0.01")):
        return f"${amount:.2f}"
    return f"${amount.normalize()}"


def _as_count(value: object) -> int | None:
    text = str(value or "").strip()
    if text.isdigit() and 1 <= int(text) <= catalog.MAX_COUNT:
        return int(text)
    return None


# --- the studio form ------------------------------------------------------------------------
def _size_groups(model: str) -> list[dict]:
    choices = catalog.size_choices(model)
    if model == catalog.VIP:
        return [
            {
                "label": label,
                "options": [
                    {
                        "value": value,
                        "label": text,
                        "is_4k": catalog.VIP_SIZES_BY_VALUE[value].tier == catalog.TIER_4K.id,
                    }
                    for value, text in options
                ],
            }
            for label, options in choices
        ]
    return [
        {
            "label": "",
            "options": [{"value": v, "label": t, "is_4k": False} for v, t in choices],
        }
    ]


def _feedback_context(prompt: str, model: str, count: object) -> dict:
    if model not in catalog.MODELS:
        model = catalog.DEFAULT_MODEL
    n = _as_count(count)
    if n is None:
        cost_line = f"Choose 1 to {catalog.MAX_COUNT} images."
    else:
        price = catalog.price(model)
        plural = "image" if n == 1 else "images"
        cost_line = f"{n} {plural} × {_usd(price)} = {_usd(price * n)}"
    matches: list[matching.Match] = []
    if prompt.strip() and len(prompt) <= catalog.PROMPT_MAX_CHARS:
        matches = matching.check(prompt)
    return {
        "cost_line": cost_line,
        # For the budget hint (spend's budget_fit tag).
        "fit_model": model,
        "fit_count": n,
        "warnings": [m for m in matches if not m.blocks],
        "blocks": [m for m in matches if m.blocks],
    }


def _form_context(form: GenerateForm) -> dict:
    model = form["model"].value() or ""
    if model not in catalog.MODELS:
        # Only for drawing the size list: the error itself comes from validation.
        model = catalog.DEFAULT_MODEL
    size = form["size"].value()
    if size is None:
        size = catalog.DEFAULT_VIP_SIZE if model == catalog.VIP else ""
    return {
        "form": form,
        "model_choices": catalog.MODEL_CHOICES,
        "model_value": model,
        "model_info": catalog.MODELS[model],
        "size_groups": _size_groups(model),
        "size_value": size,
        "size_is_4k": catalog.fallback_2k(size) is not None,
        "fallback_checked": bool(form["fallback_2k"].value()),
        "accepts_size": catalog.MODELS[model].accepts_size,
        "max_inputs": catalog.MAX_INPUTS,
        **_feedback_context(form["prompt"].value() or "", model, form["count"].value()),
    }


def _prefill(request: HttpRequest) -> dict:
    """Initial values from "Generate again" links: ?prompt=&model=&size= or ?again=<id>."""
    data = request.GET
    initial: dict = {}
    if data.get("again", "").isdigit():
        source = _get_generation_for_user(request, int(data["again"]))
        data = QueryDict(mutable=True)
        data.update({"prompt": source.prompt, "model": source.model, "size": source.size})
    if data.get("prompt"):
        initial["prompt"] = data["prompt"][: catalog.PROMPT_MAX_CHARS]
    model = data.get("model", "")
    if model in catalog.MODELS:
        initial["model"] = model
        size = data.get("size")
        if size is not None and catalog.valid_size(model, size):
            initial["size"] = size
    if _as_count(data.get("count")):
        initial["count"] = str(_as_count(data.get("count")))
    return initial


def _studio_tiles(request: HttpRequest) -> dict:
    own = Generation.objects.visible().filter(user=request.user)
    pending = list(_tiles(own.filter(status__in=PENDING))[:50])
    recent = list(_tiles(own.exclude(status__in=PENDING))[:RECENT_TILES])
    tiles = sorted(pending + recent, key=lambda g: (g.created_at, g.pk), reverse=True)
    return {"tiles": tiles, "polling": bool(pending)}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    form = GenerateForm(initial=_prefill(request))
    # "Edit this image" and the no-JavaScript upload come back with ?inputs=1,2.
    staged = edit_views.staged_for(request, request.GET.get("inputs", "").split(","))
    context = {**_form_context(form), **_studio_tiles(request), "staged": staged}
    return render(request, "studio/home.html", context)


@require_GET
def sizes(request: HttpRequest) -> HttpResponse:
    model = request.GET.get("model", "")
    if model not in catalog.MODELS:
        return HttpResponseBadRequest("Unknown model.")
    initial = {"model": model}
    size = request.GET.get("size")
    if size is not None and catalog.valid_size(model, size):
        initial["size"] = size
    form = GenerateForm(initial=initial)
    return render(request, "studio/home.html#size_field", _form_context(form))


@require_POST
def check(request: HttpRequest) -> HttpResponse:
    context = _feedback_context(
        request.POST.get("prompt", ""), request.POST.get("model", ""), request.POST.get("count")
    )
    return render(request, "studio/home.html#feedback", context)


@require_POST
def generate(request: HttpRequest) -> HttpResponse:
    form = GenerateForm(request.POST, user=request.user)
    budget_error = input_error = ""
    # Pictures staged in the form make this an edit of them, in the order shown.
    staged = edit_views.staged_for(request, request.POST.getlist("input"))
    if form.is_valid():
        options = {"team": form.team, "override_budget": form.override_budget_allowed}
        try:
            if staged:
                uploads = [services.Upload(b"", staged=item) for item in staged]
                _batch, generations = services.edit(
                    request.user, form.validated, uploads, **options
                )
            else:
                _batch, generations = services.submit(request.user, form.validated, **options)
        except BudgetExceeded as exc:
            budget_error = exc.message
        except services.Invalid as exc:
            input_error = " ".join(exc.errors.values())
    if not form.is_valid() or budget_error or input_error:
        context = {
            **_form_context(form),
            "budget_error": budget_error,
            "staged": staged,
            "input_error": input_error,
        }
        if request.htmx:
            return render(request, "studio/home.html#form", context)
        return render(request, "studio/home.html", {**context, **_studio_tiles(request)})

    count = len(generations)
    if not request.htmx:
        messages.success(request, f"Queued {count} image{'s' if count != 1 else ''}.")
        return redirect("studio:home")
    for generation in generations:
        generation.prompt_head = generation.prompt[:PROMPT_HEAD]
    context = {
        **_form_context(form),
        "new_tiles": generations,
        "submitted_count": count,
        "staged": staged,
    }
    return render(request, "studio/home.html#submitted", context)


# --- progress ---------------------------------------------------------------------------------
def _poll_ids(request: HttpRequest) -> dict[int, str]:
    """Ids to refresh, each with the status the page shows for it ("" if not said).

    Both ?ids=1,2,3 and the ?ids=1&ids=2 that htmx's hx-include sends; a tile sends
    "12:running" so that an unchanged tile need not be rendered again."""
    ids: dict[int, str] = {}
    for value in request.GET.getlist("ids"):
        for part in value.split(","):
            pk, _, seen = part.strip().partition(":")
            if pk.isdigit() and len(ids) < MAX_POLL_IDS:
                ids.setdefault(int(pk), seen)
    return ids


def _viewable_tiles(request: HttpRequest, ids) -> list[Generation]:
    """viewable_by() checked in Python: the poll runs every 2 s on every open page, and
    almost all its tiles are the user's own, so the team subquery (and the cached team
    list) is paid only when a team-mate's tile is on the page."""
    user = request.user
    rows = list(_tiles(Generation.objects.visible().filter(pk__in=ids)))
    if user.is_staff or all(g.user_id == user.pk for g in rows):
        return rows
    teams = {team.pk for team in spend_teams.teams_for(user)}
    return [g for g in rows if g.user_id == user.pk or g.team_id in teams]


@require_GET
def poll(request: HttpRequest) -> HttpResponse:
    """Every pending tile of a page in one request; 286 once none is pending, which tells
    htmx to stop polling (the final tiles in that same response are still swapped in).

    The page ticks elapsed time itself (studio.js), so a tile whose status the page
    already shows is not rendered again: most polls are an empty 204, which keeps a
    page of 32 pending tiles cheap to refresh every 2 s."""
    ids = _poll_ids(request)
    if not ids:
        return HttpResponseStopPolling()
    generations = _viewable_tiles(request, ids)
    changed = [g for g in generations if ids[g.pk] != g.status]
    pending = any(g.is_pending for g in generations)
    if pending and not changed:
        return HttpResponse(status=204)
    content = render_to_string("studio/tiles.html#poll", {"generations": changed}, request)
    if pending:
        return HttpResponse(content)
    return HttpResponseStopPolling(content)


@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    generation = _get_generation_for_user(request, pk)
    if generation.is_pending:
        return HttpResponse("This image is still being generated.", status=409)
    home_url = reverse("studio:home")
    try:
        _batch, generations = services.retry(generation, request.user)
    except (services.Invalid, BudgetExceeded) as exc:
        text = exc.message if isinstance(exc, BudgetExceeded) else " ".join(exc.errors.values())
        messages.error(request, text)
        detail_url = reverse("studio:detail", args=[generation.pk])
        if request.htmx:
            return HttpResponseClientRedirect(detail_url)
        return redirect(detail_url)
    from_path = urlsplit(request.htmx.current_url_abs_path or "").path if request.htmx else ""
    if from_path != home_url:
        # Only the studio page has the strip the new tile goes into.
        messages.success(request, "Queued again as a new image.")
        if request.htmx:
            return HttpResponseClientRedirect(home_url)
        return redirect(home_url)
    for new in generations:
        new.prompt_head = new.prompt[:PROMPT_HEAD]
    return render(request, "studio/tiles.html#retried", {"new_tiles": generations})


@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    generation = _get_generation_for_user(request, pk)
    canceled = generation.cancel()
    if request.htmx:
        fresh = _get_generation_for_user(request, pk, tile=True)
        return render(request, "studio/tiles.html#tile", {"g": fresh})
    if canceled:
        messages.success(request, "Canceled. Nothing was billed.")
    else:
        messages.warning(
            request, "It was already sent to the gateway, so it can no longer be canceled."
        )
    return redirect("studio:detail", pk=pk)


# --- files ------------------------------------------------------------------------------------
def _download_name(generation: Generation, name: str, suffix: str = "") -> str:
    ext = PurePosixPath(name).suffix or ".png"
    words = slugify(generation.prompt[:80], allow_unicode=True)[:40].strip("-")
    stem = "-".join(part for part in ("imagestudio", str(generation.pk), words) if part)
    return f"{stem}{suffix}{ext}"


def _storage_redirect(name: str, filename: str, download: bool) -> HttpResponse:
    if download:
        try:
            # S3-style storages sign a Content-Disposition into the URL.
            url = default_storage.url(
                name,
                parameters={"ResponseContentDisposition": f'attachment; filename="{filename}"'},
            )
        except TypeError:
            url = default_storage.url(name)
    else:
        url = default_storage.url(name)
    return HttpResponseRedirect(url)


def _serve(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    generation = get_object_or_404(Generation.objects.viewable_by(request.user), pk=pk)
    stored = getattr(generation, field)
    if not stored:
        raise Http404("No file yet.")
    download = request.GET.get("download") == "1"
    filename = _download_name(generation, stored.name, "-thumb" if field == "thumbnail" else "")
    if settings.S3_BUCKET:
        return _storage_redirect(stored.name, filename, download)
    try:
        handle = default_storage.open(stored.name, "rb")
    except FileNotFoundError as exc:
        raise Http404("The file is missing from storage.") from exc
    response = FileResponse(handle, as_attachment=download, filename=filename)
    # Stored names are unique per image, so a browser may keep them; private because they
    # are behind a login.
    patch_cache_control(response, private=True, max_age=FILE_CACHE_SECONDS)
    return response


@require_GET
def image(request: HttpRequest, pk: int) -> HttpResponse:
    return _serve(request, pk, "image")


@require_GET
def thumb(request: HttpRequest, pk: int) -> HttpResponse:
    return _serve(request, pk, "thumbnail")


# --- gallery ----------------------------------------------------------------------------------
def _encode_cursor(generation: Generation) -> str:
    micros = (generation.created_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{generation.pk}"


def _decode_cursor(value: str) -> tuple[datetime, int] | None:
    micros, _, pk = value.partition("-")
    if not (micros.isdigit() and pk.isdigit()):
        return None
    try:
        return _EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except OverflowError:
        return None


@require_GET
def gallery(request: HttpRequest) -> HttpResponse:
    """Keyset pages (newest first): one query per page whatever the table size, and no
    COUNT over a hundred thousand rows."""
    form = GalleryFilterForm(request.GET)
    filters = form.filters()
    everyone = bool(filters["everyone"]) and request.user.is_staff
    teams = spend_teams.teams_for(request.user)
    team = _gallery_team(request, teams)

    qs = Generation.objects.visible()
    if team is not None:
        qs = qs.filter(team=team)
    elif not everyone:
        qs = qs.filter(user=request.user)
    if filters["model"]:
        qs = qs.filter(model=filters["model"])
    if filters["tier"]:
        qs = qs.filter(size_tier=filters["tier"])
    if filters["status"]:
        qs = qs.filter(status=filters["status"])
    if filters["q"]:
        qs = qs.filter(prompt__icontains=filters["q"])
    if filters["stack"]:
        qs = edit_views.newest_versions(qs)

    cursor = _decode_cursor(request.GET.get("cursor", ""))
    if cursor is not None:
        created_at, pk = cursor
        # The redundant created_at__lte lets SQLite seek the index to the cursor instead
        # of walking it from the newest row (25 ms → ~1 ms on a deep page of 100,000).
        qs = qs.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk),
            created_at__lte=created_at,
        )

    fields = ["id", "model", "size", "status", "thumbnail", "created_at"]
    if everyone or team is not None:
        qs = qs.select_related("user")
        fields.append("user__username")
    rows = list(
        qs.order_by("-created_at", "-id")
        .only(*fields)
        .annotate(prompt_head=Substr("prompt", 1, PROMPT_HEAD))[: GALLERY_PAGE_SIZE + 1]
    )
    next_cursor = (
        _encode_cursor(rows[GALLERY_PAGE_SIZE - 1]) if len(rows) > GALLERY_PAGE_SIZE else ""
    )
    context = {
        "filter_form": form,
        "rows": rows[:GALLERY_PAGE_SIZE],
        "next_cursor": next_cursor,
        "is_first_page": cursor is None,
        "everyone": everyone or team is not None,
        "team": team,
        "teams": teams,
        "filtered": any(filters[k] for k in ("q", "model", "tier", "status")),
    }

    template = "studio/gallery.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#page" if cursor is not None else "#results"
    response = render(request, template, context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _gallery_team(request: HttpRequest, teams: list[Team]) -> Team | None:
    """?team=<id>: that team's images, for its members (and staff); else None."""
    value = request.GET.get("team", "")
    return next((t for t in teams if str(t.pk) == value), None)


# --- one image --------------------------------------------------------------------------------
def _again_url(generation: Generation) -> str:
    query = urlencode(
        {"prompt": generation.prompt, "model": generation.model, "size": generation.size}
    )
    if len(query) > MAX_PREFILL_QUERY:
        query = urlencode({"again": generation.pk})
    return f"{reverse('studio:home')}?{query}"


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    generation = get_object_or_404(
        Generation.objects.viewable_by(request.user).select_related("user"), pk=pk
    )
    generation.prompt_head = generation.prompt[:PROMPT_HEAD]
    context = {
        "g": generation,
        "attempts": list(generation.attempt_rows.all()),
        "again_url": _again_url(generation),
        "asked_resolution": "×".join(
            str(n) for n in catalog.expected_resolution(generation.model, generation.size)
        )
        if catalog.valid_size(generation.model, generation.size)
        else "",
        "tier_label": catalog.TIERS[generation.size_tier].label
        if generation.size_tier in catalog.TIERS
        else "",
        "polling": generation.is_pending,
        "terminal_unsuccessful": generation.status
        in (Status.FAILED, Status.REFUSED, Status.CANCELED),
        # A team-mate's image is read-only: no retry, cancel or delete.
        "can_modify": generation.user_id == request.user.pk or request.user.is_staff,
        **edit_views.detail_context(request, generation),
    }
    return render(request, "studio/detail.html", context)


@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    generation = _get_generation_for_user(request, pk)
    if request.method == "POST":
        generation.soft_delete()
        messages.success(request, "Deleted. The image and its thumbnail were removed.")
        return redirect("studio:gallery")
    generation.prompt_head = generation.prompt[:PROMPT_HEAD]
    return render(request, "studio/delete.html", {"g": generation})
