"""(c) The status poll: database queries per poll, and requests/s through gunicorn.

Queries: in a Django process for the data dir, Django's test Client (signed in) asks the
browser's poll view (`/poll?ids=…`, as htmx does every 2 s) for 10 pending tiles, under
CaptureQueriesContext; the count of a warm request (the session already in the cache) is
the one judged. The JSON API's `GET /api/v1/generations/{id}` is counted the same way, with
the session and with a bearer token.

The unchanged poll is the one a page sends: the poller's URL from the studio page (with
its token, studio.changes) plus each pending tile's `id:status`; UnchangedPollMiddleware
answers it. "The user's counter moved" sends the same ids without a token, so the view reads
every tile's state and draws none; "all drawn" sends the ids alone, so every tile is drawn.

Throughput: gunicorn started as the launcher starts it (imagestudio/gunicorn_conf.py: one
gthread worker per core, 8 threads, access log on), a real sign-in through the login form
for the session cookie, then load processes of keep-alive httpx clients GET the poll URL
for a fixed window after a warm-up. gunicorn's own CPU over the window, divided by the
requests it answered, is the CPU per poll. The load generator shares the machine's cores
with gunicorn, so requests/s is a floor.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import time
from urllib.parse import urlencode

import httpx

from bench.harness import (
    PYTHON,
    BenchError,
    Config,
    DataDir,
    Outcome,
    Row,
    base_env,
    free_port,
    group_cpu_seconds,
    ms,
    percentile,
    spawn,
    stop,
    tail,
    wait_for_http,
)

TITLE = "status poll"
PENDING = 10
USERNAME = "bench"
PASSWORD = "bench-poll-Password-41"
AIM_QUERIES = 2
# The user, every tile's state, the changed tiles in full: the second read is skipped when
# the page already shows what the first found.
AIM_DRAWN_QUERIES = 3
AIM_AS_SHOWN_QUERIES = 2
AIM_STEADY_QUERIES = 0
AIM_RPS = 1000
AIM_CPU_S = 0.002
LOAD_PROCESSES = 2
LOAD_THREADS = 8
_POLLER = re.compile(r'<div id="poller"[^>]*hx-get="([^"]+)"')
HX = {"HX-Request": "true"}
STEADY = "unchanged"
RERENDER = "rerender"
AS_SHOWN = "as_shown"
POLL_LABELS = {
    STEADY: f"{PENDING} pending tiles, none changed",
    AS_SHOWN: f"{PENDING} pending tiles, none changed, the user's counter moved (no token)",
    RERENDER: f"{PENDING} pending tiles, all drawn",
}


def run(config: Config) -> Outcome:
    duration = 2.0 if config.quick else 5.0
    outcome = Outcome()
    with DataDir(config, "c") as data:
        data.migrate()
        data.collectstatic()
        counted = data.child(
            "poll", "setup_and_count", timeout=180, pending=PENDING, password=PASSWORD
        )
        _query_rows(counted, outcome)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = data.logs / "gunicorn.log"
        web = spawn(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "--config",
                "python:imagestudio.gunicorn_conf",
                "imagestudio.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
            ],
            data.env(),
            log,
        )
        try:
            wait_for_http(f"{base}/accounts/login/", web, log, timeout=60)
            cookies = _sign_in(base)
            for name, poll in counted["polls"].items():
                path = poll["path"]
                if name == STEADY:
                    # This session's page: its poller's token, its tiles.
                    path = _poller_url(base, cookies) + "&" + poll["path"].partition("&")[2]
                url = base + path
                _check(url, cookies, poll)
                rps, cpu, detail = _hammer(data, url, cookies, HX, duration, web.pid)
                steady = name == STEADY
                outcome.rows.append(
                    Row(
                        f"c. poll requests/s, {POLL_LABELS[name]}, gunicorn defaults "
                        f"({_cpus()} gthread workers × 8 threads)",
                        f"{rps:,.0f} req/s",
                        f"≥ {AIM_RPS:,} req/s" if steady else "—",
                        rps >= AIM_RPS if steady else None,
                    )
                )
                outcome.rows.append(
                    Row(
                        f"c. gunicorn CPU per poll, {POLL_LABELS[name]}",
                        ms(cpu) if cpu else "not measured",
                        f"≤ {ms(AIM_CPU_S)}" if steady else "—",
                        (cpu <= AIM_CPU_S) if steady and cpu else None,
                    )
                )
                outcome.notes.append(f"poll ({POLL_LABELS[name]}) under load: {detail}")
            if counted["api"].get("routed"):
                api_url = f"{base}/api/v1/generations/{counted['ids'][0]}"
                api_rps, _cpu, api_detail = _hammer(data, api_url, cookies, {}, duration, web.pid)
                outcome.rows.append(
                    Row(
                        "c. API GET /generations/{id} requests/s (session)",
                        f"{api_rps:,.0f} req/s",
                    )
                )
                outcome.notes.append(f"API GET under load: {api_detail}")
                # A client that sends the ETag back: unchanged, a 304 from the middleware.
                etag = httpx.get(api_url, cookies=cookies, timeout=30.0).headers.get("ETag", "")
                if not etag:
                    raise BenchError("the API's pending generation came without an ETag")
                cond_rps, cond_cpu, cond_detail = _hammer(
                    data, api_url, cookies, {"If-None-Match": etag}, duration, web.pid
                )
                outcome.rows.append(
                    Row(
                        "c. API GET /generations/{id} with If-None-Match, unchanged (session): "
                        "requests/s, gunicorn CPU each",
                        f"{cond_rps:,.0f} req/s, {ms(cond_cpu)} CPU",
                    )
                )
                outcome.notes.append(f"API conditional GET under load: {cond_detail}")
            if web.poll() is not None:
                raise BenchError(f"gunicorn exited with {web.returncode} ({tail(log, 4)})")
        finally:
            stop(web)
    outcome.notes.append(
        f"gunicorn: imagestudio/gunicorn_conf.py's defaults ({_cpus()} gthread workers × 8 "
        f"threads), access log to a file; load: {LOAD_PROCESSES} processes × {LOAD_THREADS} "
        "keep-alive httpx clients, "
        f"{duration:g} s measured after a 1.5 s warm-up, on the same {_cpus()} cores"
    )
    return outcome


def _cpus() -> int:
    return os.cpu_count() or 1


def _query_rows(counted: dict, outcome: Outcome) -> None:
    for name, poll in counted["polls"].items():
        label = POLL_LABELS[name]
        aim = {STEADY: AIM_STEADY_QUERIES, AS_SHOWN: AIM_AS_SHOWN_QUERIES}.get(
            name, AIM_DRAWN_QUERIES
        )
        outcome.rows.append(
            Row(
                f"c. queries per poll, {label}",
                f"{poll['warm']} (HTTP {poll['status']}; first poll after sign-in: "
                f"{poll['first']})",
                f"≤ {aim}",
                poll["warm"] <= aim,
            )
        )
        server = poll["server_s"]
        outcome.rows.append(
            Row(
                f"c. poll server time in-process, {label}",
                f"median {ms(server)} → ≤ ~{_cpus() / server:,.0f} req/s on {_cpus()} cores",
                "— (1,000 req/s on 2 cores needs ≤ 2 ms)",
            )
        )
        outcome.notes.append(f"poll SQL ({label}): " + " ‖ ".join(poll["sql"]))
    outcome.notes.append(
        f"each poll also opens {poll['connections']} new database connection(s) (SQLite with "
        "CONN_MAX_AGE = 0: a connect plus 4 PRAGMAs, which are not counted as queries)"
    )
    api = counted["api"]
    if not api.get("routed"):
        outcome.rows.append(
            Row(
                "c. queries per API GET /generations/{id}",
                f"could not run: {api['reason']}",
                f"≤ {AIM_QUERIES}",
                could_not_run=True,
            )
        )
        return
    for kind in ("session", "token"):
        stats = api[kind]
        outcome.rows.append(
            Row(
                f"c. queries per API GET /generations/{{id}} ({kind})",
                f"{stats['warm']} (first: {stats['first']})",
                f"≤ {AIM_QUERIES}",
                stats["warm"] <= AIM_QUERIES,
            )
        )
        outcome.notes.append(f"API GET SQL ({kind}, warm): " + " ‖ ".join(stats["sql"]))
        outcome.rows.append(
            Row(
                f"c. queries per API GET /generations/{{id}} ({kind}) with its ETag "
                "as If-None-Match, unchanged",
                f"{stats['conditional']} (HTTP {stats['conditional_status']})",
                f"≤ {AIM_STEADY_QUERIES}",
                stats["conditional"] <= AIM_STEADY_QUERIES and stats["conditional_status"] == 304,
            )
        )
    outcome.notes.append(f"API GET server time in-process: median {ms(api['server_s'])}")


def _sign_in(base: str) -> dict[str, str]:
    """The login form, as a browser uses it: GET for the CSRF cookie, then POST."""
    with httpx.Client(base_url=base, timeout=30.0) as client:
        client.get("/accounts/login/").raise_for_status()
        token = client.cookies.get("csrftoken")
        if not token:
            raise BenchError("the login page set no csrftoken cookie")
        response = client.post(
            "/accounts/login/",
            data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{base}/accounts/login/"},
        )
        if response.status_code != 302 or "sessionid" not in client.cookies:
            raise BenchError(f"sign-in failed: HTTP {response.status_code}")
        return {name: value for name, value in client.cookies.items()}


def _poller_url(base: str, cookies: dict[str, str]) -> str:
    """The studio page's poller URL, as htmx would send it (with its token)."""
    page = httpx.get(base + "/", cookies=cookies, timeout=30.0)
    found = _POLLER.search(page.text)
    if page.status_code != 200 or found is None or "v=" not in found.group(1):
        raise BenchError(f"the studio page (HTTP {page.status_code}) has no poller with a token")
    return html.unescape(found.group(1))


def _check(url: str, cookies: dict[str, str], poll: dict) -> None:
    response = httpx.get(url, cookies=cookies, headers=HX, timeout=30.0)
    if response.status_code != poll["status"]:
        raise BenchError(
            f"through gunicorn the poll answered HTTP {response.status_code}, "
            f"in-process {poll['status']}"
        )
    missing = [pk for pk in poll["tiles"] if f'id="tile-{pk}"' not in response.text]
    if missing:
        raise BenchError(f"the poll's answer lacks tiles {missing}")


def _hammer(
    data: DataDir,
    url: str,
    cookies: dict[str, str],
    headers: dict[str, str],
    duration: float,
    server_pgid: int,
) -> tuple[float, float, str]:
    measure_from = time.time() + 1.5
    spec = {
        "url": url,
        "cookies": cookies,
        "headers": headers,
        "threads": LOAD_THREADS,
        "measure_from": measure_from,
        "measure_until": measure_from + duration,
    }
    procs = []
    try:
        for number in range(LOAD_PROCESSES):
            spec_path = data.path / f"load-{number}.json"
            out_path = data.path / f"load-{number}.out.json"
            out_path.unlink(missing_ok=True)
            spec_path.write_text(json.dumps(spec))
            log = data.logs / f"load-{number}.log"
            proc = spawn(
                [PYTHON, "-m", "bench.load", str(spec_path), str(out_path)], base_env(), log
            )
            procs.append((proc, out_path, log))
        # gunicorn's own CPU over the window: what each request costs the server, whatever
        # the load generator takes from the same cores.
        time.sleep(max(0.0, measure_from - time.time()))
        server_cpu = group_cpu_seconds(server_pgid)
        time.sleep(max(0.0, measure_from + duration - time.time()))
        server_cpu = group_cpu_seconds(server_pgid) - server_cpu
        deadline = measure_from + duration + 30
        for proc, _, log in procs:
            remaining = max(1.0, deadline - time.time())
            try:
                proc.wait(remaining)
            except subprocess.TimeoutExpired:
                raise BenchError(f"a load process did not finish ({tail(log, 3)})") from None
            if proc.returncode != 0:
                raise BenchError(f"a load process failed: {tail(log, 4)}")
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        errors: list[str] = []
        for _, out_path, _ in procs:
            result = json.loads(out_path.read_text())
            latencies += result["latencies"]
            errors += result["errors"]
            for code, n in result["statuses"].items():
                statuses[code] = statuses.get(code, 0) + n
    finally:
        for proc, _, _ in procs:
            stop(proc)
    # 304: a conditional GET answered "not modified", as it should be.
    ok = sum(n for code, n in statuses.items() if code.startswith("2") or code == "304")
    if not latencies:
        raise BenchError(f"no request completed in the window ({errors[:2]})")
    detail = (
        f"{ok:,} × 2xx/304 in {duration:g} s; latency median {ms(percentile(latencies, 50))}, "
        f"p95 {ms(percentile(latencies, 95))}, p99 {ms(percentile(latencies, 99))}; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    per_request = server_cpu / ok if ok and server_cpu > 0 else 0.0
    if per_request:
        detail += (
            f"; gunicorn used {server_cpu / duration:.2f} cores = {ms(per_request)} CPU per "
            f"request, so with all {_cpus()} cores to itself ≤ ~{_cpus() / per_request:,.0f} "
            "req/s"
        )
    if errors:
        detail += f"; errors e.g. {errors[:2]}"
    return ok / duration, per_request, detail


# --- in the Django child ----------------------------------------------------------------------
def child_setup_and_count(pending: int, password: str) -> dict:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.urls import Resolver404, resolve
    from django.utils import timezone

    from bench.inprocess import InProcess
    from imagestudio import catalog
    from imagestudio.api.models import ApiToken
    from imagestudio.studio.models import Batch, Generation, Status

    user = get_user_model().objects.create_user(USERNAME, "bench@example.com", password)
    now = timezone.now()
    # Some history first, so the table is not just the rows asked about.
    history = Batch.objects.create(user=user)
    Generation.objects.bulk_create(
        Generation(
            user=user,
            batch=history,
            model=catalog.ALL,
            prompt=f"earlier image {n}",
            size="",
            size_tier="2k",
            status=Status.SUCCEEDED,
            created_at=now - timedelta(minutes=n + 10),
            finished_at=now - timedelta(minutes=n + 9),
            thumbnail=f"thumbs/2026/01/earlier-{n}.webp",
        )
        for n in range(200)
    )
    batch = Batch.objects.create(user=user)
    rows = Generation.objects.bulk_create(
        Generation(
            user=user,
            batch=batch,
            model=catalog.VIP if n % 2 else catalog.ALL,
            prompt=f"pending image {n}: a lighthouse in a storm, " + "detail " * 40,
            size="2048x2048" if n % 2 else "",
            size_tier="2k",
            status=Status.RUNNING if n % 2 else Status.QUEUED,
            created_at=now - timedelta(seconds=n),
            started_at=now - timedelta(seconds=n) if n % 2 else None,
        )
        for n in range(pending)
    )
    ids = [row.pk for row in rows]

    web = InProcess(user)
    poll_env = {"HTTP_HX_REQUEST": "true"}
    # What htmx sends every 2 s: each pending tile's id with the status the page shows
    # (ids=12:running&ids=13:queued…); and the plain id list, for which every tile is drawn.
    page = web.call("/")[1]
    poller = _POLLER.search(page)
    if poller is None or "v=" not in poller.group(1):
        raise BenchError("the studio page has no poller with a token")
    paths = {
        STEADY: html.unescape(poller.group(1))
        + "&"
        + urlencode([("ids", f"{row.pk}:{row.status}") for row in rows]),
        # Another of the user's images changed: no token holds, the view reads every
        # tile's state and draws none.
        AS_SHOWN: "/poll?" + urlencode([("ids", f"{row.pk}:{row.status}") for row in rows]),
        RERENDER: "/poll?ids=" + ",".join(str(pk) for pk in ids),
    }
    polls: dict = {}
    for name, path in paths.items():
        first = web.count(path, ok=(200, 204), **poll_env)
        warm = web.count(path, ok=(200, 204), **poll_env)
        tiles = [pk for pk in ids if f'id="tile-{pk}"' in warm["body"]]
        if name == RERENDER and len(tiles) != len(ids):
            raise BenchError(f"the poll's answer lacks tiles {sorted(set(ids) - set(tiles))}")
        polls[name] = {
            "path": path,
            "status": warm["status"],
            "tiles": tiles,
            "first": first["queries"],
            "warm": warm["queries"],
            "sql": warm["sql"],
            "connections": warm["connections"],
            "server_s": web.server_time(path, 200, warmup=10, ok=(200, 204), **poll_env)["median"],
        }
    result: dict = {"ids": ids, "polls": polls}

    api_path = f"/api/v1/generations/{ids[0]}"
    try:
        resolve(api_path)
    except Resolver404:
        result["api"] = {"routed": False, "reason": f"{api_path} is not routed yet"}
        return result
    api: dict = {"routed": True}
    for kind, environ in (
        ("session", {}),
        (
            "token",
            {
                "HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user, 'bench')[1]}",
                "HTTP_COOKIE": "",  # a script: no session at all
            },
        ),
    ):
        first = web.count(api_path, **environ)
        warm = web.count(api_path, **environ)
        etag = web.headers(api_path, **environ).get("ETag", "")
        conditional = web.count(api_path, ok=(304,), HTTP_IF_NONE_MATCH=etag, **environ)
        api[kind] = {
            "first": first["queries"],
            "warm": warm["queries"],
            "sql": warm["sql"],
            "conditional": conditional["queries"],
            "conditional_status": conditional["status"],
        }
    api["server_s"] = web.server_time(api_path, 200, warmup=10)["median"]
    result["api"] = api
    return result
