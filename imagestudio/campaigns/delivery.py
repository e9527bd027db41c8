"""ZIP delivery: a batch, a board or a selection as one archive, streamed.

The archive is never built first, in memory or on disk: zipstream-ng writes each entry's
header, then the file's bytes as they are read from storage in chunks (from the local disk
or straight from the S3 object's body), then its descriptor. What the server holds at any
moment is one chunk plus the rows' metadata, whatever the number or size of the images,
so the first byte leaves after one query and the process's memory stays flat.

`manifest.csv` comes first (UTF-8 with BOM so Excel opens it; written by spend.csvsafe so no
prompt becomes a formula) and names each image as stored in the archive:
`<id>-<slug-of-prompt>.<ext>`, a Chinese prompt kept readable, and the AI-content labels
it carries (campaigns.labelling: the implicit ones always, the visible one by the user's or
the team's setting). Each copy is labelled as it streams: one image at a time, never the
board at once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC
from pathlib import PurePosixPath
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from zipstream import ZIP_STORED, ZipStream  # type: ignore[import-untyped]

from imagestudio.campaigns import labelling, marks
from imagestudio.campaigns.models import Board
from imagestudio.spend import csvsafe
from imagestudio.studio.models import Generation, Status

CHUNK = 256 * 1024
SLUG_CHARS = 40
MANIFEST = "manifest.csv"
COLUMNS = (
    "file",
    "id",
    "prompt",
    "prompt_sent",
    "model",
    "size_asked",
    "width",
    "height",
    "cost_usd",
    "request_ids",
    "created_at",
    "board",
    "starred",
    "labels",
    "content_id",
)
# What the manifest and the names need; never the image bytes' neighbours in the row.
FIELDS = (
    "id",
    "prompt",
    "style",
    "model",
    "size",
    "width",
    "height",
    "cost_usd",
    "request_ids",
    "created_at",
    "variables",
    "image",
    "team_id",
    "sha256",
)


def deliverable(generations: QuerySet[Generation]) -> QuerySet[Generation]:
    """The rows of `generations` that have an original to deliver."""
    return (
        generations.filter(deleted_at__isnull=True, status=Status.SUCCEEDED)
        .exclude(image="")
        .only(*FIELDS)
    )


def file_name(generation: Generation) -> str:
    ext = PurePosixPath(generation.image.name or "").suffix.lower() or ".png"
    words = slugify(generation.prompt[: SLUG_CHARS * 2], allow_unicode=True)[:SLUG_CHARS]
    words = words.strip("-_")
    return f"{generation.pk}-{words}{ext}" if words else f"{generation.pk}{ext}"


def _unique(names: Iterable[str]) -> list[str]:
    """Names as given, a later duplicate (the same row listed twice) numbered."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            path = PurePosixPath(name)
            candidate = f"{path.stem}-{n}{path.suffix}"
        seen.add(candidate)
        out.append(candidate)
    return out


def read_chunks(name: str, chunk: int = CHUNK) -> Iterator[bytes]:
    """A stored file's bytes, `chunk` at a time, opened only when first asked for (so the
    archive's entries are opened one after the other, never all at once)."""
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None:
        # S3: the object's body as it arrives. The storage's own File spools the whole
        # object into a temporary file before the first read.
        from storages.utils import clean_name  # type: ignore[import-untyped]

        key = default_storage._normalize_name(clean_name(name))  # type: ignore[attr-defined]
        body = bucket.Object(key).get()["Body"]
        try:
            yield from body.iter_chunks(chunk)
        finally:
            body.close()
        return
    with default_storage.open(name, "rb") as handle:
        while block := handle.read(chunk):
            yield block


def _manifest(header: list[str], rows: list[list[Any]]) -> Iterator[bytes]:
    first = True
    for line in csvsafe.lines(header, rows):
        yield (("\ufeff" if first else "") + line).encode("utf-8")
        first = False


def _board_names(rows: list[Generation], user: Any) -> dict[int, str]:
    ids = {pk for row in rows for pk in marks.board_ids(row, user)}
    if not ids:
        return {}
    found = Board.objects.viewable_by(user).filter(pk__in=ids).values_list("pk", "name")
    return dict(found)


def archive(
    generations: QuerySet[Generation], *, user: Any, board: Board | None = None
) -> ZipStream:
    """The archive, ready to stream: the rows are read now (one query for them, two for the
    caller's marks, one for board names), the files only while it streams."""
    rows = list(marks.with_marks(deliverable(generations), user))
    names = _unique(file_name(row) for row in rows)
    variables: list[str] = []
    for row in rows:
        for key in row.variables or {}:
            if key not in variables:
                variables.append(str(key))
    board_names = {} if board is not None else _board_names(rows, user)
    visible = labelling.wants_visible(user, {row.team_id for row in rows})
    table = []
    for name, row in zip(names, rows, strict=True):
        on = (
            board.name
            if board is not None
            else "; ".join(
                board_names[pk] for pk in marks.board_ids(row, user) if pk in board_names
            )
        )
        values = row.variables or {}
        table.append(
            [
                name,
                row.pk,
                row.prompt,
                row.prompt_sent,
                row.model,
                row.size,
                row.width,
                row.height,
                row.cost_usd,
                row.request_ids,
                row.created_at.astimezone(UTC).isoformat(),
                on,
                "true" if marks.starred(row, user) else "false",
                " ".join(labelling.labels(row.team_id in visible)),
                labelling.content(row).content_id,
                *[values.get(key, "") for key in variables],
            ]
        )
    # Stored, not deflated: PNG and JPEG are compressed already, and storing keeps the
    # throughput at what storage can deliver.
    stream = ZipStream(compress_type=ZIP_STORED)
    stream.add(_manifest([*COLUMNS, *variables], table), MANIFEST)
    for name, row in zip(names, rows, strict=True):
        copy = labelling.labelled_chunks(
            row, read_chunks(row.image.name), visible=row.team_id in visible
        )
        stream.add(copy, name)
    return stream


def zip_response(
    generations: QuerySet[Generation],
    *,
    user: Any,
    filename: str,
    board: Board | None = None,
    status: int = 200,
) -> StreamingHttpResponse:
    """A streamed ZIP download of the deliverable images of `generations` (which the caller
    has already limited to what `user` may see) with its manifest.csv. `filename` without
    ".zip"; a Chinese name stays readable (RFC 6266 filename*). `status` is there so the
    API's contract test sees the 200 its operations answer with."""
    stream = archive(generations, user=user, board=board)
    response = StreamingHttpResponse(stream, content_type="application/zip", status=status)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{filename}.zip"
    )
    response["Cache-Control"] = "private, no-store"
    # Proxies (nginx) pass the bytes on as they come instead of buffering the archive.
    response["X-Accel-Buffering"] = "no"
    return response


def archive_name(text: str, fallback: str) -> str:
    """A download's name from a board's name or the like: readable, safe in a header."""
    return slugify(text, allow_unicode=True)[:60].strip("-_") or fallback
