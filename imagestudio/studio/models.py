from __future__ import annotations

import bisect
import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, F, Max, Q, Sum, Value
from django.db.models.functions import Coalesce, Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imagestudio import catalog
from imagestudio.routing import hops as route_hops
from imagestudio.spend import budgets, ledger
from imagestudio.spend.models import Budget, Membership, Team
from imagestudio.studio import changes, messages
from imagestudio.upstream.types import AttemptRecord, FailureCode


class SlotsFull(Exception):
    """IMAGESTUDIO_UPSTREAM_MAX_IN_FLIGHT calls are at the gateway: wait for one to end."""


class Status(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Queued")
    RUNNING = "running", gettext_lazy("Running")
    SUCCEEDED = "succeeded", gettext_lazy("Succeeded")
    FAILED = "failed", gettext_lazy("Failed")
    REFUSED = "refused", gettext_lazy("Refused")
    CANCELED = "canceled", gettext_lazy("Canceled")


PENDING = (Status.QUEUED, Status.RUNNING)
# pg_advisory_xact_lock key of the gate that hands out gateway slots (any fixed number).
_GATE_LOCK = 7_312_012


_SNAPSHOT_SECONDS = 1.0
_snapshot: dict[str, Any] = {"at": -_SNAPSHOT_SECONDS, "queued": {}, "running": {}}
_snapshot_lock = threading.Lock()


def queue_snapshot(*, fresh: bool = False) -> tuple[dict[int, list[tuple]], dict[int, int]]:
    """The queue as the fair share sees it: each user's queued images as sorted
    (created_at, id) keys, and each user's count of running ones."""
    with _snapshot_lock:
        if fresh or time.monotonic() - _snapshot["at"] >= _SNAPSHOT_SECONDS:
            queued: dict[int, list[tuple]] = {}
            running: dict[int, int] = {}
            rows = Generation.objects.filter(status__in=PENDING, deleted_at__isnull=True)
            for user, status, created, pk in rows.values_list(
                "user_id", "status", "created_at", "id"
            ).order_by("created_at", "id"):
                if status == Status.QUEUED:
                    queued.setdefault(user, []).append((created, pk))
                else:
                    running[user] = running.get(user, 0) + 1
            _snapshot.update(at=time.monotonic(), queued=queued, running=running)
        return _snapshot["queued"], _snapshot["running"]


def _lock_the_gate() -> None:
    """Serialise the hand-out of gateway slots across every worker process, until the
    end of the caller's transaction. PostgreSQL: an advisory lock; SQLite: the
    database's own write lock (transactions are IMMEDIATE) already does it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_GATE_LOCK])


TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.REFUSED, Status.CANCELED)


class BatchQuerySet(models.QuerySet):
    def viewable_by(self, user: Any) -> BatchQuerySet:
        """The same rule as its images': its owner's, its team's members', staff's."""
        if user.is_staff:
            return self.all()
        teams = Membership.objects.filter(user=user).values("team_id")
        return self.filter(Q(user=user) | Q(team_id__in=teams))


class Batch(models.Model):
    """Several images asked for at once: that many rows, that many parallel calls."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A batch from a list: the template its prompts were filled from ("" for one prompt
    # or a list of prompts) and the list's column names, in order (the manifest's columns).
    template = models.TextField(blank=True)
    columns = models.JSONField(default=list, blank=True)
    preset = models.CharField(max_length=40, blank=True)
    kit = models.ForeignKey(
        "campaigns.Kit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = BatchQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("batch")
        verbose_name_plural = gettext_lazy("batches")

    def __str__(self) -> str:
        return f"batch {self.pk}"


# What a tile shows, and nothing more: the poll runs every 2 s for every open page.
TILE_FIELDS = (
    "id",
    "user_id",
    "team_id",
    "model",
    "size",
    "status",
    "error_code",
    "error_params",
    "created_at",
    "started_at",
    "finished_at",
    "billed",
    "cost_usd",
    "thumbnail",
    # For the viewer's facts (data-viewer-* on a finished tile).
    "width",
    "height",
    # A tile says "2048×1152, 4K failed" rather than the 4K size asked for.
    "fell_back_to_2k",
    # "Paid for and being saved" while storage is out (Generation.is_saving).
    "saving_from",
    # "made by gpt-image-2.6-all after gpt-image-2-vip failed twice" (Generation.route_note);
    # while it runs on a fallback, that route's usual time (Generation.expected_seconds).
    "hops",
    "route",
    "calling_since",
    # Asked for a transparent background: the tile shows it on a checkerboard.
    "background",
)
# What a poll reads of every tile on the page to learn which changed (tile_state) and who
# may see it; the tiles that did are then read in full (TILE_FIELDS).
STATE_FIELDS = ("id", "user_id", "team_id", "model", "status", "route")
# Alt text needs the start of the prompt only; a prompt may be 32,000 characters long.
PROMPT_HEAD = 200
# What a grid tile (gallery, board) and the viewer need of each image (never the whole
# prompt or the files).
GRID_FIELDS = (
    "id",
    "user_id",
    "team_id",
    "model",
    "size",
    "status",
    "thumbnail",
    "image",
    "width",
    "height",
    "created_at",
    "fell_back_to_2k",
    "hops",
    # Asked for a transparent background: the tile shows it on a checkerboard.
    "background",
    # The list row it was made from: compare captions each image with its values.
    "variables",
)


class GenerationQuerySet(models.QuerySet):
    """Who may see and who may change an image: the one home of that rule.

    Staff see and change everything; others see their own images and those charged to a
    team they are in, and change only their own. A team-mate's image is read-only: they
    may look at it, download it and build a new version of their own from it."""

    def visible(self) -> GenerationQuerySet:
        return self.filter(deleted_at__isnull=True)

    def viewable_by(self, user: Any) -> GenerationQuerySet:
        if user.is_staff:
            return self.visible()
        teams = Membership.objects.filter(user=user).values("team_id")
        return self.visible().filter(Q(user=user) | Q(team_id__in=teams))

    def changeable_by(self, user: Any) -> GenerationQuerySet:
        qs = self.visible()
        return qs if user.is_staff else qs.filter(user=user)

    def tiles(self, *extra: str) -> GenerationQuerySet:
        """What a studio or batch tile shows (TILE_FIELDS, `extra`) and the prompt's head."""
        head = Substr("prompt", 1, PROMPT_HEAD)
        return self.only(*TILE_FIELDS, *extra).annotate(prompt_head=head)

    def states(self, *extra: str) -> GenerationQuerySet:
        """What a poll compares with what the page shows (STATE_FIELDS, `extra`)."""
        return self.only(*STATE_FIELDS, *extra)

    def grid(self, *extra: str) -> GenerationQuerySet:
        """What a gallery or board tile and the viewer show (GRID_FIELDS, `extra`)."""
        head = Substr("prompt", 1, PROMPT_HEAD)
        return self.only(*GRID_FIELDS, *extra).annotate(prompt_head=head)

    def pending_by_model(self, scope: Q) -> list[tuple[str, str, str, int, Decimal]]:
        """(model, size, quality, count without a stored reservation, stored reservations)
        of the queued and running images within `scope`, in one query: what the budgets
        hold back for images in progress."""
        rows = (
            self.filter(scope, status__in=PENDING)
            .values("model", "size", "quality")
            .annotate(
                n=Count("id", filter=Q(reserved_usd__isnull=True)),
                held=Sum("reserved_usd"),
            )
            .order_by()
        )
        return [
            (row["model"], row["size"], row["quality"], row["n"], row["held"] or Decimal("0"))
            for row in rows
        ]


class Kind(models.TextChoices):
    GENERATE = "generate", gettext_lazy("Text to image")
    EDIT = "edit", gettext_lazy("Edit")
    CHAT = "chat", gettext_lazy("Conversation turn")


class Generation(models.Model):
    """One image: its request, its state, where its files are and what it cost."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="generations",
        verbose_name=gettext_lazy("owner"),
    )
    batch = models.ForeignKey(
        Batch,
        on_delete=models.CASCADE,
        related_name="generations",
        verbose_name=gettext_lazy("batch"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="generations",
        verbose_name=gettext_lazy("team"),
    )
    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        default=Kind.GENERATE,
        verbose_name=gettext_lazy("kind"),
    )
    # Lineage: the version this one was made from (the first gallery input of an edit, the
    # previous turn of a conversation), and the thread's first version. The full, ordered
    # list of parents is in `inputs`.
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=gettext_lazy("made from"),
    )
    thread = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="thread_versions",
        verbose_name=gettext_lazy("thread"),
    )
    # What the model said besides the image (a chat turn), or instead of it (a refusal).
    reply = models.TextField(blank=True, verbose_name=gettext_lazy("gateway's reply"))
    model = models.CharField(
        max_length=40, choices=catalog.MODEL_CHOICES, verbose_name=gettext_lazy("model")
    )
    prompt = models.TextField(verbose_name=gettext_lazy("prompt"))
    # The brand kit's style text as it was when the image was asked for (a kit edited
    # later does not change what this image sent): see `prompt_sent`.
    style = models.TextField(blank=True, verbose_name=gettext_lazy("style"))
    # The list row this image was made from ({} for one prompt).
    variables = models.JSONField(
        default=dict, blank=True, verbose_name=gettext_lazy("list row values")
    )
    kit = models.ForeignKey(
        "campaigns.Kit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("brand kit"),
    )
    # What was asked for: WIDTHxHEIGHT for -vip, the phrasing (or "") for -all.
    size = models.CharField(max_length=40, blank=True, verbose_name=gettext_lazy("size"))
    size_tier = models.CharField(
        max_length=4, db_index=True, verbose_name=gettext_lazy("size tier")
    )
    fallback_2k = models.BooleanField(default=True, verbose_name=gettext_lazy("fall back to 2K"))
    # The route's options as asked ("" where the route does not take them): the
    # catalog's `quality`, `background` and `output_format`.
    quality = models.CharField(max_length=10, blank=True, verbose_name=gettext_lazy("quality"))
    background = models.CharField(
        max_length=12, blank=True, verbose_name=gettext_lazy("background")
    )
    output_format = models.CharField(
        max_length=8, blank=True, verbose_name=gettext_lazy("file format")
    )
    # Tokens the gateway reported for this image's billed token-route calls, summed in
    # step with the ledger (null: no token-billed call), so a poll reads them for free.
    text_tokens = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=gettext_lazy("text input tokens")
    )
    image_tokens = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=gettext_lazy("image input tokens")
    )
    output_tokens = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=gettext_lazy("output tokens")
    )
    # A billed token-route call came back without usage: billed at the top of its range.
    usage_missing = models.BooleanField(
        default=False, verbose_name=gettext_lazy("billed without usage")
    )

    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.QUEUED,
        db_index=True,
        verbose_name=gettext_lazy("status"),
    )
    error_code = models.CharField(
        max_length=40,
        blank=True,
        choices=FailureCode.choices,
        verbose_name=gettext_lazy("failure code"),
    )
    # The numbers and words of the sentence explaining `error_code` (never the sentence:
    # that is said in each reader's language, see `error_message`).
    error_params = models.JSONField(
        default=dict, blank=True, verbose_name=gettext_lazy("failure details")
    )

    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=gettext_lazy("created")
    )
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("started"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("finished"))
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, verbose_name=gettext_lazy("last heartbeat")
    )
    # When its task was last sent to the broker: the sweep re-sends a queued job at most
    # once per REQUEUE_QUEUED_SECONDS, so a long queue does not fill up with duplicates.
    sent_at = models.DateTimeField(
        default=timezone.now, verbose_name=gettext_lazy("sent to a worker")
    )
    deleted_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("deleted"))
    # A paid-for image storage could not take: its bytes on the worker's local disk,
    # written again by the sweep. The job stays running (and polled) until then.
    saving_from = models.CharField(
        max_length=300, blank=True, verbose_name=gettext_lazy("held for saving at")
    )
    # Set as a request goes to the gateway, cleared when its attempt is in the ledger:
    # a job lost while set lost a call the gateway bills; while clear (before the first
    # send, waiting between retries) it lost nothing billable.
    calling_since = models.DateTimeField(
        null=True, blank=True, verbose_name=gettext_lazy("calling the gateway since")
    )

    # Kept in step with the ledger (same transaction), so a poll never sums attempts.
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=gettext_lazy("attempts"))
    cost_usd = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=Decimal("0"),
        verbose_name=gettext_lazy("cost (USD)"),
    )
    # What the budgets hold back for this image while it is queued or running: the top of
    # its estimate on the dearest route its chain may take, reference pictures counted,
    # fixed at submit (a staff price change later does not move a reservation already
    # made). Once it ends, its billed attempts are what counts. Null on rows queued before
    # the figure was stored: those are estimated again from their request.
    reserved_usd = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        null=True,
        blank=True,
        verbose_name=gettext_lazy("reserved (USD)"),
    )
    billed = models.BooleanField(default=False, verbose_name=gettext_lazy("billed"))
    fell_back_to_2k = models.BooleanField(
        default=False, verbose_name=gettext_lazy("fell back to 2K")
    )
    # The route (model) this image is on now, or that made it; "" before its first call.
    # It differs from `model` when a failing route was rerouted to a fallback.
    route = models.CharField(max_length=40, blank=True, verbose_name=gettext_lazy("route"))
    # Every route tried before the current one and how it ended (routing.hops.Hop, as
    # dicts), written as the job moves on: the tile, the detail page and the API read it
    # without a ledger query.
    hops = models.JSONField(default=list, blank=True, verbose_name=gettext_lazy("routes tried"))
    # The gateway's request ids of the attempts, one per line, oldest first: the API
    # returns them with every poll, which must not cost a ledger query.
    request_ids = models.TextField(blank=True, default="", verbose_name=gettext_lazy("request ids"))

    image = models.FileField(
        upload_to="images/%Y/%m/",
        blank=True,
        max_length=300,
        verbose_name=gettext_lazy("image file"),
    )
    thumbnail = models.FileField(
        upload_to="thumbs/%Y/%m/",
        blank=True,
        max_length=300,
        verbose_name=gettext_lazy("thumbnail"),
    )
    width = models.PositiveIntegerField(null=True, blank=True, verbose_name=gettext_lazy("width"))
    height = models.PositiveIntegerField(null=True, blank=True, verbose_name=gettext_lazy("height"))
    bytes = models.PositiveBigIntegerField(
        null=True, blank=True, verbose_name=gettext_lazy("bytes")
    )
    sha256 = models.CharField(max_length=64, blank=True, verbose_name=gettext_lazy("SHA-256"))

    objects = GenerationQuerySet.as_manager()

    # Set by the views that need them (annotations or tree walks), not columns.
    prompt_head: str
    depth: int
    is_leaf: bool

    class Meta:
        verbose_name = gettext_lazy("image")
        verbose_name_plural = gettext_lazy("images")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="gen_user_recent"),
            models.Index(fields=["-created_at", "-id"], name="gen_recent"),
        ]

    def __str__(self) -> str:
        return _("image %(id)s (%(status)s)") % {"id": self.pk, "status": self.get_status_display()}

    # --- derived --------------------------------------------------------------------------
    @property
    def error_message(self) -> str:
        """Why it ended without a picture, said in the language of whoever reads it now."""
        return messages.explain(self.error_code, self.error_params)

    @property
    def prompt_sent(self) -> str:
        """Exactly the text the gateway got (or gets next) on the route the job is on."""
        return self.text_for(self.route or self.model)

    def text_for(self, route: str) -> str:
        """The text a call on `route` sends (the worker sends this): a phrasing route's
        phrasing, the prompt, the kit's style (catalog.gateway_text)."""
        return catalog.gateway_text(route, self.size, self.prompt, self.style)

    def can_change(self, user: Any) -> bool:
        """The row-level form of changeable_by(): retry, cancel, delete, star."""
        return bool(user.is_staff or self.user_id == user.pk)

    def can_view(self, user: Any, team_ids: set[int]) -> bool:
        """The row-level form of viewable_by(), for rows already loaded (the poll): the
        caller passes the user's team ids, so a page of the user's own tiles costs no
        team query."""
        return bool(
            self.can_change(user) or (self.team_id is not None and self.team_id in team_ids)
        )

    @property
    def price(self) -> Decimal:
        """What one more call like this one costs at most (a retry, a next turn)."""
        return catalog.reserve_per_image(
            self.model, self.size, self.quality, self.input_count() if self.kind == Kind.EDIT else 0
        )

    @property
    def turn_price(self) -> Decimal:
        """What a next turn from this image costs at most: this image goes with it, a
        reference picture a token route bills."""
        return catalog.reserve_per_image(self.model, self.size, self.quality, 1)

    def input_count(self) -> int:
        """How many pictures go with the call (the reference pictures of an edit; a mask
        painted over image1 is not one)."""
        if self.pk is None:
            return 0
        return self.inputs.exclude(position=GenerationInput.MASK_POSITION).count()

    @property
    def is_saving(self) -> bool:
        """Paid for and generated, waiting for storage to take its bytes. False when the
        view did not load the column (a poll's narrow query: one query per tile else)."""
        if self.status != Status.RUNNING or "saving_from" in self.get_deferred_fields():
            return False
        return bool(self.saving_from)

    @property
    def route_note(self) -> str:
        """Once done, what made it when it was rerouted ("made by gpt-image-2.6-all after
        gpt-image-2-vip failed twice, not billed"); "" otherwise, and when the view did
        not load the column."""
        if self.status in PENDING or "hops" in self.get_deferred_fields():
            return ""
        return route_hops.describe(self.hops, made=self.status == Status.SUCCEEDED)

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING

    @property
    def expected_seconds(self) -> catalog.Usual:
        """How long it usually takes, in seconds; rerouted while it runs, the time until
        its call went to the new route plus that route's own usual time."""
        if not self.rerouted_while_running:
            return catalog.expected_seconds(self.model)
        low, high = catalog.expected_seconds(self.route)
        if self.calling_since and self.started_at:
            before = max(0, int((self.calling_since - self.started_at).total_seconds()))
            low, high = before + low, before + high
        return catalog.Usual(low, high)

    @property
    def rerouted_while_running(self) -> bool:
        return (
            self.status == Status.RUNNING
            and self.route != self.model
            and self.route in catalog.MODELS
        )

    @property
    def tile_state(self) -> str:
        """What a pending tile sends with its id on each poll (studio/tiles.html): its
        status, and the route it went on to, so that a reroute redraws the tile (its
        usual time is the new route's)."""
        if self.rerouted_while_running:
            return f"{self.status}>{self.route}"
        return self.status

    @property
    def endpoint(self) -> str:
        """The gateway endpoint this kind of image is asked from."""
        if self.kind == Kind.EDIT:
            return catalog.EDITS
        if self.kind == Kind.CHAT:
            return catalog.CHAT
        return catalog.GENERATIONS

    @property
    def size_label(self) -> str:
        return catalog.size_label(self.model, self.size)

    @property
    def upstream_request_ids(self) -> list[str]:
        return self.request_ids.split()

    @property
    def elapsed_seconds(self) -> int:
        start = self.started_at or self.created_at
        end = self.finished_at or timezone.now()
        return max(0, int((end - start).total_seconds()))

    @property
    def slots_ahead(self) -> int:
        """About how many queued images will be sent before this one, while a cap on
        calls in flight (IMAGESTUDIO_UPSTREAM_MAX_IN_FLIGHT) makes images wait for a slot;
        0 otherwise. Its own user's older ones, and from each other user as many as the
        fair share takes meanwhile (one each per turn, one more from a user with fewer
        calls running). From a snapshot of the queue at most a second old, so a poll of
        many tiles costs no query per tile."""
        if self.status != Status.QUEUED or not settings.UPSTREAM_MAX_IN_FLIGHT:
            return 0
        queued, running = queue_snapshot()
        mine = bisect.bisect_left(queued.get(self.user_id, []), (self.created_at, self.pk))
        own = running.get(self.user_id, 0)
        return mine + sum(
            min(len(keys), mine + (1 if running.get(user, 0) < own else 0))
            for user, keys in queued.items()
            if user != self.user_id
        )

    # --- state changes --------------------------------------------------------------------
    # Each one that changes a row tells its owner's and its batch's pollers to look again
    # (studio.changes; after the commit): a poll of an unchanged page is then answered
    # without the database.
    def _changed(self) -> None:
        deferred = self.get_deferred_fields()
        if "user_id" in deferred or "batch_id" in deferred:
            Generation._changed_pk(self.pk)
        else:
            changes.changed(user_id=self.user_id, batch_id=self.batch_id)

    @classmethod
    def _changed_pk(cls, pk: int) -> None:
        row = cls.objects.filter(pk=pk).values_list("user_id", "batch_id").first()
        if row is not None:
            changes.changed(user_id=row[0], batch_id=row[1])

    @classmethod
    def take_fairly(cls, hint: int, *, threads_to_spare: bool = False) -> Generation | None:
        """Claim the job this delivery should run and return it (running), or None when
        no job is waiting.

        Every queued job has a message; whichever message a worker gets, it runs the
        job the fair share says is next: the hinted one while its user has no fewer calls
        running than any other user waiting, else the oldest job of the user with the
        fewest (so one image from a colleague does not wait behind a 200-image batch).
        Raises SlotsFull when IMAGESTUDIO_UPSTREAM_MAX_IN_FLIGHT calls are running.

        `threads_to_spare`: the delivering worker has a free thread besides this one, so
        it is taking every message the broker holds: no job waits for a thread, and the
        share has nothing to decide. The hinted job is then claimed without the gate,
        which every claim would otherwise wait for in turn (bench i: 200 claims in a row
        took 4 s, a quarter of the run, before the last call went out)."""
        if threads_to_spare and not settings.UPSTREAM_MAX_IN_FLIGHT and cls._start(hint):
            # The row the job runs from also says whose counters the claim moves: one
            # query fewer before each call (bench i makes 200 at once).
            job = cls.objects.get(pk=hint)
            changes.changed(user_id=job.user_id, batch_id=job.batch_id)
            return job
        with transaction.atomic():
            _lock_the_gate()
            cap = settings.UPSTREAM_MAX_IN_FLIGHT
            if cap and cls.objects.filter(status=Status.RUNNING).count() >= cap:
                raise SlotsFull
            while True:
                picked = cls._next_fair(hint)
                if picked is None:
                    return None
                if cls.claim(picked[0], owner=(picked[1], picked[2])):
                    break
                # A delivery with threads to spare claimed that job by its own message,
                # without the gate, since it was picked. This message still stands for a
                # queued job: given up here, that job would wait for the sweep's re-send
                # (bench i: 199 of 200 ended, one queued). Each lost race is another
                # job claimed, so this ends.
        # Read once the gate is open again: every other claim waits for it.
        return cls.objects.get(pk=picked[0])

    @classmethod
    def _next_fair(cls, hint: int) -> tuple[int, int, int] | None:
        """(pk, user id, batch id) of the job to claim. Every claim waits for the gate, so
        this asks as little as it can: the hinted job's user and batch ride on the count
        of each user's jobs (bench i: 200 claims in a row)."""
        rows = list(
            cls.objects.filter(status__in=PENDING)
            .values("user_id")
            .annotate(
                q=Count("id", filter=Q(status=Status.QUEUED)),
                r=Count("id", filter=Q(status=Status.RUNNING)),
                hinted_batch=Max("batch_id", filter=Q(pk=hint, status=Status.QUEUED)),
            )
            .order_by()
        )
        running = {row["user_id"]: row["r"] for row in rows if row["q"]}
        if not running:
            return None
        fewest = min(running.values())
        hinted = next((row for row in rows if row["hinted_batch"] is not None), None)
        if hinted is not None and running[hinted["user_id"]] == fewest:
            return hint, hinted["user_id"], hinted["hinted_batch"]
        users = [user for user, count in running.items() if count == fewest]
        return (
            cls.objects.filter(status=Status.QUEUED, user_id__in=users)
            .order_by("created_at", "id")
            .values_list("pk", "user_id", "batch_id")
            .first()
        )

    @classmethod
    def claim(cls, pk: int, owner: tuple[int, int] | None = None) -> bool:
        """queued → running. Only one delivery of a task wins; a duplicate changes nothing.
        `owner`: the job's (user id, batch id) when the caller knows them."""
        claimed = cls._start(pk)
        if claimed and owner is not None:
            changes.changed(user_id=owner[0], batch_id=owner[1])
        elif claimed:
            cls._changed_pk(pk)
        return claimed

    @classmethod
    def _start(cls, pk: int) -> bool:
        """The conditional update behind every claim; the caller moves the counters."""
        now = timezone.now()
        return (
            cls.objects.filter(pk=pk, status=Status.QUEUED).update(
                status=Status.RUNNING, started_at=now, heartbeat_at=now
            )
            == 1
        )

    def _write_attempt(self, record: AttemptRecord) -> None:
        """The ledger row and the counters kept beside it; inside the caller's transaction.

        The row lock orders this write with the sweep's (which may have billed this very
        call as lost a moment ago): the ledger then sees the other's row."""
        Generation.objects.select_for_update().filter(pk=self.pk).values_list("pk").first()
        row = ledger.record(
            record,
            generation_id=self.pk,
            user_id=self.user_id,
            team_id=self.team_id,
            size_asked=self.size,
        )
        counters: dict[str, Any] = {"attempts": F("attempts") + 1, "calling_since": None}
        if row.request_id:
            # Appended in SQL, not from this possibly stale instance.
            counters["request_ids"] = Concat(F("request_ids"), Value(row.request_id + "\n"))
        if row.billed:
            counters.update(cost_usd=F("cost_usd") + row.amount, billed=True)
            if row.output_tokens is not None:
                for name in ("text_tokens", "image_tokens", "output_tokens"):
                    counters[name] = Coalesce(F(name), 0) + (getattr(row, name) or 0)
            if row.usage_missing:
                counters["usage_missing"] = True
        Generation.objects.filter(pk=self.pk).update(**counters, **self._route_fields())

    def take_route(self, route: str, hops: list[dict[str, Any]]) -> None:
        """The job takes `route` next, after the routes in `hops` (see `hops`).

        Not written here: with this job's next write (its call going out, or the attempt
        that ends it), so that taking a route costs no transaction of its own."""
        self.route, self.hops = route, list(hops)
        self._route_taken = True

    def _route_fields(self) -> dict[str, Any]:
        # Only from the worker's instance, which took a route: a stale instance elsewhere
        # (a test's, the sweep's) must not write an old route back.
        if not getattr(self, "_route_taken", False):
            return {}
        return {"route": self.route, "hops": self.hops}

    def take_hop(
        self, failed: AttemptRecord, route: str, hops: list[dict[str, Any]]
    ) -> Budget | None:
        """The route failed, `failed` its last attempt: in one transaction that attempt
        goes in the ledger and the job moves on to `route`, after the routes in `hops`,
        unless a budget has no room for it (then returned, and `route` noted as not taken).

        The budget is asked after the failed attempt is written, so it sees its bill;
        the image itself is still reserved at its dearest route (budgets.hop_refusal).
        A hop taken also marks its call as going out (calling_since): the caller sends it
        next, and the first mark_calling after this writes nothing."""
        with transaction.atomic():
            self._write_attempt(failed)
            full = budgets.hop_refusal(self)
            fields: dict[str, Any] = {}
            if full is None:
                self.take_route(route, hops)
                fields["calling_since"] = timezone.now()
            else:
                self.take_route(self.route, [*hops, route_hops.over_budget(route, full).as_dict()])
            Generation.objects.filter(pk=self.pk).update(**fields, **self._route_fields())
            self._changed()
        self._calling_marked = full is None
        return full

    def mark_calling(self) -> None:
        """A request is about to go to the gateway (see calling_since), on the route the
        job took (written with it)."""
        if self.__dict__.pop("_calling_marked", False):
            # take_hop did, a moment ago: a hop's next call goes out after one write.
            return
        Generation.objects.filter(pk=self.pk).update(
            calling_since=timezone.now(), **self._route_fields()
        )

    def record_attempt(self, record: AttemptRecord) -> None:
        """An attempt that will be followed by another one (a retry or a 2K fallback)."""
        with transaction.atomic():
            self._write_attempt(record)
            # Its cost so far, on the batch page.
            self._changed()

    def finish_succeeded(
        self, record: AttemptRecord, *, stored: dict[str, Any], fell_back: bool
    ) -> bool:
        """running → succeeded, with the attempt that produced the image.

        Called only once the original and the thumbnail are on storage. The call was
        billed, so its ledger row is written whatever happened to the status meanwhile;
        and an image the sweep had given up on (`worker_lost`: a missed heartbeat while
        the call was still going) is revived, because it is paid for and on storage.
        False only when the row was deleted meanwhile: the caller drops the files."""
        fields = {
            "status": Status.SUCCEEDED,
            "finished_at": timezone.now(),
            "fell_back_to_2k": fell_back,
            "error_code": "",
            "error_params": {},
            **stored,
        }
        alive = Generation.objects.filter(pk=self.pk, deleted_at__isnull=True)
        with transaction.atomic():
            changed = alive.filter(
                Q(status=Status.RUNNING)
                | Q(status=Status.FAILED, error_code=FailureCode.WORKER_LOST)
            ).update(**fields)
            self._write_attempt(record)
            self._changed()
        return changed == 1

    def hold_for_saving(self, record: AttemptRecord, path: str) -> bool:
        """Storage refused a paid-for image: record the attempt (billed) and keep the job
        running with the path of its bytes on local disk, for the sweep to save."""
        with transaction.atomic():
            changed = Generation.objects.filter(pk=self.pk, status=Status.RUNNING).update(
                saving_from=path[:300]
            )
            self._write_attempt(record)
            self._changed()
        return changed == 1

    def finish_saved(self, *, stored: dict[str, Any]) -> bool:
        """running (being saved) → succeeded, once the sweep wrote the bytes; the attempt
        is in the ledger already. False when it was deleted meanwhile."""
        saved = (
            Generation.objects.filter(pk=self.pk, status=Status.RUNNING, deleted_at__isnull=True)
            .exclude(saving_from="")
            .update(
                status=Status.SUCCEEDED,
                finished_at=timezone.now(),
                saving_from="",
                error_code="",
                error_params={},
                **stored,
            )
            == 1
        )
        if saved:
            self._changed()
        return saved

    def finish_failed(
        self,
        record: AttemptRecord | None,
        *,
        code: str,
        params: dict[str, Any] | None = None,
        refused: bool = False,
        reply: str = "",
    ) -> bool:
        """running → failed | refused, with the attempt that ended it."""
        with transaction.atomic():
            changed = Generation.objects.filter(pk=self.pk, status=Status.RUNNING).update(
                status=Status.REFUSED if refused else Status.FAILED,
                finished_at=timezone.now(),
                error_code=code[:40],
                error_params=params or {},
                reply=reply,
                **self._route_fields(),
            )
            if record is not None:
                self._write_attempt(record)
            if changed or record is not None:
                self._changed()
        return changed == 1

    def cancel(self) -> bool:
        """queued → canceled. A running call cannot be taken back (it is billed anyway)."""
        canceled = (
            Generation.objects.filter(pk=self.pk, status=Status.QUEUED).update(
                status=Status.CANCELED,
                finished_at=timezone.now(),
                error_code=FailureCode.CANCELED,
                error_params={},
            )
            == 1
        )
        if canceled:
            self._changed()
        return canceled

    def soft_delete(self) -> None:
        """Hide from the gallery and remove the files; the row stays for the ledger.

        The row changes in one transaction (a queued job is canceled with it, so no worker
        starts it); the files go after it, outside: storage is slow I/O."""
        with transaction.atomic():
            row = (
                Generation.objects.select_for_update()
                .filter(pk=self.pk, deleted_at__isnull=True)
                .first()
            )
            if row is None:
                return
            row.cancel()
            names = [f.name for f in (row.image, row.thumbnail) if f and f.name]
            names += row._unshared_inputs()
            Generation.objects.filter(pk=self.pk).update(
                deleted_at=timezone.now(), image="", thumbnail=""
            )
            row._changed()
        storage = row.image.storage
        for name in names:
            storage.delete(name)

    def _unshared_inputs(self) -> list[str]:
        """Input files only this image used: the images of one batch, a retry and the
        studio form's staged pictures share the same files."""
        names = set(self.inputs.values_list("file", flat=True))
        if not names:
            return []
        shared = set(
            GenerationInput.objects.filter(file__in=names, generation__deleted_at__isnull=True)
            .exclude(generation_id=self.pk)
            .values_list("file", flat=True)
        )
        shared |= set(StagedInput.objects.filter(file__in=names).values_list("file", flat=True))
        return sorted(names - shared)

    @classmethod
    def sweep_stale(cls, limit: int = 500) -> int:
        """Running jobs whose worker stopped beating: failed, never re-run (that could
        bill twice), each with a billed `lost` ledger row for the call it was making
        (the gateway bills a client that went away) in the same transaction."""
        cutoff = timezone.now() - timedelta(seconds=settings.STALE_RUNNING_SECONDS)
        stale = list(
            cls.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff, saving_from="")
            .order_by("heartbeat_at")
            .values_list("pk", flat=True)[:limit]
        )
        return sum(1 for pk in stale if cls._fail_lost(pk, cutoff))

    @classmethod
    def _fail_lost(cls, pk: int, cutoff: Any) -> bool:
        with transaction.atomic():
            row = (
                cls.objects.select_for_update()
                .filter(pk=pk, status=Status.RUNNING, heartbeat_at__lt=cutoff, saving_from="")
                .first()
            )
            if row is None:
                # It finished, or beat its heart, since the list was read.
                return False
            now = timezone.now()
            cls.objects.filter(pk=pk).update(
                status=Status.FAILED,
                finished_at=now,
                error_code=FailureCode.WORKER_LOST,
                error_params={},
            )
            row._changed()
            if row.calling_since is None:
                # Lost before a request went out, or between two attempts: the gateway
                # has nothing to bill.
                return True
            since = row.calling_since
            # The call was on the route the job had moved to, if it was rerouted.
            route = row.route or row.model
            sized = catalog.MODELS[route].accepts_size and row.kind != Kind.CHAT
            row._write_attempt(
                ledger.lost_call(
                    number=row.attempts + 1,
                    model=route,
                    endpoint=row.endpoint,
                    size_sent=row.size if sized else "",
                    latency_ms=int((now - since).total_seconds() * 1000),
                    quality=catalog.quality_sent(route, row.quality),
                    inputs=row.input_count(),
                )
            )
        return True

    @classmethod
    def take_unsent(cls, limit: int = 500) -> list[int]:
        """Queued jobs whose message seems lost (sent long ago, never claimed); marks them
        sent again. A duplicate message is harmless: the claim lets one delivery through.

        A lost message costs at most REQUEUE_QUEUED_SECONDS (plus a sweep) of waiting. A job
        that is only waiting its turn in a long queue is sent again ever more rarely: once
        its last send is older than the time it had waited before that send (30 s, 1 min,
        2 min, 4 min … after submit), so hours in a queue add a handful of duplicates."""
        now = timezone.now()
        cutoff = now - timedelta(seconds=settings.REQUEUE_QUEUED_SECONDS)
        with transaction.atomic():
            rows = list(
                cls.objects.filter(status=Status.QUEUED, sent_at__lt=cutoff)
                .order_by("sent_at")
                .values_list("pk", "created_at", "sent_at")[:limit]
            )
            pks = [pk for pk, created, sent in rows if now - sent >= sent - created]
            cls.objects.filter(pk__in=pks, status=Status.QUEUED).update(sent_at=now)
        return pks

    @classmethod
    def heartbeat(cls, pks: list[int]) -> int:
        if not pks:
            return 0
        return cls.objects.filter(pk__in=pks, status=Status.RUNNING).update(
            heartbeat_at=timezone.now()
        )


class InputPicture(models.Model):
    """A picture as it is sent with an edit: compressed, on storage, with its sizes."""

    # A gallery image used as input (its parent); null for an upload.
    source = models.ForeignKey(
        Generation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    original_name = models.CharField(max_length=200, blank=True)
    original_bytes = models.PositiveBigIntegerField()
    # What is sent: compressed under catalog.INPUT_TARGET_BYTES, metadata stripped.
    file = models.FileField(upload_to="inputs/%Y/%m/", max_length=300)
    content_type = models.CharField(max_length=20)
    sent_bytes = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()

    PICTURE_FIELDS = (
        "source",
        "original_name",
        "original_bytes",
        "file",
        "content_type",
        "sent_bytes",
        "width",
        "height",
    )

    class Meta:
        abstract = True

    def picture(self) -> dict:
        """The picture's fields, to copy it onto another row (the file is shared: its
        name, not this row's FieldFile, which would be re-bound to the copy)."""
        fields = {name: getattr(self, name) for name in self.PICTURE_FIELDS}
        fields["file"] = self.file.name
        return fields


class GenerationInput(InputPicture):
    """One picture sent with an edit, in the order the prompt names them (image1, …)."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="inputs")
    # 1-based: image1, image2, …; the mask painted over image1 (studio.masks) is 0.
    position = models.PositiveSmallIntegerField()

    MASK_POSITION = 0

    class Meta:
        ordering = ["generation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "position"], name="input_position"),
        ]

    def __str__(self) -> str:
        return f"{self.name} of generation {self.generation_id}"

    @property
    def is_mask(self) -> bool:
        return self.position == self.MASK_POSITION

    @property
    def name(self) -> str:
        return "mask" if self.is_mask else f"image{self.position}"


class StagedInput(InputPicture):
    """A picture added to the studio form and already compressed, waiting for Generate.

    Staged at once so the form can show original → sent size before anything is spent;
    the sweep removes rows older than a day (and their files, unless an edit used them)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staged_inputs"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"staged input {self.pk} of {self.user_id}"

    @classmethod
    def sweep(cls, max_age: timedelta = timedelta(days=1)) -> int:
        """Forget stale staged pictures; keep any file an edit went on to use."""
        stale = list(cls.objects.filter(created_at__lt=timezone.now() - max_age)[:1000])
        if not stale:
            return 0
        names = {s.file.name for s in stale if s.file.name}
        used = set(GenerationInput.objects.filter(file__in=names).values_list("file", flat=True))
        cls.objects.filter(pk__in=[s.pk for s in stale]).delete()
        storage = stale[0].file.storage
        for name in names - used:
            storage.delete(name)
        return len(stale)
