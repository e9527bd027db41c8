"""The studio's pages: generate, watch progress, browse the gallery, look at one image.

Every page is one template; htmx asks for a named partial of it ("page.html#part") and
the same view answers a plain request with the whole page, so everything works without
JavaScript too, only with full reloads."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from imagestudio import catalog
from imagestudio.campaigns import boards, labelling, marks
from imagestudio.campaigns.models import Board, Star
from imagestudio.prefilter import matching
from imagestudio.spend import budgets, money
from imagestudio.spend import teams as spend_teams
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.spend.models import Team
from imagestudio.studio import changes, edit_views, masks, pictures, services
from imagestudio.studio import messages as say
from imagestudio.studio.forms import GalleryFilterForm, GenerateForm
from imagestudio.studio.models import PENDING, PROMPT_HEAD, Generation, Status
from imagestudio.web import cursor, files, parsing
from imagestudio.web.htmx import HtmxHttpRequest, redirect_or_client

RECENT_TILES = 12
MAX_POLL_IDS = 200
GALLERY_PAGE_SIZE = 24
# "Generate again" carries the prompt in the URL; past this length it carries the id
# instead, because proxies and gunicorn refuse very long request lines.
MAX_PREFILL_QUERY = 3000


def _get_generation_for_user(
    request: HtmxHttpRequest, pk: int, *, change: bool = False, tile: bool = False
) -> Generation:
    """404 unless the signed-in user may see it (`change`: may change it). A deleted row
    is never shown (its files are gone); in the browser a team-mate's image answers a
    change with the same 404 as an outsider's, since the page offers no such button."""
    objects = Generation.objects
    qs = objects.changeable_by(request.user) if change else objects.viewable_by(request.user)
    return get_object_or_404(qs.tiles() if tile else qs, pk=pk)


def _as_count(value: object) -> int | None:
    return parsing.int_or_none(str(value or ""), low=1, high=catalog.MAX_COUNT)


# --- the studio form ------------------------------------------------------------------------
def _size_groups(model: str) -> list[dict[str, Any]]:
    choices: list[Any] = catalog.size_choices(model)
    if catalog.MODELS[model].accepts_size:
        return [
            {
                "label": label,
                "options": [
                    {
                        "value": value,
                        "label": text,
                        "is_4k": catalog.size_tier(model, value) == catalog.TIER_4K.id,
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


def _feedback_context(
    prompt: str,
    model: str,
    count: object,
    size: object = None,
    quality: object = "",
    inputs: int = 0,
) -> dict[str, Any]:
    """The cost line, a token route's estimate line and the budget hint for what the form
    holds now: its size and quality with its `inputs` pictures, as a submit reserves."""
    if model not in catalog.MODELS:
        model = catalog.default_model()
    if not isinstance(size, str) or not catalog.valid_size(model, size):
        size = catalog.default_size(model)
    asked = quality if quality in catalog.options(model, "quality") else ""
    quality = catalog.quality_sent(model, str(asked))
    inputs = min(inputs, catalog.max_inputs(model))
    n = _as_count(count)
    matches: list[matching.Match] = []
    if prompt.strip() and len(prompt) <= catalog.PROMPT_MAX_CHARS:
        matches = matching.check(prompt)
    return {
        **_price_lines(model, size, quality, inputs, n),
        # For the budget hint (spend's budget_fit tag).
        "fit_model": model,
        "fit_count": n,
        "fit_size": size,
        "fit_quality": quality,
        "fit_inputs": inputs,
        "warnings": [m for m in matches if not m.blocks],
        "blocks": [m for m in matches if m.blocks],
    }


_OPTION_LABELS = {
    "quality": gettext_noop("Quality"),
    "background": gettext_noop("Background"),
    "output_format": gettext_noop("File format"),
}


def _option_fields(form: GenerateForm, model: str) -> list[dict[str, Any]]:
    """The route's options the form offers: only those the model takes (the catalog)."""
    fields: list[dict[str, Any]] = []
    for name in catalog.OPTION_FIELDS:
        choices = catalog.options(model, name)
        if not choices:
            continue
        value = form[name].value() or ""
        if name == "quality" and value not in choices:
            value = catalog.quality_sent(model, "")
        if name != "quality":
            # The empty choice already reads "The model decides" and sends nothing, which
            # the gateway takes as "auto": a second "The model decides" would only puzzle.
            choices = tuple(choice for choice in choices if choice != "auto")
            value = "" if value == "auto" else value
        fields.append(
            {
                "name": name,
                "label": _(_OPTION_LABELS[name]),
                "choices": [(choice, catalog.option_label(name, choice)) for choice in choices],
                "value": value,
                "errors": form.errors.get(name, []) if form.is_bound else [],
            }
        )
    return fields


def _price_lines(model: str, size: str, quality: str, inputs: int, count: int | None) -> dict:
    """The form's cost line (what `count` images should cost on the route asked for), a
    token route's estimate line, and what a budget holds back per image until the bill is
    known (the figure GET /api/v1/estimate calls `reserved_usd`): said whenever it is not
    simply the price, with its reason (the top of the estimate, or a dearer fallback)."""
    low, high = catalog.estimate_range(model, size, quality, inputs)
    endpoint = catalog.EDITS if inputs else catalog.GENERATIONS
    held = budgets.per_image(model, size, quality, inputs, endpoint)
    per_token = catalog.MODELS[model].per_token
    lines = {"cost_line": say.choose_count(catalog.MAX_COUNT), "estimate_line": "", "hold_line": ""}
    if count is not None:
        if per_token:
            lines["cost_line"] = say.cost_range_line(
                count,
                money.usd(low),
                money.usd(high),
                money.usd(low * count),
                money.usd(high * count),
            )
        else:
            lines["cost_line"] = say.cost_line(count, money.usd(high), money.usd(high * count))
    if per_token:
        lines["estimate_line"] = say.estimate_line(
            money.usd(low), money.usd(high), catalog.option_label("quality", quality), inputs
        )
    if per_token or held > high:
        lines["hold_line"] = say.hold_line(money.usd(held), model, by_fallback=held > high)
    return lines


def _form_context(form: GenerateForm) -> dict:
    model = form["model"].value() or ""
    if model not in catalog.MODELS:
        # Only for drawing the size list: the error itself comes from validation.
        model = catalog.default_model()
    chosen_kit = form.chosen_kit()
    size = form["size"].value()
    if size is None:
        size = catalog.default_size(model)
    option_fields = _option_fields(form, model)
    quality = next((f["value"] for f in option_fields if f["name"] == "quality"), "")
    choices = catalog.model_choices()
    if model not in dict(choices):
        # A model staff switched off stays drawn for the image asked with it; submitting
        # it again is refused with the reason.
        choices = [*choices, (model, catalog.MODELS[model].label)]
    return {
        "form": form,
        "model_choices": choices,
        "option_fields": option_fields,
        # An option sent for a model that takes none (a hand-made request): said here.
        "option_errors": [
            error
            for name in catalog.OPTION_FIELDS
            if name not in {f["name"] for f in option_fields} and form.is_bound
            for error in form.errors.get(name, [])
        ],
        "model_value": model,
        "model_info": catalog.MODELS[model],
        "size_groups": _size_groups(model),
        "size_value": size,
        "size_is_4k": catalog.fallback_2k(size) is not None,
        "fallback_checked": bool(form["fallback_2k"].value()),
        "accepts_size": catalog.MODELS[model].accepts_size,
        # The 4K-to-2K fallback is the -vip route's (its 4K compute errors).
        "offers_fallback_2k": model == catalog.VIP,
        "max_inputs": pictures.limit(model),
        "inputs_by_model": {m: pictures.limit(m) for m in catalog.MODELS},
        "mask_models": masks.mask_models(),
        # In the gateway's MB (2**20 bytes), as the upload check says it.
        "max_input_mb": catalog.INPUT_MAX_BYTES // (1024 * 1024),
        "prompt_max_chars": catalog.PROMPT_MAX_CHARS,
        "presets": [
            {"key": p.key, "model": p.model, "size": p.size, "label": _(p.label), "for_": _(p.for_)}
            for p in catalog.PRESETS
            # A preset on a model staff switched off would only lead to a refusal.
            if catalog.enabled(p.model)
        ],
        "preset_value": form["preset"].value() or "",
        "kit_value": str(form["kit"].value() or ""),
        "chosen_kit": chosen_kit,
        # The staged pictures are numbered after the kit's (image1… are the kit's).
        "kit_picture_count": len(chosen_kit.pictures.all()) if chosen_kit else 0,
        "mode_value": form["mode"].value() or "one",
        **_feedback_context(
            form["prompt"].value() or "",
            model,
            form["count"].value(),
            size,
            quality,
            _picture_count(_staged_ids(form), chosen_kit),
        ),
    }


def _prefill(request: HtmxHttpRequest) -> dict:
    """Initial values from "Generate again" links: ?prompt=&model=&size= or ?again=<id>."""
    data: dict[str, str] = request.GET.dict()
    initial: dict[str, str] = {}
    again = parsing.id_or_none(data.get("again", ""))
    if again is not None:
        source = _get_generation_for_user(request, again)
        data = {"prompt": source.prompt, "model": source.model, "size": source.size}
    if data.get("prompt"):
        initial["prompt"] = data["prompt"][: catalog.PROMPT_MAX_CHARS]
    model = data.get("model", "")
    if model in catalog.MODELS:
        initial["model"] = model
        size = data.get("size")
        if size is not None and catalog.valid_size(model, size):
            initial["size"] = size
    # "Use in the studio" on the kits page; the form offers only kits the user may use.
    if data.get("kit"):
        initial["kit"] = data["kit"]
    if _as_count(data.get("count")):
        initial["count"] = str(_as_count(data.get("count")))
    return initial


def _studio_tiles(request: HtmxHttpRequest) -> dict:
    # Read before the rows: a change after this read is one the poll will see.
    counters = changes.versions([changes.user_scope(request.user.pk)])
    own = marks.with_star(Generation.objects.visible().filter(user=request.user), request.user)
    pending = list(own.filter(status__in=PENDING).tiles()[:50])
    recent = list(own.exclude(status__in=PENDING).tiles()[:RECENT_TILES])
    tiles = sorted(pending + recent, key=lambda g: (g.created_at, g.pk), reverse=True)
    poll_url = changes.issue(
        reverse("studio:poll"), request.user.pk, counters, changes.pending_ids(pending)
    )
    return {"tiles": tiles, "polling": bool(pending), "poll_url": poll_url}


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    if request.htmx and request.htmx.target == "budget-line":
        # The spend line asks again when images finish (studio.js): only that part, for
        # the team the page sends; no form (a quarter of this request's time, unused).
        return render(request, "studio/home.html#budget_line", {})
    form = GenerateForm(initial=_prefill(request), user=request.user)
    # "Edit this image" and the no-JavaScript upload come back with ?inputs=1,2.
    staged = edit_views.staged_for(request, request.GET.get("inputs", "").split(","))
    context = {**_form_context(form), **_studio_tiles(request), "staged": staged}
    return render(request, "studio/home.html", context)


@require_GET
def sizes(request: HtmxHttpRequest) -> HttpResponse:
    model = request.GET.get("model", "")
    if model not in catalog.MODELS:
        return HttpResponseBadRequest("Unknown model.")
    initial = {"model": model}
    size = request.GET.get("size")
    if size is not None and catalog.valid_size(model, size):
        initial["size"] = size
    for name in catalog.OPTION_FIELDS:
        if request.GET.get(name, "") in catalog.options(model, name):
            initial[name] = request.GET[name]
    form = GenerateForm(initial=initial)
    return render(request, "studio/home.html#size_field", _form_context(form))


def _staged_ids(form: GenerateForm) -> list[str]:
    """The staged pictures' ids a bound form was posted with."""
    getlist = getattr(form.data, "getlist", None)
    return list(getlist("input")) if form.is_bound and getlist is not None else []


def _picture_count(staged_ids: list[str], kit: Any) -> int:
    """The reference pictures the form would send: its staged ones and its kit's."""
    staged = sum(1 for value in staged_ids if value)
    return staged + (len(kit.pictures.all()) if kit is not None else 0)


@require_POST
def check(request: HtmxHttpRequest) -> HttpResponse:
    post = request.POST
    try:
        kit = services.usable_kit(request.user, post.get("kit"))
    except services.KitNotUsable:
        # The submit says why; the hint counts no kit pictures meanwhile.
        kit = None
    context = _feedback_context(
        post.get("prompt", ""),
        post.get("model", ""),
        post.get("count"),
        post.get("size"),
        post.get("quality", ""),
        _picture_count(post.getlist("input"), kit),
    )
    return render(request, "studio/home.html#feedback", context)


def _submit(
    request: HtmxHttpRequest, form: GenerateForm, staged: list, mask: bytes | None = None
) -> Any:
    """Send the checked form through the one submit path (services.send): one prompt, an
    edit of the staged pictures (with the painted `mask`), or a list, a kit or a preset as
    one batch that keeps them. The new batch and its images."""
    assert form.plan is not None  # a valid form has its plan
    uploads = [services.Upload(b"", staged=item) for item in staged]
    return services.send(request.user, form.plan, uploads, mask=mask)


def _preview(form: GenerateForm) -> dict[str, Any]:
    """The list as it would be sent: each row's final prompt (the kit's style after it),
    its values and its pre-filter warnings, and what the batch would cost."""
    kit = form.campaign.kit
    rows = [
        {
            "number": number,
            "prompt": catalog.gateway_text(r.model, r.size, r.prompt, kit.style if kit else ""),
            "variables": r.variables,
            "warnings": [m for m in r.warnings if not m.blocks],
            "count": r.count,
        }
        for number, r in enumerate(form.requests, start=1)
    ]
    total = sum(r.count for r in form.requests)
    # Every row of a list is asked with the form's model, size and options.
    first = form.requests[0]
    quality = catalog.quality_sent(first.model, first.quality)
    inputs = min(_picture_count(_staged_ids(form), kit), catalog.max_inputs(first.model))
    lines = _price_lines(first.model, first.size, quality, inputs, total)
    return {
        "preview_rows": rows,
        "preview_columns": form.campaign.columns,
        "preview_cost": lines["cost_line"],
        "fit_model": first.model,
        "fit_count": total,
    }


@require_POST
def generate(request: HtmxHttpRequest) -> HttpResponse:
    form = GenerateForm(request.POST, request.FILES, user=request.user)
    budget_error = input_error = mask_error = ""
    # Pictures staged in the form make this an edit of them, in the order shown.
    staged = edit_views.staged_for(request, request.POST.getlist("input"))
    previewing = request.POST.get("action") == "preview"
    if form.is_valid() and not previewing:
        try:
            batch, generations = _submit(request, form, staged, edit_views.posted_mask(request))
        except BudgetExceeded as exc:
            budget_error = exc.message
        except services.Invalid as exc:
            mask_error = exc.errors.pop(masks.FIELD, "")
            input_error = " ".join(exc.errors.values())
    if not form.is_valid() or budget_error or input_error or mask_error or previewing:
        context = {
            **_form_context(form),
            "budget_error": budget_error,
            "staged": staged,
            "input_error": input_error,
            "mask_error": mask_error,
            **(_preview(form) if previewing and form.is_valid() else {}),
        }
        if request.htmx:
            return render(request, "studio/home.html#form", context)
        return render(request, "studio/home.html", {**context, **_studio_tiles(request)})

    count = len(generations)
    if form.is_list():
        # A list is watched on its own page: progress, cost and the whole grid.
        messages.success(request, say.queued(count))
        return redirect_or_client(request, reverse("batches:detail", args=[batch.pk]))
    if not request.htmx:
        messages.success(request, say.queued(count))
        return redirect("studio:home")
    for generation in generations:
        generation.prompt_head = generation.prompt[:PROMPT_HEAD]
    context = {
        **_form_context(form),
        "new_tiles": generations,
        "submitted_count": count,
        "submitted_ids": ",".join(str(g.pk) for g in generations),
        # Sent with this batch: the next one starts without pictures.
        "staged": [],
    }
    return render(request, "studio/home.html#submitted", context)


# --- progress ---------------------------------------------------------------------------------
def _poll_ids(request: HtmxHttpRequest) -> dict[int, str]:
    """Ids to refresh, each with the status the page shows for it ("" if not said).

    Both ?ids=1,2,3 and the ?ids=1&ids=2 that htmx's hx-include sends; a tile sends
    "12:running" so that an unchanged tile need not be rendered again."""
    ids: dict[int, str] = {}
    for value in request.GET.getlist("ids"):
        for part in value.split(","):
            pk, _, seen = part.strip().partition(":")
            number = parsing.id_or_none(pk)
            if number is not None and len(ids) < MAX_POLL_IDS:
                ids.setdefault(number, seen)
    return ids


def _viewable_states(request: HtmxHttpRequest, ids) -> list[Generation]:
    """viewable_by() checked in Python: the poll runs every 2 s on every open page, and
    almost all its tiles are the user's own, so the team subquery (and the cached team
    list) is paid only when a team-mate's tile is on the page."""
    user = request.user
    rows = list(Generation.objects.visible().filter(pk__in=ids).states())
    if all(g.can_change(user) for g in rows):
        return rows
    teams = {team.pk for team in spend_teams.teams_for(user)}
    return [g for g in rows if g.can_view(user, teams)]


def _changed_tiles(request: HtmxHttpRequest, ids: list[int]) -> list[Generation]:
    """The tiles to draw again, in full (their ids already checked viewable)."""
    if not ids:
        return []
    tiles = Generation.objects.visible().filter(pk__in=ids).tiles()
    return list(marks.with_star(tiles, request.user))


def _next_poll_url(
    request: HtmxHttpRequest, counters: dict[str, int], ids: dict[int, str], rows: list
) -> str:
    """The poller's URL after this answer: with a token (studio.changes) for the ids the
    page will send next, when every tile is the user's own (their counter is the one
    read); a team-mate's tile keeps the page on the ordinary poll."""
    path = reverse("studio:poll")
    if any(g.user_id != request.user.pk for g in rows):
        return path
    found = {g.pk: g for g in rows}
    sent = [f"{pk}:{seen}" for pk, seen in ids.items() if pk not in found]
    return changes.issue(path, request.user.pk, counters, sent + changes.pending_ids(rows))


@require_GET
def poll(request: HtmxHttpRequest) -> HttpResponse:
    """Every pending tile of a page in one request; 286 once none is pending, which tells
    htmx to stop polling (the final tiles in that same response are still swapped in).

    The page ticks elapsed time itself (studio.js), so a tile whose status the page
    already shows is not rendered again. While nothing changed, the poller's token lets
    UnchangedPollMiddleware answer an empty 204 before this view runs; here, the answer
    is what changed and the poller with its next token (out of band)."""
    ids = _poll_ids(request)
    if not ids:
        return HttpResponseStopPolling()
    counters = changes.versions([changes.user_scope(request.user.pk)])
    # Which tiles changed, from a narrow read of them all; then those alone in full (the
    # user's counter moves for any of their images, also ones this page does not show). A
    # tile that moves on between the two reads is drawn, and sent next time, as the second
    # read found it.
    states = {g.pk: g for g in _viewable_states(request, ids)}
    changed = _changed_tiles(request, [pk for pk, g in states.items() if ids[pk] != g.tile_state])
    drawn = {g.pk: g for g in changed}
    generations = [drawn.get(pk, g) for pk, g in states.items()]
    if not any(g.is_pending for g in generations):
        content = render_to_string("studio/tiles.html#poll", {"generations": changed}, request)
        return HttpResponseStopPolling(content)
    context = {
        "generations": changed,
        "poll_url": _next_poll_url(request, counters, ids, generations),
    }
    return HttpResponse(render_to_string("studio/tiles.html#poll", context, request))


@require_POST
def retry(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    generation = _get_generation_for_user(request, pk, change=True)
    if generation.is_pending:
        return HttpResponse(say.still_generating(), status=409)
    home_url = reverse("studio:home")
    try:
        _batch, generations = services.retry(generation, request.user)
    except (services.Invalid, BudgetExceeded) as exc:
        text = exc.message if isinstance(exc, BudgetExceeded) else " ".join(exc.errors.values())
        messages.error(request, text)
        return redirect_or_client(request, reverse("studio:detail", args=[generation.pk]))
    from_path = urlsplit(request.htmx.current_url_abs_path or "").path if request.htmx else ""
    if from_path != home_url:
        # Only the studio page has the strip the new tile goes into.
        messages.success(request, say.queued_again())
        return redirect_or_client(request, home_url)
    for new in generations:
        new.prompt_head = new.prompt[:PROMPT_HEAD]
    return render(request, "studio/tiles.html#retried", {"new_tiles": generations})


@require_POST
def cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    generation = _get_generation_for_user(request, pk, change=True)
    canceled = generation.cancel()
    if request.htmx:
        fresh = _get_generation_for_user(request, pk, change=True, tile=True)
        return render(request, "studio/tiles.html#tile", {"g": fresh})
    if canceled:
        messages.success(request, say.canceled_notice())
    else:
        messages.warning(request, say.too_late_to_cancel())
    return redirect("studio:detail", pk=pk)


# --- files ------------------------------------------------------------------------------------
def _download_name(generation: Generation, name: str, suffix: str = "") -> str:
    ext = PurePosixPath(name).suffix or ".png"
    words = slugify(generation.prompt[:80], allow_unicode=True)[:40].strip("-")
    stem = "-".join(part for part in ("imagestudio", str(generation.pk), words) if part)
    return f"{stem}{suffix}{ext}"


def _serve(request: HtmxHttpRequest, pk: int, field: str) -> HttpResponseBase:
    generation = _get_generation_for_user(request, pk)
    stored = getattr(generation, field)
    download = request.GET.get("download") == "1"
    if field == "image" and stored and request.GET.get("original") != "1":
        # What leaves the studio carries the AI-content labels; ?original=1 is the file
        # as the gateway made it, byte for byte.
        return labelling.response(
            generation,
            user=request.user,
            filename=_download_name(generation, stored.name),
            download=download,
            delivered=download,
        )
    suffix = "-thumb" if field == "thumbnail" else ""
    return files.serve(
        stored.name,
        filename=_download_name(generation, stored.name, suffix) if stored else "",
        download=request.GET.get("download") == "1",
    )


@require_GET
def image(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    return _serve(request, pk, "image")


@require_GET
def thumb(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    return _serve(request, pk, "thumbnail")


# --- gallery ----------------------------------------------------------------------------------
GALLERY_ORDERS = ("newest", "oldest")


def _gallery_marks(request: HtmxHttpRequest) -> dict[str, Any]:
    """?starred=1, ?board=<id> (a board the user can see, else ignored), ?order=oldest."""
    board_choices = list(Board.objects.viewable_by(request.user).only("id", "name", "team_id"))
    value = request.GET.get("board", "")
    board = next((b for b in board_choices if str(b.pk) == value), None)
    order = request.GET.get("order", "")
    return {
        "starred": request.GET.get("starred") == "1",
        "board": board,
        "oldest": order == "oldest",
        "viewer_boards": board_choices,
    }


@require_GET
def gallery(request: HtmxHttpRequest) -> HttpResponse:
    """Keyset pages (newest or oldest first): one query per page whatever the table size,
    and no COUNT over a hundred thousand rows; the caller's stars and boards ride along in
    two more queries (campaigns.marks), however many tiles."""
    form = GalleryFilterForm(request.GET)
    filters = form.filters()
    chosen = _gallery_marks(request)
    everyone = bool(filters["everyone"]) and request.user.is_staff
    teams = spend_teams.teams_for(request.user)
    team = _gallery_team(request, teams)

    qs = Generation.objects.visible()
    if chosen["board"] is not None:
        # What is on the board and the user may see, whoever made it.
        qs = Generation.objects.viewable_by(request.user).filter(board_items__board=chosen["board"])
    elif team is not None:
        qs = qs.filter(team=team)
    elif everyone:
        pass
    elif chosen["starred"]:
        # Stars are put on team-mates' images too: "starred" reaches every image one sees.
        qs = Generation.objects.viewable_by(request.user)
    else:
        qs = qs.filter(user=request.user)
    if chosen["starred"]:
        qs = qs.filter(Exists(Star.objects.filter(user=request.user, generation=OuterRef("pk"))))
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

    position = cursor.decode(request.GET.get("cursor", ""))
    if position is not None:
        if chosen["oldest"]:
            created_at, pk = position
            qs = qs.filter(
                Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk),
                created_at__gte=created_at,
            )
        else:
            qs = cursor.after(qs, position)

    extra: list[str] = []
    shows_owner = everyone or team is not None or chosen["board"] is not None
    if shows_owner or chosen["starred"]:
        qs = qs.select_related("user")
        extra.append("user__username")
    ordering = ("created_at", "id") if chosen["oldest"] else ("-created_at", "-id")
    rows = list(
        marks.with_marks(
            qs.order_by(*ordering).grid(*extra),
            request.user,
        )[: GALLERY_PAGE_SIZE + 1]
    )
    next_cursor = (
        cursor.encode(rows[GALLERY_PAGE_SIZE - 1]) if len(rows) > GALLERY_PAGE_SIZE else ""
    )
    context = {
        "filter_form": form,
        "rows": rows[:GALLERY_PAGE_SIZE],
        # Each tile then knows its thread's size (edit_views.newest_versions).
        "stacked": bool(filters["stack"]),
        "next_cursor": next_cursor,
        "is_first_page": position is None,
        "everyone": everyone or team is not None,
        "show_owner": shows_owner or chosen["starred"],
        "team": team,
        "teams": teams,
        "filtered": any(filters[k] for k in ("q", "model", "tier", "status"))
        or chosen["starred"]
        or chosen["board"] is not None,
        "marks": chosen,
        "viewer_boards": chosen["viewer_boards"],
        "board_teams": boards.teams_choosable(request.user),
        "name_max": boards.NAME_MAX,
    }

    template = "studio/gallery.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#page" if position is not None else "#results"
    response = render(request, template, context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _gallery_team(request: HtmxHttpRequest, teams: list[Team]) -> Team | None:
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


def _get_detail_for_user(request: HtmxHttpRequest, pk: int) -> Generation:
    return get_object_or_404(
        Generation.objects.viewable_by(request.user).select_related("user"), pk=pk
    )


def _detail_context(request: HtmxHttpRequest, generation: Generation) -> dict[str, Any]:
    can_change = generation.can_change(request.user)
    generation.prompt_head = generation.prompt[:PROMPT_HEAD]
    viewer_boards = boards.viewer_boards(request.user)
    on_board_ids = set(marks.board_ids(generation, request.user))
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
        "can_change": can_change,
        # Stars and boards: anyone who sees the image marks it for themselves.
        "starred": marks.starred(generation, request.user),
        "on_boards": [b for b in viewer_boards if b.pk in on_board_ids],
        "viewer_boards": viewer_boards,
        "name_max": boards.NAME_MAX,
        **edit_views.detail_context(request, generation),
    }
    return context


@require_GET
def detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    generation = _get_detail_for_user(request, pk)
    return render(request, "studio/detail.html", _detail_context(request, generation))


@require_GET
def detail_poll(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The live parts of an image's page (image, status, continue-editing form and versions,
    facts, buttons), swapped out of band; 286 once the image is final, which stops the page's
    poller. ?status= is what the page shows: while that is still true the answer is an empty
    204, as on the studio poll."""
    generation = _get_detail_for_user(request, pk)
    if generation.is_pending and request.GET.get("status") == generation.status:
        return HttpResponse(status=204)
    context = _detail_context(request, generation)
    content = render_to_string("studio/detail.html#live", context, request)
    if generation.is_pending:
        return HttpResponse(content)
    return HttpResponseStopPolling(content)


@require_http_methods(["GET", "POST"])
def delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    generation = _get_generation_for_user(request, pk, change=True)
    if request.method == "POST":
        generation.soft_delete()
        messages.success(request, say.deleted_notice())
        return redirect("studio:gallery")
    generation.prompt_head = generation.prompt[:PROMPT_HEAD]
    return render(request, "studio/delete.html", {"g": generation})
