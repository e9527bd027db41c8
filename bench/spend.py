"""(f) The spend dashboard and the spend API with 1,000,000 ledger rows on PostgreSQL.

A throwaway database (imagestudio_bench_spend, dropped afterwards) is migrated, then the
ledger gets a year of attempts spread evenly over the 365 days up to now (about 83,000 a
month), by COPY: 20 users in 4 teams, both models, the three size tiers, and the outcome
mix a studio sees (mostly images, some soft refusals, timeouts, 429s and 5xx). Then, in
the Django child, server time per request (median of N through Django's WSGI handler,
signed in as staff) and the number of queries, for: the dashboard's month view, the same
filtered to one model, the soft-refusal report of last month, and GET /api/v1/spend for
the month grouped by day and by user.
"""

from __future__ import annotations

import os
import random
import socket
import time
from urllib.parse import urlsplit

from bench.harness import BenchError, Config, DataDir, Outcome, Row, ms

TITLE = "spend dashboard and API with 1,000,000 ledger rows (PostgreSQL)"
DATABASE = "imagestudio_bench_spend"
SERVER = os.environ.get("SPEND_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
AIM_S = 0.3
USERS = 20
TEAMS = 4
# (outcome, billed, http status, share)
OUTCOMES = [
    ("image", True, 200, 0.80),
    ("soft_refusal", True, 200, 0.05),
    ("timeout", True, None, 0.02),
    ("bad_image", True, 200, 0.01),
    ("saturated", False, 429, 0.08),
    ("upstream_error", False, 500, 0.02),
    ("content_policy", False, 500, 0.02),
]


def _admin_connect(dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(f"{SERVER}/{dbname}", autocommit=True, connect_timeout=5)


def _recreate(drop_only: bool = False) -> None:
    from psycopg import sql

    with _admin_connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
        )
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


def run(config: Config) -> Outcome:
    parts = urlsplit(SERVER)
    try:
        socket.create_connection((parts.hostname, parts.port or 5432), timeout=2).close()
    except OSError as exc:
        raise BenchError(f"PostgreSQL at {parts.hostname}:{parts.port} does not answer") from exc
    total = 100_000 if config.quick else 1_000_000
    repeats = 5 if config.quick else 15
    _recreate()
    outcome = Outcome()
    try:
        with DataDir(config, "f") as data:
            data.extra["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
            data.migrate()
            data.collectstatic()
            result = data.child("spend", "measure", timeout=3600, total=total, repeats=repeats)
    finally:
        if not config.keep:
            _recreate(drop_only=True)
    for name, page in result["pages"].items():
        outcome.rows.append(
            Row(
                f"f. {name}, {total:,} ledger rows",
                f"median {ms(page['median'])} (max {ms(page['max'])}), "
                f"{page['queries']} queries (same at {result['small']:,} rows: "
                f"{'yes' if page['queries'] == page['queries_small'] else 'NO'})",
                f"≤ {AIM_S * 1000:.0f} ms",
                page["median"] <= AIM_S and page["queries"] == page["queries_small"],
            )
        )
    outcome.notes.append(
        f"{total:,} rows inserted by COPY in {result['insert_s']:.0f} s; "
        f"{result['month_rows']:,} of them in the current month, {result['last_month_rows']:,} "
        f"in the last; {repeats} timed requests each after 3 warm-ups"
    )
    for name, page in result["pages"].items():
        outcome.notes.append(f"{name}: {page['path']} — SQL: " + " ‖ ".join(page["sql"]))
    return outcome


# --- in the Django child ----------------------------------------------------------------------
def _copy(total: int, users: list, teams: list, rng: random.Random) -> None:
    from datetime import UTC, datetime, timedelta

    from django.db import connection

    from imagestudio import catalog

    now = datetime.now(UTC)
    start = now - timedelta(days=365)
    span = (now - start).total_seconds()
    weights = [o[3] for o in OUTCOMES]
    vip_sizes = [(s.value, s.tier) for s in catalog.VIP_SIZES]
    columns = (
        "user_id, team_id, number, model, endpoint, size_sent, size_tier, http_status, "
        "request_id, latency_ms, outcome, billed, amount, error_code, error_message, created_at, "
        # Not null, with their defaults in Django only (COPY gets none of them).
        "note, note_params, quality, usage_missing"
    )
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor, cursor.copy(f"COPY spend_attempt ({columns}) FROM STDIN") as copy:
        for i in range(total):
            user, team = users[i % len(users)]
            outcome, billed, status, _ = rng.choices(OUTCOMES, weights)[0]
            if rng.random() < 0.5:
                model, (size, tier) = catalog.VIP, rng.choice(vip_sizes)
                latency = rng.randint(60_000, 200_000)
            else:
                model, size, tier = catalog.ALL, "", "2k"
                latency = rng.randint(20_000, 90_000)
            if outcome == "soft_refusal":
                latency = rng.randint(2_000, 30_000)
            created = start + timedelta(seconds=span * i / total)
            copy.write_row(
                (
                    user,
                    team,
                    1,
                    model,
                    "images/generations",
                    size,
                    tier,
                    status,
                    f"req-{i:08d}",
                    latency,
                    outcome,
                    billed,
                    "0.0300" if billed else "0",
                    "",
                    "",
                    created,
                    "",
                    "{}",
                    "",
                    False,
                )
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE spend_attempt")


def child_measure(total: int, repeats: int) -> dict:
    from datetime import UTC, datetime, timedelta

    from django.contrib.auth import get_user_model

    from bench.inprocess import InProcess
    from imagestudio import catalog
    from imagestudio.spend import reports
    from imagestudio.spend.models import Attempt, Membership, Team

    rng = random.Random(20261123)
    User = get_user_model()
    admin = User.objects.create_superuser("bench-admin", "a@example.com", None)
    teams = [Team.objects.create(name=f"Team {i}") for i in range(TEAMS)]
    users = []
    for i in range(USERS):
        user = User.objects.create_user(f"designer{i}", f"d{i}@example.com", None)
        team = teams[i % TEAMS]
        Membership.objects.create(team=team, user=user)
        users.append((user.pk, team.pk))

    today = datetime.now(UTC).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    month_from = today.replace(day=1).isoformat()
    pages = {
        "dashboard, month view": "/spend/",
        "dashboard, month view filtered by model": f"/spend/?model={catalog.VIP}",
        "soft-refusal report, last month (page 1)": f"/spend/soft-refusals/?month={last_month}",
        "API /spend, month by day": f"/api/v1/spend?from={month_from}&group_by=day",
        "API /spend, month by user": f"/api/v1/spend?from={month_from}&group_by=user",
    }
    web = InProcess(admin)
    small = 2_000
    _copy(small, users, teams, rng)
    # Each counted once warm: the process's first request also reads what it caches for
    # later ones (staff's route settings), which is not the table's size showing.
    for path in pages.values():
        web.count(path)
    counts_small = {name: web.count(path)["queries"] for name, path in pages.items()}
    Attempt.objects.all()._raw_delete(Attempt.objects.db)

    clock = time.monotonic()
    _copy(total, users, teams, rng)
    insert_s = time.monotonic() - clock
    result: dict = {"pages": {}, "insert_s": insert_s, "small": small}
    for name, path in pages.items():
        counted = web.count(path)
        timing = web.server_time(path, repeats)
        result["pages"][name] = {
            "path": path,
            "queries": counted["queries"],
            "queries_small": counts_small[name],
            "sql": counted["sql"],
            **timing,
        }
    month_start = reports.day_start(today.replace(day=1))
    result["month_rows"] = Attempt.objects.filter(created_at__gte=month_start).count()
    result["last_month_rows"] = Attempt.objects.filter(
        created_at__gte=reports.day_start((month_start - timedelta(days=1)).date().replace(day=1)),
        created_at__lt=month_start,
    ).count()
    return result
