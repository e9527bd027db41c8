"""Generated files served under /files/, expiring like the gateway's CDN links."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_FILES = 200
MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    body: bytes
    expires_at: float


class FileStore:
    def __init__(
        self,
        ttl: float,
        *,
        max_files: int = MAX_FILES,
        max_bytes: int = MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max_files = max_files
        self._max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._files: OrderedDict[str, StoredFile] = OrderedDict()
        self._bytes = 0

    def put(self, body: bytes) -> str:
        """Keep `body`; return its file name (the gateway's links end in <uuid>.png)."""
        name = f"{uuid.uuid4()}.png"
        with self._lock:
            self._files[name] = StoredFile(body, self._clock() + self._ttl)
            self._bytes += len(body)
            while len(self._files) > 1 and (
                len(self._files) > self._max_files or self._bytes > self._max_bytes
            ):
                _, evicted = self._files.popitem(last=False)
                self._bytes -= len(evicted.body)
        return name

    def get(self, name: str) -> bytes | None:
        with self._lock:
            stored = self._files.get(name)
            if stored is None:
                return None
            if self._clock() >= stored.expires_at:
                del self._files[name]
                self._bytes -= len(stored.body)
                return None
            return stored.body

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)
