"""`python -m bench.load SPEC.json OUT.json`: one load-generating process.

Threads, each with its own keep-alive httpx client, GET one URL as fast as the server
answers. Requests that complete inside the measuring window (absolute wall-clock times in
the spec, shared by every load process) are counted; the ones before it warm the server.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import httpx


def run(spec: dict) -> dict:
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    start, end = spec["measure_from"], spec["measure_until"]

    def worker() -> None:
        mine: list[float] = []
        codes: dict[str, int] = {}
        with httpx.Client(
            cookies=spec.get("cookies") or {},
            headers=spec.get("headers") or {},
            timeout=10.0,
        ) as client:
            while True:
                sent = time.time()
                if sent >= end:
                    break
                try:
                    response = client.get(spec["url"])
                    code = str(response.status_code)
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                    with lock:
                        if len(errors) < 5:
                            errors.append(f"{code}: {exc}")
                done = time.time()
                if start <= sent and done <= end:
                    codes[code] = codes.get(code, 0) + 1
                    mine.append(done - sent)
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    threads = [threading.Thread(target=worker) for _ in range(spec["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "statuses": statuses, "errors": errors}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    Path(argv[1]).write_text(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
