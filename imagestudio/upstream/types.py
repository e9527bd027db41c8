"""What the gateway client hands back to its callers: one record per attempt, one result."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from django.db import models
from django.utils.translation import gettext_lazy


class Outcome(models.TextChoices):
    """How one attempt ended, as written to the spend ledger."""

    IMAGE = "image", gettext_lazy("Image")  # 200 with an image (billed)
    BAD_IMAGE = (
        "bad_image",
        gettext_lazy("Unreadable image"),
    )  # 200, bytes not an image (billed anyway)
    DOWNLOAD_FAILED = (
        "download_failed",
        gettext_lazy("Download failed"),
    )  # 200 with a url we could not fetch
    SOFT_REFUSAL = (
        "soft_refusal",
        gettext_lazy("Soft refusal"),
    )  # 200 with text and no image (billed)
    TIMEOUT = (
        "timeout",
        gettext_lazy("Timeout"),
    )  # no answer in time, or dropped mid-answer (billed)
    CONNECTION_ERROR = (
        "connection_error",
        gettext_lazy("Connection error"),
    )  # never reached it (not billed)
    REJECTED = (
        "rejected",
        gettext_lazy("Rejected"),
    )  # 400/401/403/451: request or prompt refused (not billed)
    SATURATED = "saturated", gettext_lazy("Saturated")  # 429 (not billed)
    CONTENT_POLICY = (
        "content_policy",
        gettext_lazy("Content policy"),
    )  # 500 content-policy block (not billed)
    UPSTREAM_ERROR = "upstream_error", gettext_lazy("Gateway error")  # other 5xx (not billed)
    # The worker died mid-call: the gateway bills a client that went away (billed).
    LOST = "lost", gettext_lazy("Lost with its worker")
    # A base URL that provably never got the request (refused, DNS, TLS, connect
    # timeout): failed over to the next base (not billed).
    UNREACHABLE = "unreachable", gettext_lazy("Unreachable")


BILLED_OUTCOMES = frozenset(
    {
        Outcome.IMAGE,
        Outcome.BAD_IMAGE,
        Outcome.DOWNLOAD_FAILED,
        Outcome.SOFT_REFUSAL,
        Outcome.TIMEOUT,
        Outcome.LOST,
    }
)


class FailureCode(models.TextChoices):
    """Why an image ended without a picture: `Generation.error_code` and the API's
    `error.code`. The wording a person reads for each is in the messages modules."""

    # From the gateway client.
    CONTENT_POLICY = "content_policy", gettext_lazy("Content policy")
    MODERATION = "moderation", gettext_lazy("Safety filter")
    INVALID_REQUEST = "invalid_request", gettext_lazy("Invalid request")
    AUTH = "auth", gettext_lazy("Key rejected")
    QUOTA = "quota", gettext_lazy("Out of credit")
    SATURATED = "saturated", gettext_lazy("Gateway overloaded")
    UPSTREAM_ERROR = "upstream_error", gettext_lazy("Gateway error")
    TIMEOUT = "timeout", gettext_lazy("Timeout")
    CONNECTION_ERROR = "connection_error", gettext_lazy("Connection error")
    SOFT_REFUSAL = "soft_refusal", gettext_lazy("Soft refusal")
    DOWNLOAD_FAILED = "download_failed", gettext_lazy("Download failed")
    BAD_RESPONSE = "bad_response", gettext_lazy("Unreadable answer")
    INVALID_INPUT = (
        "invalid_input",
        gettext_lazy("Unreadable input image"),
    )  # the gateway could not read it
    INPUT_ERROR = (
        "input_error",
        gettext_lazy("Input error"),
    )  # shell_api_error / "Unknown error" on an edit
    # From the studio around the call.
    BAD_IMAGE = "bad_image", gettext_lazy("Unreadable image")
    STORAGE_ERROR = "storage_error", gettext_lazy("Storage error")
    INTERNAL_ERROR = "internal_error", gettext_lazy("Internal error")
    WORKER_LOST = "worker_lost", gettext_lazy("Worker lost")
    GATEWAY_UNREACHABLE = "gateway_unreachable", gettext_lazy("Gateway unreachable")
    CANCELED = "canceled", gettext_lazy("Canceled")


@dataclass
class AttemptRecord:
    number: int
    endpoint: str
    model: str
    size_sent: str
    http_status: int | None
    request_id: str
    latency_ms: int
    outcome: Outcome
    billed: bool
    amount: Decimal
    error_code: FailureCode | Literal[""] = ""
    error_message: str = ""
    # What the call asked for, where its price depends on it (token routes).
    quality: str = ""
    inputs: int = 0
    # A token route's usage as the answer reported it (None: not billed by tokens, or
    # no usage in the answer, then `usage_missing` and billed at the top of its range).
    text_tokens: int | None = None
    image_tokens: int | None = None
    output_tokens: int | None = None
    usage_missing: bool = False
    # The studio's own note on the call (not the gateway's words, which `error_message`
    # keeps): a key and its numbers, said in each reader's language when shown
    # (spend.messages.ledger_note).
    note: str = ""
    note_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpstreamFailure:
    """Why a generation ended without an image: its code and the parameters of the
    sentence a designer reads (`upstream.messages.failure_params`), stored as they are and
    said in the reader's language when shown."""

    code: FailureCode
    params: dict[str, Any] = field(default_factory=dict)
    # Status `refused` rather than `failed`: a soft refusal, or a content-safety verdict.
    refused: bool = False
    text: str = ""  # a soft refusal's words, as the model wrote them
    # The route itself failed (502/503/504, a read timeout): the same request may go to
    # another route. Never for a safety verdict or a bad request.
    reroutable: bool = False

    @property
    def message(self) -> str:
        """The sentence in the active language (for logs and tests; pages and the API
        render it from the stored code and parameters)."""
        from imagestudio.studio.messages import explain

        return explain(self.code, self.params)


@dataclass(frozen=True)
class InputImage:
    """One picture sent with an edit, already compressed."""

    data: bytes
    content_type: str
    extension: str


@dataclass
class GenerationResult:
    image_bytes: bytes | None
    size_used: str
    fell_back_to_2k: bool
    # Attempts that were followed by another attempt, in order (already reported through
    # on_attempt), and the last one, which the caller records with the final status change.
    final_attempt: AttemptRecord
    failure: UpstreamFailure | None = None
    attempts: list[AttemptRecord] = field(default_factory=list)
    text: str = ""  # a chat answer's words besides the image

    @property
    def ok(self) -> bool:
        return self.failure is None and self.image_bytes is not None
