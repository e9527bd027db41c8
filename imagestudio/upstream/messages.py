"""Every sentence a designer reads about a gateway call that ended without a picture: the
failure itself, what it cost, and why a result could not be downloaded or read. The
studio's own failures (worker lost, storage, canceled) are in studio.messages.

Functions, so each sentence is translated in the language active when it is said. The
client says them in the worker, and the studio stores the result with the image, so the
worker's language is the one a designer later reads."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imagestudio.upstream.types import AttemptRecord, FailureCode

# -- pieces the failure sentences are made of ----------------------------------------------


def tries(count: int) -> str:
    return ngettext("%(count)s try", "%(count)s tries", count) % {"count": count}


def _billed(attempts: Sequence[AttemptRecord]) -> str:
    """What the gateway billed across the tries, or "" when it billed nothing."""
    billed = [a for a in attempts if a.billed]
    if not billed:
        return ""
    total = sum((a.amount for a in billed), Decimal("0"))
    if len(attempts) == 1:
        return _("The gateway billed this call ($%(total)s).") % {"total": total}
    return ngettext(
        "The gateway billed %(billed)s of the %(count)s try ($%(total)s in all).",
        "The gateway billed %(billed)s of the %(count)s tries ($%(total)s in all).",
        len(attempts),
    ) % {"billed": len(billed), "count": len(attempts), "total": total}


def billing(attempts: Sequence[AttemptRecord]) -> str:
    return _billed(attempts) or _("Nothing was billed.")


def _quoted(text: str) -> str:
    return _("“%(text)s”") % {"text": text}


# -- why an image ended without a picture, one function per failure code -------------------


def content_policy(attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The gateway's content policy blocked this prompt. %(billing)s Change the prompt and "
        "try again."
    ) % {"billing": _billed(attempts) or _("It was not billed.")}


def moderation(attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The gateway's safety filter refused this prompt. %(billing)s Rephrase the prompt and "
        "try again."
    ) % {"billing": billing(attempts)}


def invalid_request(http_status: int | None, detail: str, attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The gateway rejected the request as invalid (HTTP %(status)s): “%(detail)s”. "
        "%(billing)s Change the prompt or settings; if it keeps happening, tell an admin."
    ) % {"status": http_status, "detail": detail, "billing": billing(attempts)}


def invalid_input(detail: str, attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The gateway could not read one of the input images: “%(detail)s”. %(billing)s "
        "Replace that picture (PNG, JPEG or WebP) and try again."
    ) % {"detail": detail, "billing": billing(attempts)}


def input_error(attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The gateway failed while reading the input images (shell_api_error / “Unknown "
        "error”, still after %(tries)s). %(billing)s Its documentation says this is most "
        "often caused by oversized inputs: the studio already sends each one under 1.5 MB, "
        "so try fewer input images, or simpler, smaller pictures, then press Retry."
    ) % {"tries": tries(len(attempts)), "billing": billing(attempts)}


def auth(attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The studio's gateway key was rejected. %(billing)s Ask an admin to check "
        "IMAGESTUDIO_API_KEY."
    ) % {"billing": billing(attempts)}


def quota(attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The studio's gateway account is out of credit. %(billing)s Ask an admin to top up "
        "the gateway balance, then press Retry."
    ) % {"billing": billing(attempts)}


def saturated(attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The gateway is overloaded right now (still after %(tries)s). %(billing)s Wait a few "
        "minutes and press Retry."
    ) % {"tries": tries(len(attempts)), "billing": billing(attempts)}


def upstream_error(http_status: int | None, attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The gateway had an internal error (HTTP %(status)s, still after %(tries)s). "
        "%(billing)s Press Retry in a few minutes."
    ) % {"status": http_status, "tries": tries(len(attempts)), "billing": billing(attempts)}


def timeout(seconds: float, attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The gateway did not deliver an image within %(seconds)s s (%(tries)s). It bills "
        "calls it was working on even when the answer never arrives. %(billing)s Press Retry "
        "to try again."
    ) % {"seconds": f"{seconds:g}", "tries": tries(len(attempts)), "billing": billing(attempts)}


def connection_error(attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The studio could not reach the gateway (%(tries)s). %(billing)s Press Retry in a few "
        "minutes; if it persists, ask an admin to check the network and "
        "IMAGESTUDIO_API_BASE_URL."
    ) % {"tries": tries(len(attempts)), "billing": billing(attempts)}


def soft_refusal(words: str, attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The model declined and answered with text instead of an image: %(words)s. Text "
        "answers are billed like images. %(billing)s Rephrase the prompt (starting it with "
        "“Generate an image:” can help) and try again."
    ) % {"words": _quoted(words) if words else _("(no text)"), "billing": billing(attempts)}


def download_failed(reason: str, attempts: Sequence[AttemptRecord]) -> str:
    return _(
        "The image was generated but the studio could not download it: %(reason)s. "
        "%(billing)s Press Retry to generate it again."
    ) % {"reason": reason, "billing": billing(attempts)}


def unreadable_answer(reason: str, attempts: Sequence[AttemptRecord]) -> str:
    return _("The gateway answered, but %(reason)s. %(billing)s Press Retry to try again.") % {
        "reason": reason or answer_unreadable(),
        "billing": billing(attempts),
    }


def failure(
    code: FailureCode,
    attempts: Sequence[AttemptRecord],
    *,
    http_status: int | None,
    detail: str,
    reason: str,
    timeout_seconds: float,
) -> str:
    """The sentence for a failed call. `detail` is the gateway's words (already shortened),
    `reason` one of the reasons below (download and unreadable answers)."""
    match code:
        case FailureCode.CONTENT_POLICY:
            return content_policy(attempts)
        case FailureCode.MODERATION:
            return moderation(attempts)
        case FailureCode.INVALID_REQUEST:
            return invalid_request(http_status, detail, attempts)
        case FailureCode.INVALID_INPUT:
            return invalid_input(detail, attempts)
        case FailureCode.INPUT_ERROR:
            return input_error(attempts)
        case FailureCode.AUTH:
            return auth(attempts)
        case FailureCode.QUOTA:
            return quota(attempts)
        case FailureCode.SATURATED:
            return saturated(attempts)
        case FailureCode.UPSTREAM_ERROR:
            return upstream_error(http_status, attempts)
        case FailureCode.TIMEOUT:
            return timeout(timeout_seconds, attempts)
        case FailureCode.CONNECTION_ERROR | FailureCode.GATEWAY_UNREACHABLE:
            # Every base failed before the request was sent: unbilled, a network matter.
            return connection_error(attempts)
        case FailureCode.SOFT_REFUSAL:
            return soft_refusal(detail, attempts)
        case FailureCode.DOWNLOAD_FAILED:
            return download_failed(reason, attempts)
        case _:
            return unreadable_answer(reason, attempts)


# -- reasons: the end of "could not download it: …" / "The gateway answered, but …" ---------
# Also written to the ledger row and the worker log, with the link or the exception.


def answer_unreadable() -> str:
    return _("its answer could not be read")


def answer_garbled() -> str:
    return _("its answer arrived garbled")


def answer_unexpected_status(http_status: int) -> str:
    return _("it answered with an unexpected HTTP status %(status)s") % {"status": http_status}


def answer_not_decodable() -> str:
    return _("the image it sent could not be decoded")


def link_too_many_redirects() -> str:
    return _("too many redirects")


def link_status(http_status: int) -> str:
    return _("the image link answered HTTP %(status)s") % {"status": http_status}


def link_too_large(limit_bytes: int) -> str:
    return _("the image is larger than the %(limit)s-byte limit") % {"limit": limit_bytes}


def link_too_slow() -> str:
    return _("the download took too long")


def link_empty() -> str:
    return _("the image link returned an empty body")


def link_invalid() -> str:
    return _("the gateway sent an invalid image link")


def link_refused() -> str:
    return _("the image link pointed inside a private network, where the studio does not fetch")


def link_not_fetched() -> str:
    return _("the gateway sent an image link the studio does not fetch (not https)")
