"""Plain factory functions for the suite's rows: users, teams, generations, pictures, ledger
rows and API tokens. One home, so a model change is fixed here once and not in eleven files.

Each takes the fields a test cares about and fills the rest with values the models accept;
anything else goes through `**fields` to the model as it is."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from imagestudio import catalog
from imagestudio.api.models import ApiToken
from imagestudio.campaigns.models import Board, BoardItem, Kit, KitPicture, Star
from imagestudio.spend.models import Attempt, Budget, Membership, Team
from imagestudio.studio import imaging, inputs
from imagestudio.studio.models import Batch, Generation, GenerationInput, Kind, StagedInput, Status
from imagestudio.upstream.types import BILLED_OUTCOMES

PASSWORD = "correct horse battery staple"
PRICE = Decimal("0.03")


# -- users and teams -----------------------------------------------------------------------


def make_user(
    username: str | None = None,
    *,
    staff: bool = False,
    superuser: bool = False,
    password: str = PASSWORD,
    email: str | None = None,
    **fields,
):
    """A user who can sign in with `password`; a unique name unless one is given."""
    username = username or f"user-{uuid.uuid4().hex[:8]}"
    email = f"{username}@example.com" if email is None else email
    model = get_user_model()
    if superuser:
        return model.objects.create_superuser(username, email, password, **fields)
    return model.objects.create_user(username, email, password, is_staff=staff, **fields)


def make_team(name: str = "Design", *members) -> Team:
    team = Team.objects.create(name=name)
    for user in members:
        Membership.objects.create(team=team, user=user)
    return team


def make_budget(cap: str | Decimal, *, team: Team | None = None, user=None) -> Budget:
    """A monthly cap for the team, the user, or (neither given) the whole studio."""
    scope = "team" if team is not None else "user" if user is not None else "global"
    return Budget.objects.create(scope=scope, team=team, user=user, monthly_cap=Decimal(cap))


def make_token(user, name: str = "") -> tuple[ApiToken, str]:
    """An API token row and its raw secret (only the hash is stored)."""
    return ApiToken.issue(user, name)


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


# -- pictures ------------------------------------------------------------------------------


def picture_bytes(
    fmt: str = "JPEG",
    size: tuple[int, int] = (64, 48),
    color: tuple[int, ...] = (200, 30, 30),
    mode: str = "RGB",
) -> bytes:
    """A real, decodable image file of one colour (a JPEG, as most photos are)."""
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt)
    return out.getvalue()


def stored_picture(**picture) -> dict:
    """A picture written to storage as a finished generation's image and thumbnail; the
    model fields (image, thumbnail, width, height, bytes, sha256)."""
    return imaging.store(picture_bytes(**picture))


# -- generations ---------------------------------------------------------------------------


def make_generation(
    user,
    *,
    status: str = Status.QUEUED,
    model: str = catalog.VIP,
    size: str | None = None,
    prompt: str = "a lighthouse",
    team: Team | None = None,
    batch: Batch | None = None,
    kind: str = Kind.GENERATE,
    with_files: bool = False,
    **fields,
) -> Generation:
    """One generation in its own batch (or `batch`). `size` defaults to the model's default
    (none for -all); `with_files` stores a real image and thumbnail, as a finished job has."""
    if size is None:
        size = "" if model == catalog.ALL else catalog.DEFAULT_VIP_SIZE
    fields.setdefault("size_tier", catalog.size_tier(model, size))
    if with_files:
        for name, value in stored_picture(size=(96, 96)).items():
            fields.setdefault(name, value)
    batch = batch or Batch.objects.create(user=user, team=team)
    return Generation.objects.create(
        user=user,
        batch=batch,
        team=team,
        kind=kind,
        model=model,
        prompt=prompt,
        size=size,
        status=status,
        **fields,
    )


def make_finished(user, **fields) -> Generation:
    """A succeeded generation with its files on storage, fit to be an edit's input."""
    fields.setdefault("finished_at", timezone.now())
    return make_generation(user, status=Status.SUCCEEDED, with_files=True, **fields)


def make_generations(user, n: int, *, start: datetime | None = None, **fields) -> list[Generation]:
    """n generations of one batch, one second apart, the last one newest (bulk: no files)."""
    start = start or timezone.now() - timedelta(days=1)
    model = fields.pop("model", catalog.ALL)
    size = fields.pop("size", "" if model == catalog.ALL else catalog.DEFAULT_VIP_SIZE)
    prompt = fields.pop("prompt", None)
    defaults = {
        "size_tier": catalog.size_tier(model, size),
        "status": Status.SUCCEEDED,
        "thumbnail": "thumbs/t.webp",
        "image": "images/i.png",
    }
    batch = Batch.objects.create(user=user, team=fields.get("team"))
    return Generation.objects.bulk_create(
        Generation(
            user=user,
            batch=batch,
            model=model,
            size=size,
            prompt=prompt or f"picture number {i}",
            created_at=start + timedelta(seconds=i),
            **{**defaults, **fields},
        )
        for i in range(n)
    )


def _input_fields(data: bytes | None, name: str, source: Generation | None) -> dict:
    prepared = inputs.prepare(data if data is not None else picture_bytes("JPEG"), name)
    stored = default_storage.save(
        f"inputs/test/{uuid.uuid4().hex}.{prepared.extension}", ContentFile(prepared.data)
    )
    return {
        "source": source,
        "original_name": name,
        "original_bytes": prepared.original_bytes,
        "file": stored,
        "content_type": prepared.content_type,
        "sent_bytes": prepared.sent_bytes,
        "width": prepared.width,
        "height": prepared.height,
    }


def make_input(
    generation: Generation,
    position: int = 1,
    data: bytes | None = None,
    *,
    name: str = "input.jpg",
    source: Generation | None = None,
) -> GenerationInput:
    """One compressed input picture of an edit, stored as the studio stores it."""
    return GenerationInput.objects.create(
        generation=generation, position=position, **_input_fields(data, name, source)
    )


def make_staged(user, data: bytes | None = None, *, name: str = "staged.jpg") -> StagedInput:
    """A picture staged in the studio form, already compressed."""
    return StagedInput.objects.create(user=user, **_input_fields(data, name, None))


# -- campaigns: kits, boards, stars ----------------------------------------------------------


def make_kit(
    user,
    name: str = "Summer brand",
    *,
    team: Team | None = None,
    model: str = catalog.VIP,
    size: str = catalog.DEFAULT_VIP_SIZE,
    style: str = "",
    pictures: int = 0,
    **fields,
) -> Kit:
    """A brand kit (personal unless `team` is given) with `pictures` stored reference
    pictures, as image1, image2."""
    kit = Kit.objects.create(
        name=name, team=team, created_by=user, model=model, size=size, style=style, **fields
    )
    for position in range(1, pictures + 1):
        KitPicture.objects.create(
            kit=kit, position=position, **_input_fields(None, f"ref{position}.jpg", None)
        )
    return kit


def make_board(
    user, name: str = "Summer sale 2027", *, team: Team | None = None, items=()
) -> Board:
    """A board (personal unless `team` is given) holding `items` (generations)."""
    board = Board.objects.create(name=name, team=team, created_by=user)
    for generation in items:
        BoardItem.objects.create(board=board, generation=generation, added_by=user)
    return board


def make_star(user, generation: Generation) -> Star:
    return Star.objects.create(user=user, generation=generation)


# -- the spend ledger ----------------------------------------------------------------------


def make_attempt(
    user,
    outcome: str = "image",
    *,
    generation: Generation | None = None,
    team: Team | None = None,
    model: str = catalog.VIP,
    tier: str = "2k",
    amount: str | Decimal | None = None,
    when: datetime | None = None,
    number: int = 1,
    latency: int = 1000,
    request_id: str = "",
    endpoint: str = "images/generations",
    **fields,
) -> Attempt:
    """One ledger row, billed by the gateway's rules for its outcome; `when` backdates it."""
    billed = fields.pop("billed", outcome in BILLED_OUTCOMES)
    if amount is None:
        amount = PRICE if billed else Decimal("0")
    row = Attempt.objects.create(
        user=user,
        team=team,
        generation=generation,
        number=number,
        model=model,
        endpoint=endpoint,
        size_tier=tier,
        request_id=request_id,
        latency_ms=latency,
        outcome=outcome,
        billed=billed,
        amount=Decimal(amount),
        **fields,
    )
    if when is not None:
        # created_at is auto_now_add: backdating is a queryset update, for tests only.
        Attempt.objects.filter(pk=row.pk).update(created_at=when)
        row.created_at = when
    return row
