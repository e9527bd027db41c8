"""(r) A month of 10,000 gateway log rows reconciled with the ledger.

A fresh SQLite data dir gets a month of billed ledger attempts (bulk rows, as the gateway
would have answered them); the simulator's log gets the same calls, 10 rows a page, gzip,
as the gateway publishes them, plus the differences a month may hold: calls only the
gateway knew of, calls it did not bill, calls it billed at another amount, and a dead
worker's calls the ledger holds without a request id (matched by time). Then, in a Django
child, `reconcile.books.reconcile` over the month is timed: the pull (every page until an
empty one, with no pause between pages: the production pause,
IMAGESTUDIO_GATEWAY_LOG_MIN_INTERVAL, would add pages × interval), the matching and the
report; then the same month again (every row already kept, nothing to decide).
"""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench.harness import (
    PYTHON,
    Config,
    DataDir,
    Outcome,
    Row,
    base_env,
    free_port,
    ms,
    spawn,
    stop,
    wait_for_http,
)

TITLE = "a month of 10,000 gateway log rows reconciled"
ROWS = 10_000
UNKNOWN = 20
SKIPPED = 20
DIFFERENT = 10
LOST = 50
TOKEN = "bench-system-token"
AIM_S = 60.0


def run(config: Config) -> Outcome:
    rows = 1_000 if config.quick else ROWS
    outcome = Outcome()
    with DataDir(config, "reconcile") as data:
        sim, base = _simulator_with_token(data)
        try:
            root = base.removesuffix("/v1")
            data.use_simulator(base)
            data.extra.update(
                IMAGESTUDIO_GATEWAY_SYSTEM_TOKEN=TOKEN,
                IMAGESTUDIO_GATEWAY_LOG_BASE_URL=root,
                IMAGESTUDIO_GATEWAY_LOG_MIN_INTERVAL="0",
                IMAGESTUDIO_RECONCILE_SETTLE_SECONDS="0",
            )
            data.migrate()
            made = data.child("reconcile", "ledger", timeout=300, rows=rows)
            _fill_log(root, made["log_rows"])
            result = data.child("reconcile", "reconcile", timeout=900)
        finally:
            stop(sim)
    expected = {
        "unknown_here": UNKNOWN,
        "not_billed_by_gateway": SKIPPED,
        "amount_differs": DIFFERENT,
    }
    found_ok = all(result["kinds"].get(k) == n for k, n in expected.items())
    total = result["first_s"]
    outcome.rows.append(
        Row(
            f"r. reconcile a month of {rows:,} log rows ({result['pages']:,} pages of 10)",
            f"{total:.1f} s (pull {result['pull_s']:.1f} s, match and decide "
            f"{result['match_s']:.1f} s, report {ms(result['report_s'])}); again over the "
            f"same month {result['second_s']:.1f} s ({result['second_new']} new rows)",
            f"≤ {AIM_S:.0f} s*",
            total <= AIM_S,
        )
    )
    outcome.rows.append(
        Row(
            "r. same: every difference named",
            f"{result['matched']:,} matched ({result['by_time']} of them by time, no request "
            f"id); differences {dict(sorted(result['kinds'].items()))}; day totals differ by "
            f"{result['difference']}",
            f"{UNKNOWN} unknown_here, {SKIPPED} not_billed_by_gateway, {DIFFERENT} amount_differs",
            found_ok,
        )
    )
    outcome.notes.append(
        f"(r) {rows:,} billed attempts over 30 days in SQLite; the simulator logs each (10 "
        "rows a page, gzip) plus the month's differences; pulled with no pause between pages "
        "(at the production pause of 0.5 s a page the pull is paced to about "
        f"{result['pages'] * 0.5 / 60:.0f} minutes, run hourly over the last hours only)."
    )
    return outcome


def _simulator_with_token(data: DataDir) -> tuple[subprocess.Popen, str]:

    port = free_port()
    log = data.logs / f"simulator-{port}.log"
    proc = spawn(
        [
            PYTHON,
            "-m",
            "imagestudio.simulator",
            "--port",
            str(port),
            "--latency",
            "0",
            "--log-token",
            TOKEN,
        ],
        base_env(),
        log,
    )
    wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, log)
    return proc, f"http://127.0.0.1:{port}/v1"


def _fill_log(root: str, rows: list[dict]) -> None:
    with httpx.Client(timeout=60) as client:
        for i in range(0, len(rows), 1_000):
            answer = client.post(f"{root}/_sim/log/rows", json={"rows": rows[i : i + 1_000]})
            answer.raise_for_status()


# --- the Django side --------------------------------------------------------------------------
def child_ledger(rows: int) -> dict:
    """A month of billed attempts; the log rows the gateway would publish for them."""
    import random
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from imagestudio import catalog
    from imagestudio.spend.models import Attempt

    rng = random.Random(24)
    user = get_user_model().objects.create_user("bench", password="x")
    now = datetime.now(UTC)
    start = now - timedelta(days=30)
    step = (now - timedelta(hours=1) - start) / rows
    price = catalog.gateway_price(catalog.VIP)
    attempts, log_rows = [], []
    lost_left = LOST
    for i in range(rows):
        at = start + step * i
        request_id = f"bench-{i:06d}"
        lost = i % (rows // LOST) == 7 and lost_left > 0
        lost_left -= lost
        attempts.append(
            Attempt(
                user=user,
                number=1,
                model=catalog.VIP,
                endpoint=catalog.GENERATIONS,
                size_tier="2K",
                request_id="" if lost else request_id,
                latency_ms=rng.randint(30_000, 150_000),
                outcome="lost" if lost else "image",
                billed=True,
                amount=price,
                created_at=at,
            )
        )
        if i % (rows // SKIPPED) == 3:
            continue  # the gateway did not bill it
        usd = price + Decimal("0.01") if i % (rows // DIFFERENT) == 5 else price
        log_rows.append(
            {
                "model": catalog.VIP,
                "path": f"/v1/{catalog.GENERATIONS}",
                "request_id": request_id,
                "created_at": at.timestamp() + rng.uniform(-1, 1),
                "usd": str(usd),
            }
        )
    for n in range(UNKNOWN):
        at = start + timedelta(days=1 + n)
        log_rows.append(
            {"model": catalog.ALL, "request_id": f"phantom-{n}", "created_at": at.timestamp()}
        )
    # auto_now_add would stamp them all now: set the month's times afterwards.
    times = [a.created_at for a in attempts]
    made = Attempt.objects.bulk_create(attempts, batch_size=1_000)
    for a, at in zip(made, times, strict=True):
        a.created_at = at
    Attempt.objects.bulk_update(made, ["created_at"], batch_size=1_000)
    rng.shuffle(log_rows)
    return {"log_rows": log_rows}


def child_reconcile() -> dict:
    from collections import Counter

    from imagestudio.reconcile import books
    from imagestudio.reconcile.models import LogRow, State

    now = datetime.now(UTC)
    start, end = now - timedelta(days=31), now
    started = time.perf_counter()
    run = books.pull(start, end)
    pulled = time.perf_counter()
    books.match(start, end)
    matched = time.perf_counter()
    first, last = start.date(), end.date()
    differences = books.differences(first, last)
    days = books.days(first, last)
    reported = time.perf_counter()
    again = time.perf_counter()
    second = books.reconcile(start, end)
    again_s = time.perf_counter() - again
    kinds = Counter(d.kind for d in differences)
    return {
        "pages": run.pages,
        "pull_s": pulled - started,
        "match_s": matched - pulled,
        "report_s": reported - matched,
        "first_s": reported - started,
        "second_s": again_s,
        "second_new": second.pull.new_rows if second.pull else -1,
        "matched": LogRow.objects.filter(state=State.MATCHED).count(),
        "by_time": LogRow.objects.filter(state=State.MATCHED, attempt__request_id="").count(),
        "kinds": dict(kinds),
        "difference": str(sum((d.difference for d in days), books.ZERO)),
    }
