"""Every sentence a designer reads about a gateway call that ended without a picture: the
failure itself, what it cost, and why a result could not be downloaded or read. The
studio's own failures (worker lost, storage, canceled) are in studio.messages.

Functions, so each sentence is translated in the language active when it is said. The
worker never says them: the client hands back the failure's code and its parameters
(`failure_params`, plain JSON stored with the image), and `explain` in studio.messages
renders the sentence in the reader's language each time a page or the API shows it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imagestudio.upstream.types import FailureCode


class Billable(Protocol):
    """What the sentences need of an attempt: an AttemptRecord, or one read back from the
    parameters stored with a failed image."""

    @property
    def billed(self) -> bool: ...

    @property
    def amount(self) -> Decimal: ...


@dataclass(frozen=True)
class StoredTry:
    billed: bool
    amount: Decimal


@dataclass(frozen=True)
class Reason:
    """Why a result could not be downloaded or read, as a key and its numbers: said in the
    reader's language when shown (`str()` says it in the active one, for the ledger and
    the worker log)."""

    key: str
    args: Mapping[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return _reason_text(self.key, self.args)


# -- pieces the failure sentences are made of ----------------------------------------------


def tries(count: int) -> str:
    return ngettext("%(count)s try", "%(count)s tries", count) % {"count": count}


def _billed(attempts: Sequence[Billable]) -> str:
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


def billing(attempts: Sequence[Billable]) -> str:
    return _billed(attempts) or _("Nothing was billed.")


def _quoted(text: str) -> str:
    return _("“%(text)s”") % {"text": text}


# -- why an image ended without a picture, one function per failure code -------------------


def content_policy(attempts: Sequence[Billable]) -> str:
    return _(
        "The gateway's content policy blocked this prompt. %(billing)s Change the prompt and "
        "try again."
    ) % {"billing": _billed(attempts) or _("It was not billed.")}


def moderation(attempts: Sequence[Billable]) -> str:
    return _(
        "The gateway's safety filter refused this prompt. %(billing)s Rephrase the prompt and "
        "try again."
    ) % {"billing": billing(attempts)}


def invalid_request(http_status: int | None, detail: str, attempts: Sequence[Billable]) -> str:
    return _(
        "The gateway rejected the request as invalid (HTTP %(status)s): “%(detail)s”. "
        "%(billing)s Change the prompt or settings; if it keeps happening, tell an admin."
    ) % {"status": http_status, "detail": detail, "billing": billing(attempts)}


def invalid_input(detail: str, attempts: Sequence[Billable]) -> str:
    return _(
        "The gateway could not read one of the input images: “%(detail)s”. %(billing)s "
        "Replace that picture (PNG, JPEG or WebP) and try again."
    ) % {"detail": detail, "billing": billing(attempts)}


def input_error(attempts: Sequence[Billable]) -> str:
    return _(
        "The gateway failed while reading the input images (shell_api_error / “Unknown "
        "error”, still after %(tries)s). %(billing)s Its documentation says this is most "
        "often caused by oversized inputs: the studio already sends each one under 1.5 MB, "
        "so try fewer input images, or simpler, smaller pictures, then press Retry."
    ) % {"tries": tries(len(attempts)), "billing": billing(attempts)}


def auth(attempts: Sequence[Billable]) -> str:
    return _(
        "The studio's gateway key was rejected. %(billing)s Ask an admin to check "
        "IMAGESTUDIO_API_KEY."
    ) % {"billing": billing(attempts)}


def quota(attempts: Sequence[Billable]) -> str:
    return _(
        "The studio's gateway account is out of credit. %(billing)s Ask an admin to top up "
        "the gateway balance, then press Retry."
    ) % {"billing": billing(attempts)}


def saturated(attempts: Sequence[Billable]) -> str:
    return _(
        "The gateway is overloaded right now (still after %(tries)s). %(billing)s Wait a few "
        "minutes and press Retry."
    ) % {"tries": tries(len(attempts)), "billing": billing(attempts)}


def upstream_error(http_status: int | None, attempts: Sequence[Billable]) -> str:
    return _(
        "The gateway had an internal error (HTTP %(status)s, still after %(tries)s). "
        "%(billing)s Press Retry in a few minutes."
    ) % {"status": http_status, "tries": tries(len(attempts)), "billing": billing(attempts)}


def timeout(seconds: float, attempts: Sequence[Billable]) -> str:
    return _(
        "The gateway did not deliver an image within %(seconds)s s (%(tries)s). It bills "
        "calls it was working on even when the answer never arrives. %(billing)s Press Retry "
        "to try again."
    ) % {"seconds": f"{seconds:g}", "tries": tries(len(attempts)), "billing": billing(attempts)}


def connection_error(attempts: Sequence[Billable]) -> str:
    return _(
        "The studio could not reach the gateway (%(tries)s). %(billing)s Press Retry in a few "
        "minutes; if it persists, ask an admin to check the network and "
        "IMAGESTUDIO_API_BASE_URL."
    ) % {"tries": tries(len(attempts)), "billing": billing(attempts)}


def soft_refusal(words: str, attempts: Sequence[Billable]) -> str:
    return _(
        "The model declined and answered with text instead of an image: %(words)s. Text "
        "answers are billed like images. %(billing)s Rephrase the prompt (starting it with "
        "“Generate an image:” can help) and try again."
    ) % {"words": _quoted(words) if words else _("(no text)"), "billing": billing(attempts)}


def download_failed(reason: Reason | str, attempts: Sequence[Billable]) -> str:
    return _(
        "The image was generated but the studio could not download it: %(reason)s. "
        "%(billing)s Press Retry to generate it again."
    ) % {"reason": reason or Reason("link_failed"), "billing": billing(attempts)}


def unreadable_answer(reason: Reason | str, attempts: Sequence[Billable]) -> str:
    return _("The gateway answered, but %(reason)s. %(billing)s Press Retry to try again.") % {
        "reason": reason or answer_unreadable(),
        "billing": billing(attempts),
    }


def failure(
    code: FailureCode,
    attempts: Sequence[Billable],
    *,
    http_status: int | None,
    detail: str,
    reason: Reason | str,
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


def answer_unreadable() -> Reason:
    return Reason("answer_unreadable")


def answer_garbled() -> Reason:
    return Reason("answer_garbled")


def answer_unexpected_status(http_status: int) -> Reason:
    return Reason("answer_unexpected_status", {"status": http_status})


def answer_not_decodable() -> Reason:
    return Reason("answer_not_decodable")


def answer_too_large(limit_bytes: int) -> Reason:
    return Reason("answer_too_large", {"limit": limit_bytes})


def link_too_many_redirects() -> Reason:
    return Reason("link_too_many_redirects")


def link_status(http_status: int) -> Reason:
    return Reason("link_status", {"status": http_status})


def link_too_large(limit_bytes: int) -> Reason:
    return Reason("link_too_large", {"limit": limit_bytes})


def link_too_slow() -> Reason:
    return Reason("link_too_slow")


def link_empty() -> Reason:
    return Reason("link_empty")


def link_invalid() -> Reason:
    return Reason("link_invalid")


def link_refused() -> Reason:
    return Reason("link_refused")


def link_not_fetched() -> Reason:
    return Reason("link_not_fetched")


def _reason_text(key: str, args: Mapping[str, Any]) -> str:
    match key:
        case "answer_garbled":
            return _("its answer arrived garbled")
        case "answer_unexpected_status":
            return _("it answered with an unexpected HTTP status %(status)s") % {
                "status": args.get("status")
            }
        case "answer_not_decodable":
            return _("the image it sent could not be decoded")
        case "answer_too_large":
            return _("its answer was larger than the %(limit)s-byte limit") % {
                "limit": args.get("limit")
            }
        case "link_too_many_redirects":
            return _("too many redirects")
        case "link_status":
            return _("the image link answered HTTP %(status)s") % {"status": args.get("status")}
        case "link_too_large":
            return _("the image is larger than the %(limit)s-byte limit") % {
                "limit": args.get("limit")
            }
        case "link_too_slow":
            return _("the download took too long")
        case "link_empty":
            return _("the image link returned an empty body")
        case "link_invalid":
            return _("the gateway sent an invalid image link")
        case "link_refused":
            return _(
                "the image link pointed inside a private network, where the studio does not fetch"
            )
        case "link_not_fetched":
            return _("the gateway sent an image link the studio does not fetch (not https)")
        case "link_failed":
            return _("the image link could not be fetched")
        case _:
            return _("its answer could not be read")


# -- what is stored with a failed image, and the sentence read back from it -----------------


# The codes whose sentence quotes the gateway's words; no other keeps them.
QUOTING = frozenset(
    {FailureCode.INVALID_REQUEST, FailureCode.INVALID_INPUT, FailureCode.SOFT_REFUSAL}
)


def failure_params(
    code: FailureCode,
    attempts: Sequence[Billable],
    *,
    http_status: int | None,
    detail: str,
    reason: Reason | str,
    timeout_seconds: float,
) -> dict[str, Any]:
    """The numbers and words `failure()` needs, as JSON: stored with the image instead of a
    sentence, so each reader gets it in their own language. `detail` is the gateway's
    words (quoted as they came), a str `reason` a network error's technical name."""
    params: dict[str, Any] = {
        "tries": len(attempts),
        "billed": [str(a.amount) for a in attempts if a.billed],
    }
    if http_status is not None:
        params["http_status"] = http_status
    if detail and code in QUOTING:
        params["detail"] = detail
    if isinstance(reason, Reason):
        params["reason"] = reason.key
        if reason.args:
            params["reason_args"] = dict(reason.args)
    elif reason:
        params["reason_text"] = reason
    if timeout_seconds and code == FailureCode.TIMEOUT:
        params["timeout"] = timeout_seconds
    return params


def stored_tries(params: Mapping[str, Any]) -> list[StoredTry]:
    billed = [_decimal(amount) for amount in params.get("billed") or []]
    count = max(_int(params.get("tries")), len(billed), 1)
    return [StoredTry(True, amount) for amount in billed] + [
        StoredTry(False, Decimal("0")) for _ in range(count - len(billed))
    ]


def stored_reason(params: Mapping[str, Any]) -> Reason | str:
    if params.get("reason"):
        return Reason(str(params["reason"]), dict(params.get("reason_args") or {}))
    return str(params.get("reason_text") or "")


def from_params(code: FailureCode, params: Mapping[str, Any]) -> str:
    """The sentence for a failed call, in the active language, from `failure_params`."""
    status = params.get("http_status")
    return failure(
        code,
        stored_tries(params),
        http_status=status if isinstance(status, int) else None,
        detail=str(params.get("detail") or ""),
        reason=stored_reason(params),
        timeout_seconds=float(params.get("timeout") or 0),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("0")
