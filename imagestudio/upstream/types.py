"""What the gateway client hands back to its callers: one record per attempt, one result."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# Outcomes of one attempt, as written to the spend ledger.
IMAGE = "image"  # 200 with an image (billed)
BAD_IMAGE = "bad_image"  # 200, but the bytes are not an image (billed all the same)
DOWNLOAD_FAILED = "download_failed"  # 200 with a url we could not fetch (billed)
SOFT_REFUSAL = "soft_refusal"  # 200 with text and no image (billed)
TIMEOUT = "timeout"  # no answer in time, or the connection dropped mid-answer (billed)
CONNECTION_ERROR = "connection_error"  # never reached the gateway (not billed)
REJECTED = "rejected"  # 400/401/403/451: the request or the prompt was refused (not billed)
SATURATED = "saturated"  # 429 (not billed)
CONTENT_POLICY = "content_policy"  # 500 content-policy block (not billed)
UPSTREAM_ERROR = "upstream_error"  # other 5xx (not billed)

BILLED_OUTCOMES = frozenset({IMAGE, BAD_IMAGE, DOWNLOAD_FAILED, SOFT_REFUSAL, TIMEOUT})


@dataclass
class AttemptRecord:
    number: int
    endpoint: str
    model: str
    size_sent: str
    http_status: int | None
    request_id: str
    latency_ms: int
    outcome: str
    billed: bool
    amount: Decimal
    error_code: str = ""
    error_message: str = ""


@dataclass
class UpstreamFailure:
    """Why a generation ended without an image, in words a designer can act on."""

    code: str  # e.g. "content_policy", "moderation", "auth", "quota", "timeout", ...
    message: str
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
