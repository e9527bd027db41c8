"""What the gateway client hands back to its callers: one record per attempt, one result."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from django.db import models


class Outcome(models.TextChoices):
    """How one attempt ended, as written to the spend ledger."""

    IMAGE = "image", "Image"  # 200 with an image (billed)
    BAD_IMAGE = "bad_image", "Unreadable image"  # 200, bytes not an image (billed anyway)
    DOWNLOAD_FAILED = "download_failed", "Download failed"  # 200 with a url we could not fetch
    SOFT_REFUSAL = "soft_refusal", "Soft refusal"  # 200 with text and no image (billed)
    TIMEOUT = "timeout", "Timeout"  # no answer in time, or dropped mid-answer (billed)
    CONNECTION_ERROR = "connection_error", "Connection error"  # never reached it (not billed)
    REJECTED = "rejected", "Rejected"  # 400/401/403/451: request or prompt refused (not billed)
    SATURATED = "saturated", "Saturated"  # 429 (not billed)
    CONTENT_POLICY = "content_policy", "Content policy"  # 500 content-policy block (not billed)
    UPSTREAM_ERROR = "upstream_error", "Gateway error"  # other 5xx (not billed)
    # The worker died mid-call: the gateway bills a client that went away (billed).
    LOST = "lost", "Lost with its worker"
    # A base URL that provably never got the request (refused, DNS, TLS, connect
    # timeout): failed over to the next base (not billed).
    UNREACHABLE = "unreachable", "Unreachable"


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
    CONTENT_POLICY = "content_policy", "Content policy"
    MODERATION = "moderation", "Safety filter"
    INVALID_REQUEST = "invalid_request", "Invalid request"
    AUTH = "auth", "Key rejected"
    QUOTA = "quota", "Out of credit"
    SATURATED = "saturated", "Gateway overloaded"
    UPSTREAM_ERROR = "upstream_error", "Gateway error"
    TIMEOUT = "timeout", "Timeout"
    CONNECTION_ERROR = "connection_error", "Connection error"
    SOFT_REFUSAL = "soft_refusal", "Soft refusal"
    DOWNLOAD_FAILED = "download_failed", "Download failed"
    BAD_RESPONSE = "bad_response", "Unreadable answer"
    INVALID_INPUT = "invalid_input", "Unreadable input image"  # the gateway could not read it
    INPUT_ERROR = "input_error", "Input error"  # shell_api_error / "Unknown error" on an edit
    # From the studio around the call.
    BAD_IMAGE = "bad_image", "Unreadable image"
    STORAGE_ERROR = "storage_error", "Storage error"
    INTERNAL_ERROR = "internal_error", "Internal error"
    WORKER_LOST = "worker_lost", "Worker lost"
    GATEWAY_UNREACHABLE = "gateway_unreachable", "Gateway unreachable"
    CANCELED = "canceled", "Canceled"


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


@dataclass
class UpstreamFailure:
    """Why a generation ended without an image, in words a designer can act on."""

    code: FailureCode
    message: str  # from upstream.messages (or studio.messages for the studio's own codes)
    refused: bool = False  # a soft refusal: status `refused` rather than `failed`
    text: str = ""  # a soft refusal's words, as the model wrote them


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
