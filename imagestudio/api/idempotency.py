"""Repeated submits cost once: POST /generations, /edits and /generations/{id}/iterate
honour an `Idempotency-Key` header.

The same key from the same user within 24 h gets the first 202 again (the same batch and
generation ids) and starts nothing; the same key with another body is a 409. The key is
claimed before the submit runs (a unique row), so two requests racing with one key make
one submit: the second is told the first is still being answered (409) and retries. A
submit that is refused (400, 402, 404) keeps nothing: the key can be used again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from imagestudio.api import messages
from imagestudio.api.contract import ApiError, api_json, invalid
from imagestudio.api.models import IdempotentRequest

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
MAX_KEY_CHARS = 200
PARAMETER = {
    HEADER: {
        "description": "Any string up to 200 characters (a UUID, say) naming this submit. "
        "Sent again with the same body within 24 h, the first answer comes back (the same "
        "ids) and nothing is generated or billed again; the same key with another body is "
        "a 409. Retry a submit whose answer you did not get with the same key.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS},
    }
}


def fingerprint(request: HttpRequest, scope: str) -> str:
    """What was asked, independent of how it was framed (a multipart boundary is random)."""
    digest = hashlib.sha256(f"{scope}\n{request.path}\n".encode())
    if request.content_type == "multipart/form-data":
        for name, values in sorted(request.POST.lists()):
            for value in values:
                digest.update(f"field {name}={value}\n".encode())
        for name, files in sorted(request.FILES.lists()):
            for upload in files:
                upload.seek(0)
                digest.update(f"file {name} ".encode() + hashlib.sha256(upload.read()).digest())
                upload.seek(0)
    else:
        digest.update(request.body)
    return digest.hexdigest()


def once(
    request: HttpRequest, scope: str, submit: Callable[[], HttpResponseBase]
) -> HttpResponseBase:
    """`submit()`, unless this user sent this Idempotency-Key before (see the module)."""
    key = request.headers.get(HEADER)
    if key is None:
        return submit()
    key = key.strip()
    if not 1 <= len(key) <= MAX_KEY_CHARS:
        raise invalid({HEADER: messages.idempotency_key_bad(MAX_KEY_CHARS)})
    user: Any = request.user
    print_ = fingerprint(request, scope)
    IdempotentRequest.objects.filter(
        user=user, key=key, created_at__lt=timezone.now() - KEEP
    ).delete()
    try:
        with transaction.atomic():
            claim = IdempotentRequest.objects.create(user=user, key=key, fingerprint=print_)
    except IntegrityError:
        first = IdempotentRequest.objects.filter(user=user, key=key).first()
        if first is not None and first.fingerprint != print_:
            raise ApiError(
                409, "idempotency_key_reused", messages.idempotency_key_reused()
            ) from None
        if first is None or first.answer is None:
            raise ApiError(409, "in_progress", messages.idempotency_in_progress()) from None
        return api_json(first.answer, status=202)
    try:
        response = submit()
    except BaseException:
        claim.delete()
        raise
    if response.status_code == 202:
        claim.answer = _json(response)
        claim.save(update_fields=["answer"])
    else:
        claim.delete()
    return response


def _json(response: HttpResponseBase) -> Any:
    return json.loads(getattr(response, "content", b"null"))
