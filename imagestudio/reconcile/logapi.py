"""The gateway's Log Query API (`GET /api/log/self`), read page by page: what the
gateway says it billed. docs/gateway.md ("Log Query API") lists what this relies on.

The system token travels in `Authorization` as it is (no `Bearer`); it is never logged
and never part of an exception's text. Pages hold at most 10 rows whatever `page_size`
asks, so the reader pages until an empty page. It waits between requests (a bounded
rate) and backs off on 429 and 5xx."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

PATH = "/api/log/self"
SPEND_TYPE = 2
QUOTA_PER_USD = Decimal(500_000)
MICRO = Decimal("0.000001")
# Asked for, though the gateway answers 10 at most.
PAGE_SIZE = 100
# A runaway guard: 10 rows a page, so this is a million rows in one period.
MAX_PAGES = 100_000


class LogUnavailable(Exception):
    """The log could not be read now (down, slow, 429/5xx after the retries): try later."""


class BadToken(Exception):
    """The gateway refused the system token."""


@dataclass(frozen=True)
class Row:
    """One spending row as the gateway logged it."""

    log_id: int
    created_at: datetime
    model: str
    quota: int
    amount: Decimal
    request_id: str
    path: str
    billing_type: str
    token_name: str
    use_time: int
    other: str


@dataclass(frozen=True)
class Malformed:
    """A row the reader could not understand: kept aside as it came. `problem` is a code
    (reconcile.messages.MALFORMED says it in the reader's language)."""

    raw: str
    problem: str
    log_id: int | None


def default_base(api_base_urls: str) -> str:
    """The log's base: the scheme and host of the first API base."""
    first = api_base_urls.split(",")[0].strip()
    parts = urlsplit(first)
    return f"{parts.scheme}://{parts.netloc}"


def parse_row(item: Any) -> Row | Malformed:
    """A row of the answer's list, or why it is not one (never an exception)."""
    raw = json.dumps(item, ensure_ascii=False, sort_keys=True, default=str)[:20_000]
    log_id = item.get("id") if isinstance(item, dict) else None
    log_id = log_id if isinstance(log_id, int) and not isinstance(log_id, bool) else None
    if not isinstance(item, dict):
        return Malformed(raw, "not_an_object", None)
    if log_id is None:
        return Malformed(raw, "no_id", None)
    created = item.get("created_at")
    quota = item.get("quota")
    model = item.get("model_name")
    if not isinstance(created, int) or isinstance(created, bool) or created <= 0:
        return Malformed(raw, "no_created_at", log_id)
    if not isinstance(quota, int) or isinstance(quota, bool) or quota < 0:
        return Malformed(raw, "no_quota", log_id)
    if not isinstance(model, str) or not model:
        return Malformed(raw, "no_model", log_id)
    other_text = item.get("other") or ""
    other: Any = {}
    if isinstance(other_text, str) and other_text:
        try:
            other = json.loads(other_text)
        except ValueError:
            return Malformed(raw, "other_not_json", log_id)
    elif isinstance(other_text, dict):
        # The docs say a string; an object is read the same.
        other, other_text = other_text, json.dumps(other_text)
    if not isinstance(other, dict):
        other = {}
    try:
        amount = (Decimal(quota) / QUOTA_PER_USD).quantize(MICRO)
        when = datetime.fromtimestamp(created, tz=UTC)
    except (InvalidOperation, OverflowError, OSError, ValueError):
        return Malformed(raw, "unreadable_number", log_id)
    request_id = item.get("request_id") or other.get("request_id") or ""
    path = other.get("request_path") or other.get("path") or ""
    use_time = item.get("use_time")
    return Row(
        log_id=log_id,
        created_at=when,
        model=model[:100],
        quota=quota,
        amount=amount,
        request_id="".join(str(request_id).split())[:200],
        path=str(path)[:200],
        billing_type=str(other.get("billing_type") or "")[:40],
        token_name=str(item.get("token_name") or "")[:100],
        use_time=use_time if isinstance(use_time, int) and use_time >= 0 else 0,
        other=str(other_text)[:10_000],
    )


class LogReader:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        min_interval: float = 0.5,
        max_retries: int = 4,
        backoff: float = 2.0,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.min_interval = min_interval
        self.max_retries = max_retries
        self.backoff = backoff
        self._sleep = sleep
        self._last = 0.0
        self.pages = 0
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": "imagestudio-reconcile", "Accept-Encoding": "gzip"},
        )

    def __repr__(self) -> str:
        return f"LogReader(base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LogReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rows(self, start: datetime, end: datetime) -> Iterator[Row | Malformed]:
        """Every spending row logged in [start, end], page after page until an empty one."""
        params = {
            "type": str(SPEND_TYPE),
            "start_timestamp": str(int(start.timestamp())),
            "end_timestamp": str(int(end.timestamp())),
            "page_size": str(PAGE_SIZE),
        }
        seen: set[int] = set()
        # new-api counts pages from 1 and reads 0 as 1, older relays count from 0:
        # starting at 0 skips nothing on either (a repeated page is dropped by its ids).
        for page in range(MAX_PAGES):
            items = self._page({**params, "p": str(page)})
            if not items:
                return
            fresh = 0
            for item in items:
                parsed = parse_row(item)
                key = parsed.log_id
                if key is not None and key in seen:
                    continue
                if key is not None:
                    seen.add(key)
                fresh += 1
                yield parsed
            if not fresh and page > 1:
                # Page 1 may repeat page 0 (see above); a later repeat means the relay
                # ignores `p`: nothing more to read.
                return

    def _page(self, params: dict[str, str]) -> list[Any]:
        for attempt in range(self.max_retries + 1):
            self._wait_turn()
            try:
                response = self._http.get(
                    f"{self.base_url}{PATH}",
                    params=params,
                    headers={"Authorization": self._token},
                )
            except httpx.HTTPError as exc:
                failure = f"the log did not answer ({type(exc).__name__})"
            else:
                self.pages += 1
                status = response.status_code
                if status in (401, 403):
                    raise BadToken(_message(response))
                if status == 429 or status >= 500:
                    failure = f"the log answered {status}"
                elif status != 200:
                    raise LogUnavailable(f"the log answered {status}")
                else:
                    return self._items(response)
            if attempt < self.max_retries:
                delay = self.backoff * 2**attempt * (0.5 + random.random() / 2)
                log.warning("gateway log: %s; again in %.1f s", failure, delay)
                self._sleep(delay)
        raise LogUnavailable(failure)

    def _items(self, response: httpx.Response) -> list[Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise LogUnavailable("the log's answer is not JSON") from exc
        if not isinstance(body, dict):
            raise LogUnavailable("the log's answer is not an object")
        if body.get("success") is False:
            message = str(body.get("message") or "")
            if "token" in message.lower() or "令牌" in message or "权" in message:
                raise BadToken(message[:300])
            raise LogUnavailable(message[:300] or "the log said no")
        data = body.get("data")
        if isinstance(data, dict):
            data = data.get("items")
        if data is None:
            return []
        if not isinstance(data, list):
            raise LogUnavailable("the log's data is not a list")
        return data

    def _wait_turn(self) -> None:
        now = time.monotonic()
        wait = self._last + self.min_interval - now
        if wait > 0:
            self._sleep(wait)
        self._last = time.monotonic()


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:300]
    return f"HTTP {response.status_code}"
