"""Editing in the browser: stage pictures for the studio form, pick from the gallery,
continue a conversation from any version, and the thread's version tree."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from imagestudio import catalog
from imagestudio.spend import charging
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.studio import masks, pictures, services
from imagestudio.studio import messages as say
from imagestudio.studio.models import Generation, Kind, StagedInput, Status
from imagestudio.web import files
from imagestudio.web.htmx import HtmxHttpRequest, page_or_part, redirect_or_client
from imagestudio.web.parsing import id_or_none

PICKER_SIZE = 24
# A thread can grow long; the tree shows its most recent versions.
MAX_TREE_VERSIONS = 200


def staged_for(request: HtmxHttpRequest, tokens: list[str]) -> list[StagedInput]:
    """The signed-in user's staged pictures named by `tokens`, in that order; unknown or
    someone else's ids are skipped (a stale form after the sweep, or a forged id)."""
    ids = [pk for t in tokens if (pk := id_or_none(t)) is not None][: pictures.most() * 2]
    found = {s.pk: s for s in StagedInput.objects.filter(user=request.user, pk__in=ids)}
    return [found[i] for i in ids if i in found]


def posted_mask(request: HtmxHttpRequest) -> bytes | None:
    """The painter's mask (a PNG file field), when one was sent."""
    item = request.FILES.get(masks.FIELD)
    return item.read() if item is not None else None


def _visible(request: HtmxHttpRequest) -> QuerySet[Generation]:
    # Team-mates may build on each other's images: a new version is the editor's own
    # image (and spend); the original is never changed.
    return Generation.objects.viewable_by(request.user)


@require_POST
def stage(request: HtmxHttpRequest) -> HttpResponse:
    """Compress and keep the posted pictures (`image` files, `source` gallery ids) and
    answer with their tiles; the form sends their ids with Generate.

    `input` carries the ids already in the form, so the limit counts them too."""
    have = len(request.POST.getlist("input"))
    # The form's model, when it says: each route takes its own number of pictures.
    most = pictures.limit(request.POST.get("model"))
    room = most - have
    wanted: list[tuple[bytes, str, Generation | None]] = [
        (f.read(), f.name or "", None) for f in request.FILES.getlist("image")
    ]
    for raw in request.POST.getlist("source"):
        pk = id_or_none(raw)
        source = _visible(request).filter(pk=pk).first() if pk is not None else None
        if source is None:
            wanted.append((b"", f"#{raw}", None))
        else:
            wanted.append((b"", "", source))
    staged: list[StagedInput] = []
    errors: list[str] = []
    for data, name, source in wanted:
        if len(staged) >= room:
            errors.append(say.picture_not_added(name, most))
            continue
        if source is None and not data:
            errors.append(say.no_such_image(name))
            continue
        try:
            staged.append(services.stage(request.user, data, name, source))
        except services.Invalid as exc:
            errors.extend(exc.errors.values())
    if not request.htmx:
        for error in errors:
            messages.error(request, error)
        ids = [*request.POST.getlist("input"), *(str(s.pk) for s in staged)]
        return redirect(f"{reverse('studio:home')}?inputs={','.join(ids)}#inputs-panel")
    context = {"staged": staged, "input_errors": errors, "first_number": have + 1}
    return render(request, "studio/inputs.html#staged", context)


@require_GET
def staged_file(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    # Staff see every picture, as they see every image; others only their own.
    staged = StagedInput.objects.all()
    if not request.user.is_staff:
        staged = staged.filter(user=request.user)
    item = get_object_or_404(staged, pk=pk)
    return files.serve(item.file.name, content_type=item.content_type)


@require_GET
def input_file(request: HtmxHttpRequest, pk: int, position: int) -> HttpResponseBase:
    """The compressed picture an edit sent as image{position}."""
    generation = get_object_or_404(_visible(request), pk=pk)
    item = get_object_or_404(generation.inputs, position=position)
    return files.serve(item.file.name, content_type=item.content_type)


@require_GET
def pick(request: HtmxHttpRequest) -> HttpResponse:
    """Recent finished images the user may build on (their own and their teams'), to add
    to the form as pictures to edit."""
    images = list(
        _visible(request)
        .filter(status=Status.SUCCEEDED)
        .only("id", "prompt", "thumbnail", "created_at")[:PICKER_SIZE]
    )
    return page_or_part(request, "studio/inputs.html", {"images": images}, "picker")


@require_POST
def iterate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The next conversation turn from version `pk`: continue or branch, the same call."""
    parent = get_object_or_404(_visible(request), pk=pk)
    detail_url = reverse("studio:detail", args=[pk])
    if parent.status != Status.SUCCEEDED or not parent.image:
        messages.error(request, say.only_finished_can_be_edited())
        return redirect(detail_url)
    error = ""
    try:
        _batch, (turn,) = services.iterate(
            request.user,
            parent,
            request.POST.get("prompt", ""),
            team=charging.charged_team(
                request.user, request.POST.get("team") or None, parent_team_id=parent.team_id
            ),
            override_budget=charging.override_allowed(
                request.user, request.POST.get("override_budget") == "on"
            ),
            mask=posted_mask(request),
        )
    except services.Invalid as exc:
        error = " ".join(exc.errors.values())
    except (BudgetExceeded, charging.ChargeRefused) as exc:
        error = exc.message
    if error:
        if request.htmx:
            context = {
                "g": parent,
                "iterate_error": error,
                "prompt": request.POST.get("prompt"),
                "takes_mask": masks.takes_mask(parent.model),
                "turn_by_chat": catalog.accepts_endpoint(parent.model, catalog.CHAT),
                # The same words as before the refusal ("Continue editing", not "Branch").
                "is_latest": not parent.children.filter(deleted_at__isnull=True).exists(),
            }
            return render(request, "studio/detail.html#iterate", context, status=200)
        messages.error(request, error)
        return redirect(detail_url)
    return redirect_or_client(request, reverse("studio:detail", args=[turn.pk]))


def version_tree(generation: Generation, user: Any) -> list[Generation]:
    """The thread's versions in tree order (depth-first from the root), each with
    `.depth`; those the user may not see are left out with their branches."""
    root_id = generation.thread_id or generation.pk
    versions = list(
        Generation.objects.viewable_by(user)
        .filter(Q(pk=root_id) | Q(thread_id=root_id))
        .only("id", "parent_id", "thread_id", "status", "prompt", "thumbnail", "created_at")
        .order_by("created_at", "id")[:MAX_TREE_VERSIONS]
    )
    if len(versions) <= 1:
        return []
    by_parent: dict[int | None, list[Generation]] = {}
    ids = {v.pk for v in versions}
    for v in versions:
        # A version whose parent is hidden (deleted) hangs from the root's level.
        key = v.parent_id if v.parent_id in ids else None
        by_parent.setdefault(key, []).append(v)
    ordered: list[Generation] = []

    def walk(key: int | None, depth: int) -> None:
        for v in by_parent.get(key, []):
            v.depth = min(depth, 8)
            ordered.append(v)
            walk(v.pk, depth + 1)

    walk(None, 0)
    for v in ordered:
        v.is_leaf = not by_parent.get(v.pk)
    return ordered


def detail_context(request: HtmxHttpRequest, generation: Generation) -> dict:
    """What the detail page adds for editing: the inputs sent, the version tree, and
    whether a next turn can start here."""
    items = list(generation.inputs.all()) if generation.kind != Kind.GENERATE else []
    return {
        "inputs": [item for item in items if not item.is_mask],
        "mask": next((item for item in items if item.is_mask), None),
        "takes_mask": masks.takes_mask(generation.model),
        # A route without a chat endpoint takes its next turn as an edit of the image.
        "turn_by_chat": catalog.accepts_endpoint(generation.model, catalog.CHAT),
        "versions": version_tree(generation, request.user),
        "can_iterate": generation.status == Status.SUCCEEDED and bool(generation.image),
        "is_latest": not generation.children.filter(deleted_at__isnull=True).exists(),
    }


def newest_versions(qs):
    """Collapse each thread to its newest visible version, annotated with `versions`, the
    thread's size. Subqueries in the same statement: still one query per gallery page."""
    same_thread = Q(thread_id=OuterRef("thread_key")) | Q(pk=OuterRef("thread_key"))
    versions = Generation.objects.visible().filter(same_thread)
    newer = versions.filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )
    count = (
        versions.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values("n")
    )
    return (
        qs.annotate(thread_key=Coalesce("thread_id", "id"))
        .filter(~Exists(newer))
        .annotate(versions=Subquery(count))
    )
