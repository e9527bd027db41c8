"""`[sim:...]` tokens in a prompt: deterministic faults for tests and demos."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

AUTH = "401"
QUOTA = "quota"
MODERATION = "moderation"
SATURATED = "429"
TRANSIENT_500 = "500"
VIP_4K_500 = "4k-500"
CONTENT_POLICY = "content-policy"
WRITE_FAILED = "write-failed"
TIMEOUT = "timeout"
SOFT_REFUSAL = "soft-refusal"
CORRUPT = "corrupt"
OVERSIZE = "oversize"
# The failures of the gateway's newer routes (2026-11): a 504 after the call's latency
# (the -vip "about five minutes"), an immediate 503, a 502, and a 451 `image_safety`
# (filtered after generation). None is billed.
GATEWAY_TIMEOUT_504 = "504"
UNAVAILABLE_503 = "503"
BAD_GATEWAY_502 = "502"
IMAGE_SAFETY = "451"
# A 200 without its `usage` (a token route's answer the ledger cannot price exactly).
NO_USAGE = "no-usage"
# Faults of the result link's download (the CDN), not of the generation call.
CDN_500 = "cdn-500"
CDN_RESET = "cdn-reset"
CDN_SHORT = "cdn-short"
CDN_FAULTS: tuple[str, ...] = (CDN_500, CDN_RESET, CDN_SHORT)

FAULTS: tuple[str, ...] = (
    AUTH,
    QUOTA,
    MODERATION,
    SATURATED,
    TRANSIENT_500,
    VIP_4K_500,
    CONTENT_POLICY,
    WRITE_FAILED,
    TIMEOUT,
    SOFT_REFUSAL,
    CORRUPT,
    OVERSIZE,
    GATEWAY_TIMEOUT_504,
    UNAVAILABLE_503,
    BAD_GATEWAY_502,
    IMAGE_SAFETY,
    NO_USAGE,
    *CDN_FAULTS,
)

HELP = """\
prompt triggers (put them anywhere in the prompt; they are removed before drawing):
  [sim:401]             401 invalid token (无效的令牌)
  [sim:quota]           403 insufficient_user_quota
  [sim:moderation]      400 moderation_blocked
  [sim:429]             429 当前分组上游负载已饱和，请稍后再试 (answered at once)
  [sim:500]             generic transient 500
  [sim:4k-500]          -vip 4K compute 500 {"status_code": 500, ...}; only on 4K sizes
  [sim:content-policy]  500 "Image was not generated as expected ... (traceid: ...)"
  [sim:write-failed]    500 write_response_body_failed
  [sim:timeout]         hold the connection --timeout-hold seconds, close unanswered
  [sim:soft-refusal]    200, text and no image (images: "data": [] plus "message")
  [sim:corrupt]         200 whose image bytes are not an image
  [sim:oversize]        500 shell_api_error "Unknown error", as for an input over 1.5 MB
                        (--oversize-error-rate gives that chance to real big inputs)
  [sim:504]             504 gateway timeout, after the call's latency
  [sim:503]             503 service unavailable (answered at once)
  [sim:502]             502 bad gateway, after the call's latency
  [sim:451]             451 image_safety: the image was filtered after generation
  [sim:no-usage]        200 without "usage" (token routes are then billed at the top
                        of their estimate)
  [sim:cdn-500]         the result link answers 500 (the generation itself succeeds)
  [sim:cdn-reset]       the result link's connection is reset before any answer
  [sim:cdn-short]       the result link sends fewer bytes than its Content-Length
  [sim:<fault>xN]       once-only: the first N requests with this exact prompt fail
                        that way, then it succeeds, e.g. [sim:429x2]
  [sim:latency=0.5]     this request's latency in seconds
An unknown [sim:...] token is a 400 so typos do not pass silently.
"""

_TOKEN = re.compile(r"\[sim:([^\]\s]*)\]", re.IGNORECASE)
_COUNTED = re.compile(r"^(?P<fault>.+?)x(?P<count>\d+)$")
_LATENCY = re.compile(r"^latency=(?P<seconds>\d+(?:\.\d+)?)$")
_SPACES = re.compile(r"[ \t]{2,}")


@dataclass(frozen=True)
class Triggers:
    prompt: str
    clean_prompt: str
    # fault -> how many requests it fails (None: every request).
    faults: dict[str, int | None] = field(default_factory=dict)
    latency: float | None = None
    unknown: tuple[str, ...] = ()


def parse(prompt: str) -> Triggers:
    faults: dict[str, int | None] = {}
    latency: float | None = None
    unknown: list[str] = []
    for match in _TOKEN.finditer(prompt):
        token = match.group(1).lower()
        if token in FAULTS:
            faults[token] = None
        elif (counted := _COUNTED.match(token)) and counted["fault"] in FAULTS:
            faults[counted["fault"]] = int(counted["count"])
        elif timed := _LATENCY.match(token):
            latency = float(timed["seconds"])
        else:
            unknown.append(match.group(0))
    clean = _SPACES.sub(" ", _TOKEN.sub("", prompt)).strip()
    return Triggers(prompt, clean, faults, latency, tuple(unknown))


class OnceCounters:
    """How many requests each (prompt, fault) has already failed, for `[sim:429x2]`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed: dict[tuple[str, str], int] = {}

    def fires(self, triggers: Triggers, fault: str) -> bool:
        if fault not in triggers.faults:
            return False
        limit = triggers.faults[fault]
        if limit is None:
            return True
        key = (triggers.prompt, fault)
        with self._lock:
            failed = self._failed.get(key, 0)
            if failed >= limit:
                return False
            self._failed[key] = failed + 1
            return True
