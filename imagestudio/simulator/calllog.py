"""The gateway's Log Query API, simulated: every call the simulator bills is a row of
``GET /api/log/self``, with the real API's quirks (see docs/gateway.md, "Log Query API"):

* a *system token* in ``Authorization`` with no ``Bearer`` (``--log-token``); a bearer
  form or another token is a 401 ``{"success": false, "message": …}``;
* at most 10 rows a page whatever ``page_size`` asks, newest first; ``p`` counts from 1
  and 0 is read as 1 (new-api's paging), so a client pages until an empty page;
* ``type`` (2 = spending), ``start_timestamp`` / ``end_timestamp`` (Unix seconds,
  inclusive), ``model_name``, ``token_name`` filter;
* the answer is gzip-compressed, ``quota`` is US dollars × 500,000, and ``other`` is a
  JSON *string* holding the request path, the billing type and the usage;
* ``--log-clock-skew S`` shifts every ``created_at`` by S seconds (the gateway's clock is
  not the studio's).

Tests steer it over HTTP (``POST /_sim/log/<action>``, a JSON body):

``rows``      ``{"rows": [{"model", "path", "created_at"?, "usd"?, "request_id"?}]}``: calls
              the studio never heard of (or a month of them for the bench), billed.
``skip``      ``{"request_ids": [...]}``: billed calls the log leaves out (now or later).
``malformed`` ``{"row": {...}}``: a row kept exactly as given.
``fault``     ``{"status": 503, "times": 2}`` or ``{"delay": 3, "times": 1}``: the next
              queries fail with that status, or answer that late.
``skew``      ``{"seconds": -240}``: the log's clock from now on (as ``--log-clock-skew``).
``reset``     forget every row, skip, fault and skew.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from imagestudio import catalog

QUOTA_PER_USD = 500_000
PAGE_ROWS = 10
SPEND = 2
DEFAULT_TOKEN_NAME = "imagestudio"
NO_TOKEN_MESSAGE = "无权进行此操作，未登录且未提供 access token"
BAD_TOKEN_MESSAGE = "无权进行此操作，access token 无效"
# Reverse routes are billed per call; token-priced routes by usage.
PER_CALL = "per_call"
PER_TOKEN = "per_token"
MILLION = Decimal(1_000_000)


@dataclass
class Fault:
    status: int = 0
    delay: float = 0.0
    times: int = 0


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    delay: float = 0.0


@dataclass
class CallLog:
    token: str
    clock_skew: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)
    fault: Fault = field(default_factory=Fault)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 1

    def __post_init__(self) -> None:
        self.initial_skew = self.clock_skew
        self._cache: tuple[tuple[object, ...], list[dict[str, Any]]] | None = None

    # -- what gets logged -----------------------------------------------------------------

    def bill(
        self,
        *,
        request_id: str,
        model: str,
        path: str,
        use_time: float,
        usage: dict[str, int] | None = None,
        usd: Decimal | None = None,
        created_at: float | None = None,
    ) -> None:
        """Log one billed call (the real log writes its row when the call ends)."""
        usage = usage or {}
        amount = usd if usd is not None else _price(model, usage)
        quota = int((amount * QUOTA_PER_USD).to_integral_value())
        other = {
            "request_path": path,
            "billing_type": PER_TOKEN if _per_token(model) else PER_CALL,
            "model_price": float(amount),
            "usage": usage,
        }
        when = created_at if created_at is not None else time.time()
        with self._lock:
            self.rows.append(
                {
                    "id": self._next_id,
                    "user_id": 1,
                    "created_at": int(when + self.clock_skew),
                    "type": SPEND,
                    "content": f"按次计费，模型价格 ${amount}",
                    "username": "studio",
                    "token_name": DEFAULT_TOKEN_NAME,
                    "model_name": model,
                    "quota": quota,
                    "prompt_tokens": int(usage.get("input_tokens", 0)),
                    "completion_tokens": int(usage.get("output_tokens", 0)),
                    "use_time": max(0, int(use_time)),
                    "is_stream": False,
                    "channel": 7,
                    "token_id": 1,
                    "group": "default",
                    "request_id": request_id,
                    "other": json.dumps(other, separators=(",", ":")),
                }
            )
            self._next_id += 1

    def add_rows(self, rows: list[dict[str, Any]]) -> int:
        for row in rows:
            usd = Decimal(str(row["usd"])) if "usd" in row else None
            self.bill(
                request_id=str(row.get("request_id") or _phantom_id(self._next_id)),
                model=str(row["model"]),
                path=str(row.get("path") or f"/v1/{catalog.GENERATIONS}"),
                use_time=float(row.get("use_time", 30)),
                usd=usd,
                created_at=float(row["created_at"]) if "created_at" in row else None,
            )
        return len(rows)

    def add_malformed(self, row: dict[str, Any]) -> None:
        with self._lock:
            self.rows.append({"id": self._next_id, **row})
            self._next_id += 1

    def skip(self, request_ids: list[str]) -> None:
        with self._lock:
            self.skipped.update(request_ids)

    def set_fault(self, *, status: int = 0, delay: float = 0.0, times: int = 1) -> None:
        with self._lock:
            self.fault = Fault(status=status, delay=delay, times=times)

    def reset(self) -> None:
        with self._lock:
            self.rows.clear()
            self._cache = None
            self.skipped.clear()
            self.fault = Fault()
            self.clock_skew = self.initial_skew

    # -- GET /api/log/self ----------------------------------------------------------------

    def query(self, authorization: str | None, params: dict[str, str]) -> Answer:
        delay = self._take_fault_delay()
        status = self._take_fault_status()
        if status:
            return Answer(status, {"success": False, "message": "upstream error"}, delay)
        if not authorization:
            return Answer(401, {"success": False, "message": NO_TOKEN_MESSAGE}, delay)
        # The system token goes as it is: "Bearer <token>" is another, unknown token.
        if authorization.strip() != self.token:
            return Answer(401, {"success": False, "message": BAD_TOKEN_MESSAGE}, delay)
        page = max(1, _int(params.get("p"), 1))
        rows = self._matching(params)
        start = (page - 1) * PAGE_ROWS
        items = rows[start : start + PAGE_ROWS]
        body = {
            "success": True,
            "message": "",
            "data": {"items": items, "total": len(rows), "page": page, "page_size": PAGE_ROWS},
        }
        return Answer(200, body, delay)

    def _matching(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """The rows a query asks for, newest first; kept while nothing changes, so paging
        through a month is not a scan of every row per page."""
        key = tuple(sorted((k, v) for k, v in params.items() if k not in ("p", "page_size")))
        with self._lock:
            state = (key, len(self.rows), len(self.skipped), self.clock_skew)
            if self._cache is not None and self._cache[0] == state:
                return self._cache[1]
            rows = [r for r in self.rows if self._wanted(r, params)]
            rows.sort(key=lambda r: r.get("id", 0), reverse=True)
            self._cache = (state, rows)
            return rows

    def _wanted(self, row: dict[str, Any], params: dict[str, str]) -> bool:
        if row.get("request_id") in self.skipped:
            return False
        kind = _int(params.get("type"), 0)
        if kind and row.get("type") != kind:
            return False
        created = row.get("created_at")
        if not isinstance(created, int):
            return True  # a malformed row is listed whatever the filter says
        since, until = _int(params.get("start_timestamp"), 0), _int(params.get("end_timestamp"), 0)
        if since and created < since or until and created > until:
            return False
        for name in ("model_name", "token_name"):
            if params.get(name) and row.get(name) != params[name]:
                return False
        return True

    def _take_fault_status(self) -> int:
        with self._lock:
            if self.fault.status and self.fault.times > 0:
                self.fault.times -= 1
                return self.fault.status
        return 0

    def _take_fault_delay(self) -> float:
        with self._lock:
            if self.fault.delay and self.fault.times > 0:
                self.fault.times -= 1
                return self.fault.delay
        return 0.0

    # -- POST /_sim/log/<action> ----------------------------------------------------------

    def control(self, action: str, body: dict[str, Any]) -> Answer:
        if action == "rows":
            return Answer(200, {"added": self.add_rows(list(body.get("rows") or []))})
        if action == "skip":
            self.skip([str(r) for r in body.get("request_ids") or []])
            return Answer(200, {"skipped": sorted(self.skipped)})
        if action == "malformed":
            self.add_malformed(dict(body.get("row") or {}))
            return Answer(200, {"rows": len(self.rows)})
        if action == "fault":
            self.set_fault(
                status=int(body.get("status") or 0),
                delay=float(body.get("delay") or 0),
                times=int(body.get("times") or 1),
            )
            return Answer(200, {"fault": True})
        if action == "skew":
            with self._lock:
                self.clock_skew = float(body.get("seconds") or 0)
            return Answer(200, {"skew": self.clock_skew})
        if action == "reset":
            self.reset()
            return Answer(200, {"rows": 0})
        return Answer(404, {"error": f"unknown log action {action!r}"})


def _per_token(model: str) -> bool:
    found = catalog.MODELS.get(model)
    return bool(found and found.per_token)


def _price(model: str, usage: dict[str, Any]) -> Decimal:
    """What the gateway bills: the catalog's own price (never a staff override, which is
    the studio's business), per call or by the answer's usage."""
    found = catalog.MODELS.get(model)
    if found is None:
        return Decimal("0")
    prices = found.token_prices
    if not found.per_token or prices is None:
        return catalog.gateway_price(model)
    details = usage.get("input_tokens_details") or {}
    image_in = int(details.get("image_tokens", 0)) if isinstance(details, dict) else 0
    text_in = max(0, int(usage.get("input_tokens", 0)) - image_in)
    total = (
        text_in * prices.text_input
        + image_in * prices.image_input
        + int(usage.get("output_tokens", 0)) * prices.image_output
    ) / MILLION
    return total.quantize(Decimal("0.000001"))


def _phantom_id(n: int) -> str:
    return f"sim-phantom-{n:08d}"


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
