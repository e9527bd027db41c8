"""(i) Load on the scale-out profile: 200 images from 10 users at once, 100 pages polling.

The profile as the Procfile deploys it: PostgreSQL (a throwaway database,
imagestudio_bench_i, dropped afterwards), Redis as broker and cache (databases 13 and 12,
flushed before and after), 2 Celery worker processes (threads pool, the default
concurrency of 128 each: 256 gateway calls at once) and gunicorn with its defaults
(imagestudio/gunicorn_conf.py: a gthread worker per core, 8 threads), against the
simulator at a fixed latency L. No beat: nothing here is stale.

Before the clock: 10 users (API token and session each) have 10 studio pages each open
(`/` loaded with the session cookie; nothing pending yet), and gunicorn has served each
kind of request once. Then the 10 users each POST 20 prompts to /api/v1/generations with
their bearer token, all at the same moment, from 10 threads. As a user's answer comes
in, their 20 new tiles are on each of their 10 pages, and each page behaves as htmx and
studio.js make it: every 2 s (each page in its own phase) it GETs its poller's URL (`/poll`
at first, then the one each answer swaps in, with its token: studio.changes) with the
`id:status` of its pending tiles, takes the changed tiles from the answer, stops at HTTP
286; when a tile stopped being pending it also asks for the budget line (GET `/`,
HX-Target) and the form's feedback (POST `/check`), as the `studio:images-finished` event
makes the page do (at the first, then at most every 10 s, and once after the last). A poll
still out when the next is due is followed at once by one more, as htmx queues it. Each
poll's latency is measured client-side, send to last byte.

Reported: wall time (just before the 10 submits → the last `finished_at`) / L, aiming at
what 200 images on 256 slots imply (1 wave, ~L, plus the work after each answer);
p50 and p99 poll latency; nothing lost: 200 terminal, and the ledger's billed calls equal
to the simulator's own count of billed calls. The run ends when every page has stopped,
or when no tile changed on any page for 20 s + 2 L (what is pending then stays so). L is
10 s (3 s with --quick); SCALEOUT_BENCH_POSTGRES / _REDIS / _CONCURRENCY change the
servers and the worker concurrency by hand.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import httpx

from bench.harness import (
    PYTHON,
    BenchError,
    Config,
    CpuSampler,
    DataDir,
    Outcome,
    Row,
    free_port,
    group_cpu_seconds,
    median,
    ms,
    percentile,
    spawn,
    start_simulator,
    stop,
    tail,
    wait_for_http,
    wait_for_log,
)
from imagestudio.gunicorn_conf import cores

TITLE = "scale-out load: 200 images from 10 users while 100 pages poll (PostgreSQL, Redis)"
USERS = 10
PER_USER = 20
IMAGES = USERS * PER_USER
PAGES_PER_USER = 10
PAGES = USERS * PAGES_PER_USER
POLL_EVERY = 2.0
# static/studio.js's FINISHED_EVERY, in seconds.
FINISHED_EVERY = 10.0
WORKERS = 2
# The default of IMAGESTUDIO_WORKER_CONCURRENCY; another value, to see the profile at a
# size the database server takes, only by hand.
CONCURRENCY = int(os.environ.get("SCALEOUT_BENCH_CONCURRENCY", "128"))
# gunicorn's defaults (imagestudio/gunicorn_conf.py), for the pool sizes and the warm-up.
WEB_WORKERS = cores()
WEB_THREADS = 8
# 1K -vip, as in (a): drawing and thumbnailing are cheap, so L dominates.
MODEL = "gpt-image-2-vip"
SIZE = "1280x720"
DATABASE = "imagestudio_bench_i"
POSTGRES = os.environ.get("SCALEOUT_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("SCALEOUT_BENCH_REDIS", "redis://127.0.0.1:6379")
# Not 14/15: the scale-out tests (tests/scaleout.py) flush those.
BROKER_DB, CACHE_DB = 13, 12
WAVES = -(-IMAGES // (WORKERS * CONCURRENCY))
# Issue 26's aims: the gateway's latency is the limit, the studio's overhead half an L at
# most (which takes every image in one wave); a poll answered well inside its interval.
AIM_WALL_RATIO = 1.5
AIM_P50_S = 0.1
AIM_P99_S = 0.3
HX = {"HX-Request": "true"}
PENDING = ("queued", "running")
_TILE = re.compile(r'<article class="tile tile--(\w+)" id="tile-(\d+)"')
_POLLER = re.compile(r'<div id="poller"[^>]*hx-get="([^"]+)"')
_CSRF = re.compile(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'")
_ENDED = re.compile(r"Task \S+ (?:succeeded in|raised) ")
# A keep-alive connection the server closed just as the next request went out: a browser
# sends that request again on a new connection, so the page does too (once).
_RETRYABLE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.ConnectError)


def run(config: Config) -> Outcome:
    latency = 3.0 if config.quick else 10.0
    _require_servers()
    server_limit = _reset_servers()
    try:
        return _run(config, latency, server_limit)
    finally:
        if not config.keep:
            _reset_servers(drop_only=True)


def _require_servers() -> None:
    for name, url, default_port in (("PostgreSQL", POSTGRES, 5432), ("Redis", REDIS, 6379)):
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or default_port
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            raise BenchError(
                f"{name} at {host}:{port} does not answer ({exc.strerror or exc}); "
                "the scale-out profile needs it"
            ) from None


def _reset_servers(drop_only: bool = False) -> str:
    """A fresh database and empty Redis databases; what the server's connections allow."""
    import psycopg
    import redis
    from psycopg import sql

    try:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
            )
            if not drop_only:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
            row = conn.execute(
                "SELECT current_setting('max_connections')::int, count(*) FROM pg_stat_activity"
                " WHERE backend_type = 'client backend'"
            ).fetchone()
        for db in (BROKER_DB, CACHE_DB):
            with redis.Redis.from_url(f"{REDIS}/{db}", socket_timeout=5) as client:
                client.flushdb()
    except (psycopg.Error, redis.RedisError) as exc:
        raise BenchError(f"could not reset the bench's database or Redis: {exc}") from None
    return f"max_connections {row[0]}, {row[1]} in use before the run" if row else "?"


class _ConnectionPeak:
    """The most connections the bench's database had at once, sampled in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5) as conn:
            while not self._done.wait(0.2):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [DATABASE]
                ).fetchone()
                self.peak = max(self.peak, row[0] if row else 0)

    def stop(self) -> int:
        self._done.set()
        self._thread.join(5)
        return self.peak


def _run(config: Config, latency: float, server_limit: str) -> Outcome:
    outcome = Outcome()
    side: dict = {
        "server_limit": server_limit,
        # A pool per process since bench i found 2 × 64 worker threads each keeping one.
        "may_hold": (WORKERS + WEB_WORKERS) * int(os.environ.get("IMAGESTUDIO_DB_POOL_SIZE", "10")),
    }
    with DataDir(config, "i") as data:
        data.extra.update(
            DATABASE_URL=f"{POSTGRES}/{DATABASE}",
            CELERY_BROKER_URL=f"{REDIS}/{BROKER_DB}",
            IMAGESTUDIO_CACHE_URL=f"{REDIS}/{CACHE_DB}",
        )
        data.migrate()
        data.collectstatic()
        users = data.child("scaleout_load", "setup", timeout=120, users=USERS)["users"]
        sim, gateway = start_simulator(latency, data.logs)
        data.use_simulator(gateway)
        workers, web = [], None
        try:
            for number in range(1, WORKERS + 1):
                log = data.logs / f"worker-{number}.log"
                workers.append(
                    (
                        spawn(
                            [PYTHON, "-m", "celery", "-A", "imagestudio", "worker"]
                            + ["--pool", "threads", "--concurrency", str(CONCURRENCY)]
                            + ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
                            + ["--hostname", f"bench-i-{number}@%h"],
                            data.env(IMAGESTUDIO_WORKER_CONCURRENCY=str(CONCURRENCY)),
                            log,
                        ),
                        log,
                    )
                )
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            web_log = data.logs / "gunicorn.log"
            web = spawn(
                [PYTHON, "-m", "gunicorn", "--config", "python:imagestudio.gunicorn_conf"]
                + ["imagestudio.wsgi:application", "--bind", f"127.0.0.1:{port}"],
                data.env(),
                web_log,
            )
            for worker, log in workers:
                wait_for_log(log, " ready.", worker, timeout=90)
            wait_for_http(f"{base}/accounts/login/", web, web_log, timeout=90)
            _warm_up(base, users[0])
            groups = {"gunicorn": web.pid, "simulator": sim.pid}
            groups.update({f"worker {n}": w.pid for n, (w, _) in enumerate(workers, 1)})
            load = Load()
            pages = _open_pages(base, users, load)
            peak = _ConnectionPeak()
            try:
                _load(base, users, latency, groups, pages, load)
            finally:
                side["peak"] = peak.stop()
                for page in pages:
                    page.client.close()
            for name, proc, log in [("gunicorn", web, web_log)] + [
                (f"worker {n}", w, log) for n, (w, log) in enumerate(workers, 1)
            ]:
                if proc.poll() is not None:
                    raise BenchError(f"{name} exited with {proc.returncode} ({tail(log, 4)})")
            tally = data.child("scaleout_load", "tally", timeout=120, started=load.started)
            side["billed"] = _billed(gateway)
        finally:
            if web is not None:
                stop(web)
            for worker, _ in workers:
                stop(worker)
            stop(sim)
        logs = [log.read_text(errors="replace") for _, log in workers]
        side["handled"] = [len(_ENDED.findall(text)) for text in logs]
        logs.append(web_log.read_text(errors="replace"))
        side["too_many"] = sum(text.count("too many clients") for text in logs)
    _report(outcome, latency, load, tally, side)
    return outcome


def _warm_up(base: str, user: dict) -> None:
    """A web app that has been up a while: each gunicorn process has imported its views,
    compiled the pre-filter's terms and connected to PostgreSQL and Redis before the
    clock starts. Enough requests at once that both processes get some."""

    def visit(_: int) -> None:
        with httpx.Client(
            base_url=base, cookies={"sessionid": user["session"]}, timeout=60.0
        ) as client:
            page = client.get("/")
            csrf = _CSRF.search(page.text)
            client.post(
                "/check",
                headers={**HX, "X-CSRFToken": csrf.group(1) if csrf else ""},
                data={"model": MODEL, "size": SIZE, "prompt": "a lighthouse", "count": "1"},
            )
            client.get("/poll", headers=HX)
        httpx.get(
            f"{base}/api/v1/generations",
            headers={"Authorization": f"Bearer {user['token']}"},
            timeout=60.0,
        )

    try:
        with ThreadPoolExecutor(max_workers=WEB_WORKERS * WEB_THREADS) as pool:
            list(pool.map(visit, range(2 * WEB_WORKERS * WEB_THREADS)))
    except httpx.HTTPError as exc:
        raise BenchError(f"warming gunicorn up: {type(exc).__name__}: {exc}") from None


def _billed(gateway: str) -> int:
    response = httpx.get(gateway.removesuffix("/v1") + "/healthz", timeout=5)
    response.raise_for_status()
    return int(response.json()["billed_calls"])


# --- the load: 10 users submit, 100 pages poll -------------------------------------------------
@dataclass
class Load:
    started: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    submits: list[float] = field(default_factory=list)
    submit_errors: list[str] = field(default_factory=list)
    accepted: int = 0
    opens: list[float] = field(default_factory=list)
    # (latency, HTTP status or exception name, seconds after the first submit)
    polls: list[tuple[float, str, float]] = field(default_factory=list)
    late_polls: int = 0
    retries: int = 0
    followups: list[tuple[float, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pages: int = 0
    pages_done: int = 0
    last_change: float = 0.0
    gave_up: str = ""
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    sampler: CpuSampler | None = None

    def error(self, text: str) -> None:
        with self.lock:
            if len(self.errors) < 5:
                self.errors.append(text)


@dataclass
class Page:
    """One open studio page: its own keep-alive connection, the session's cookies (and
    the CSRF cookie its load set), and the CSRF token htmx sends from the page."""

    user: int
    client: httpx.Client
    csrf: str


def _open_pages(base: str, users: list[dict], load: Load) -> list[Page]:
    """The pages are open before anyone submits: loaded a few at a time, off the clock."""

    def open_one(number: int) -> Page:
        user = number // PAGES_PER_USER
        client = httpx.Client(
            base_url=base, cookies={"sessionid": users[user]["session"]}, timeout=30.0
        )
        sent = time.monotonic()
        page = _send(client, load, "GET", "/")
        took = time.monotonic() - sent
        csrf = _CSRF.search(page.text)
        if page.status_code != 200 or csrf is None:
            client.close()
            raise BenchError(f"a studio page answered HTTP {page.status_code} without a form")
        with load.lock:
            load.opens.append(took)
        return Page(user, client, csrf.group(1))

    try:
        with ThreadPoolExecutor(max_workers=WEB_THREADS) as pool:
            return list(pool.map(open_one, range(len(users) * PAGES_PER_USER)))
    except httpx.HTTPError as exc:
        raise BenchError(f"opening the pages: {type(exc).__name__}: {exc}") from None


def _load(
    base: str,
    users: list[dict],
    latency: float,
    groups: dict[str, int],
    pages: list[Page],
    load: Load,
) -> None:
    load.pages = len(pages)
    go = threading.Event()
    give_up = threading.Event()
    pollers: list[threading.Thread] = []
    pollers_lock = threading.Lock()
    followups = ThreadPoolExecutor(max_workers=32, thread_name_prefix="followup")

    def submit(number: int, user: dict) -> None:
        prompts = [
            f"user {number} poster {n}: a lighthouse at dusk, warm light" for n in range(PER_USER)
        ]
        with httpx.Client(base_url=base, timeout=120.0) as client:
            go.wait()
            sent = time.monotonic()
            try:
                response = client.post(
                    "/api/v1/generations",
                    json={"model": MODEL, "size": SIZE, "prompts": prompts},
                    headers={"Authorization": f"Bearer {user['token']}"},
                )
            except httpx.HTTPError as exc:
                with load.lock:
                    load.submit_errors.append(f"user {number}: {type(exc).__name__}: {exc}")
                return
            took = time.monotonic() - sent
        with load.lock:
            load.submits.append(took)
            if response.status_code != 202:
                load.submit_errors.append(f"user {number}: HTTP {response.status_code}")
                return
            load.accepted += 1
        tiles = {str(g["id"]): g["status"] for g in response.json()["generations"]}
        # The new tiles are on each of the user's open pages; each page's poller keeps its
        # own rhythm, so their first polls spread over the next interval.
        now = time.monotonic()
        mine = [page for page in pages if page.user == number]
        for index, page in enumerate(mine):
            first = now + (index + 1 - number / USERS) / len(mine) * POLL_EVERY
            thread = threading.Thread(
                target=_poll_page,
                args=(page, dict(tiles), first, load, followups, give_up),
                name=f"page-{number}-{index}",
            )
            with pollers_lock:
                pollers.append(thread)
            thread.start()

    submitters = [
        threading.Thread(target=submit, args=(n, u), name=f"submit-{n}")
        for n, u in enumerate(users)
    ]
    for thread in submitters:
        thread.start()
    time.sleep(0.2)  # every submitter is waiting on `go` with its client ready
    cpu_before = {name: group_cpu_seconds(pgid) for name, pgid in groups.items()}
    # Through the run too, for the CPU each used after the first answer (_floor).
    load.sampler = CpuSampler(read=group_cpu_seconds, every=0.25, **groups).start()
    own_before = time.process_time()
    load.started = time.time()
    clock = time.monotonic()
    go.set()
    deadline = clock + latency * (WAVES + 2) + 120
    # Nothing changed on any page for this long: what is still pending will stay so (a
    # job the worker dropped stays queued until beat's sweep, which is not running here).
    stall = 20 + 2 * latency
    load.last_change = clock
    try:
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with pollers_lock:
                running = list(pollers)
            if not any(t.is_alive() for t in submitters + running):
                break
            if now > deadline or now - load.last_change > stall:
                load.gave_up = f"no tile changed for {now - load.last_change:.0f} s"
                break
        elapsed = load.elapsed = time.monotonic() - clock
        load.cpu = {
            name: (group_cpu_seconds(pgid) - cpu_before[name]) / elapsed
            for name, pgid in groups.items()
        }
        load.cpu["load generator (this process)"] = (time.process_time() - own_before) / elapsed
    finally:
        load.sampler.stop()
        give_up.set()
        for thread in submitters:
            thread.join(130)
        with pollers_lock:
            running = list(pollers)
        for thread in running:
            thread.join(40)
        followups.shutdown(wait=True, cancel_futures=True)
    if not load.accepted:
        raise BenchError(f"no submit was accepted: {load.submit_errors[:2]}")


def _poll_page(
    page: Page,
    tiles: dict[str, str],
    first: float,
    load: Load,
    followups: ThreadPoolExecutor,
    give_up: threading.Event,
) -> None:
    """The page's poller as htmx and studio.js drive it: `every 2s` on a fixed rhythm,
    the pending tiles' `id:status`, the changed tiles taken from the answer, 286 stops it."""
    due = first
    url = "/poll"
    # studio.js asks for the spend line and the hint at the first finished tile, then at
    # most every FINISHED_EVERY s while more finish, and once after the last.
    asked, owed = -FINISHED_EVERY, False
    while tiles and not give_up.wait(max(0.0, due - time.monotonic())):
        sent = time.monotonic()
        # Added to the poller's URL, as hx-include does: httpx's params= would replace its
        # query, token and all (every poll then ran the view).
        ids = urlencode([("ids", f"{pk}:{status}") for pk, status in tiles.items()])
        try:
            answer = _send(
                page.client, load, "GET", f"{url}{'&' if '?' in url else '?'}{ids}", headers=HX
            )
            response: httpx.Response | None = answer
            code = str(answer.status_code)
        except httpx.HTTPError as exc:
            response, code = None, type(exc).__name__
            load.error(f"poll: {code}: {exc}")
        done = time.monotonic()
        with load.lock:
            load.polls.append((done - sent, code, time.time() - load.started))
        finished = changed = False
        if response is not None and response.status_code in (200, 286):
            for status, pk in _TILE.findall(response.text):
                if pk not in tiles:
                    continue
                changed = True
                if status in PENDING:
                    tiles[pk] = status
                else:
                    del tiles[pk]
                    finished = True
            if response.status_code == 286:
                tiles.clear()
            poller = _POLLER.search(response.text)
            if poller is not None:
                # The poller swapped in out of band: its next URL (a token, studio.changes).
                url = html.unescape(poller.group(1))
        if changed:
            with load.lock:
                load.last_change = done
        if finished:
            owed = True
        if owed and time.monotonic() - asked >= FINISHED_EVERY and not give_up.is_set():
            owed, asked = False, time.monotonic()
            with contextlib.suppress(RuntimeError):  # the run is over: shut down
                followups.submit(_images_finished, page, load)
        due += POLL_EVERY
        if done > due:
            # The poll outlived its interval: htmx's timer kept its rhythm and queued one
            # request (the ticks after it are dropped), sent as this one ends.
            with load.lock:
                load.late_polls += 1
            while due + POLL_EVERY <= done:
                due += POLL_EVERY
    if owed and not give_up.wait(max(0.0, asked + FINISHED_EVERY - time.monotonic())):
        with contextlib.suppress(RuntimeError):
            followups.submit(_images_finished, page, load)


def _images_finished(page: Page, load: Load) -> None:
    """studio:images-finished: the budget line and the form's feedback ask again."""
    for method, path, kwargs in (
        ("GET", "/", {"headers": {**HX, "HX-Target": "budget-line", "HX-Trigger": "budget-line"}}),
        (
            "POST",
            "/check",
            {
                "headers": {**HX, "X-CSRFToken": page.csrf, "HX-Target": "feedback"},
                "data": {"model": MODEL, "size": SIZE, "prompt": "", "count": "1"},
            },
        ),
    ):
        sent = time.monotonic()
        try:
            code = str(_send(page.client, load, method, path, **kwargs).status_code)
        except httpx.HTTPError as exc:
            code = type(exc).__name__
            load.error(f"{method} {path}: {code}: {exc}")
        with load.lock:
            load.followups.append((time.monotonic() - sent, f"{method} {path} {code}"))


def _send(client: httpx.Client, load: Load, method: str, path: str, **kwargs) -> httpx.Response:
    try:
        return client.request(method, path, **kwargs)
    except _RETRYABLE:
        with load.lock:
            load.retries += 1
        return client.request(method, path, **kwargs)


# --- the report -------------------------------------------------------------------------------
def _report(outcome: Outcome, latency: float, load: Load, tally: dict, side: dict) -> None:
    label = f"i. {IMAGES} images from {USERS} users at once, {PAGES} pages polling"
    setup = f"{WORKERS} workers × {CONCURRENCY}, PostgreSQL + Redis, gunicorn"
    complete = tally["terminal"] == tally["total"] == IMAGES
    wall = tally["wall_s"]
    measured = f"{wall / latency:.2f} × L ({wall:.1f} s, L = {latency:g} s)"
    if not complete:
        measured = (
            f"not measured: {tally['terminal']}/{IMAGES} terminal when the run ended "
            f"({load.gave_up or 'every page had stopped'}); the last of those at {measured}"
        )
    outcome.rows.append(
        Row(
            f"{label}: wall time / L ({setup})",
            measured,
            f"≤ {AIM_WALL_RATIO:g} × L ({WAVES} wave(s) of {WORKERS * CONCURRENCY} slots: "
            f"≥ {WAVES} × L)",
            complete and wall / latency <= AIM_WALL_RATIO,
        )
    )
    latencies = [seconds for seconds, _, _ in load.polls]
    statuses = Counter(code for _, code, _ in load.polls)
    bad = sum(n for code, n in statuses.items() if code not in ("200", "204", "286"))
    if latencies:
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        outcome.rows.append(
            Row(
                f"{label}: poll latency (the poller's URL every {POLL_EVERY:g} s, gunicorn)",
                f"p50 {ms(p50)}, p99 {ms(p99)} (max {ms(max(latencies))}; {len(latencies):,} "
                f"polls from {load.pages} pages, {bad} not answered 2xx)",
                f"p50 ≤ {ms(AIM_P50_S)}, p99 ≤ {ms(AIM_P99_S)}, all 2xx",
                p50 <= AIM_P50_S and p99 <= AIM_P99_S and bad == 0,
            )
        )
    else:
        outcome.rows.append(
            Row(f"{label}: poll latency", f"could not run: no poll was made ({load.errors[:2]})")
        )
        outcome.rows[-1].could_not_run = True
    by_status = ", ".join(f"{n} {status}" for status, n in sorted(tally["by_status"].items()))
    refused = f"; submits accepted {load.accepted}/{USERS} ({', '.join(load.submit_errors)})"
    outcome.rows.append(
        Row(
            f"{label}: nothing lost",
            f"{tally['terminal']}/{IMAGES} terminal ({by_status or 'none created'}); ledger "
            f"{tally['ledger_billed']} billed calls, simulator {side['billed']}"
            + (refused if load.accepted != USERS else ""),
            "all terminal, ledger = simulator",
            complete and tally["ledger_billed"] == side["billed"],
        )
    )
    submits = f"median {ms(median(load.submits))}, max {ms(max(load.submits))}"
    opens = f"median {ms(median(load.opens))}, max {ms(max(load.opens))}" if load.opens else "—"
    outcome.notes += [
        f"i: L = {latency:g} s; {USERS} users × POST /api/v1/generations of {PER_USER} prompts "
        f"({MODEL} {SIZE}) with a bearer token, at once: {load.accepted} accepted, answered in "
        f"{submits}",
        f"i: {load.pages} pages ({PAGES_PER_USER} per user), loaded before the submits "
        f"({WEB_THREADS} at a time: {opens}), each polling its user's new tiles from the "
        f"submit's answer on; polls by status {dict(sorted(statuses.items()))}"
        + (
            f"; p90 {ms(percentile(latencies, 90))}, p95 {ms(percentile(latencies, 95))}"
            if latencies
            else ""
        )
        + f"; {load.late_polls} polls outlived their interval; {load.retries} requests sent "
        "again on a fresh connection",
        _phases(load, latency),
        _followups(load),
        f"i: queue: submit → started_at {_spread(tally['wait_s'])}; started → finished "
        f"{_spread(tally['run_s'])} (the calls themselves, as the client measured them: "
        f"{_spread(tally['call_s'])}; the rest, started → finished less the call: "
        f"{_spread(tally['after_s'])}); at most {tally['peak_running']} running at once; tasks "
        f"ended per worker process (their logs): {' / '.join(map(str, side['handled']))}; "
        f"{tally['attempts']} gateway attempts in all",
        f"i: PostgreSQL connections: at most {side['peak']} open during the run (sampled "
        f"every 0.2 s); the pools allow {side['may_hold']} (a pool per web and worker process); "
        "the server: "
        f'{side["server_limit"]}; "too many clients" in the logs: {side["too_many"]}',
        "i: CPU over the run, in cores: "
        + ", ".join(f"{name} {cores:.2f}" for name, cores in load.cpu.items())
        + f" (of {os.cpu_count()}); gunicorn: {ms(_web_cpu_per_request(load))} CPU per "
        "request served",
        _floor(load, tally, latency),
    ]
    if load.errors:
        outcome.notes.append(f"i: errors, e.g. {load.errors}")


def _floor(load: Load, tally: dict, latency: float) -> str:
    """From the first answer on, the studio's own processes (gunicorn, the workers) share
    the cores: spread perfectly over all of them, their CPU could not end the run sooner."""
    answered, ended = tally.get("first_answer_at"), tally.get("ended_at")
    if load.sampler is None or answered is None or ended is None:
        return "i: no floor (no answer, or no CPU samples)"
    cores = os.cpu_count() or 1
    after = load.sampler.used(answered, ended)
    studio = sum(cores_used for name, cores_used in after.items() if name != "simulator")
    floor = answered - load.started + studio / cores
    return (
        f"i: after the first answer ({answered - load.started:.1f} s in) to the last image: "
        + ", ".join(f"{name} {used:.1f} s" for name, used in after.items())
        + f" of CPU; with all {cores} cores to themselves gunicorn and the workers could not "
        f"have ended before {floor:.1f} s ({floor / latency:.2f} × L), PostgreSQL, Redis, "
        "the simulator and the pages' own work left out"
    )


def _web_cpu_per_request(load: Load) -> float:
    served = len(load.polls) + len(load.followups) + len(load.submits)
    return load.cpu.get("gunicorn", 0.0) * load.elapsed / max(1, served)


def _spread(values: dict) -> str:
    if not values:
        return "—"
    return f"median {values['median']:.1f} s, max {values['max']:.1f} s"


def _phases(load: Load, latency: float) -> str:
    """Poll latency by L-long slices of the run: the answers arrive in waves."""
    slices: dict[int, list[float]] = {}
    for seconds, _, at in load.polls:
        slices.setdefault(int(at // latency), []).append(seconds)
    parts = [
        f"{k * latency:g}–{(k + 1) * latency:g} s: {len(v)} polls, p50 {ms(percentile(v, 50))}, "
        f"p99 {ms(percentile(v, 99))}"
        for k, v in sorted(slices.items())
    ]
    return "i: poll latency over time (after the first submit): " + "; ".join(parts)


def _followups(load: Load) -> str:
    if not load.followups:
        return "i: no images-finished requests"
    kinds = Counter(kind for _, kind in load.followups)
    seconds = [s for s, _ in load.followups]
    return (
        f"i: when tiles finished, the pages also sent {len(seconds)} requests "
        f"({dict(sorted(kinds.items()))}): median {ms(median(seconds))}, p99 "
        f"{ms(percentile(seconds, 99))}"
    )


# --- in the Django child ----------------------------------------------------------------------
def child_setup(users: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from imagestudio.api.models import ApiToken

    made = []
    for number in range(users):
        user = get_user_model().objects.create_user(
            f"load{number}", f"load{number}@example.com", None
        )
        client = Client()
        # A session as a sign-in leaves it (in the database and the Redis cache), without
        # ten password hashes and the sign-in throttle in the way.
        client.force_login(user)
        made.append(
            {
                "username": user.username,
                "token": ApiToken.issue(user, "bench i")[1],
                "session": client.cookies["sessionid"].value,
            }
        )
    return {"users": made}


def child_tally(started: float) -> dict:
    from datetime import UTC, datetime

    from django.db.models import Count

    from imagestudio.spend.models import Attempt
    from imagestudio.studio.models import PENDING as PENDING_STATUSES
    from imagestudio.studio.models import Generation

    origin = datetime.fromtimestamp(started, UTC)
    rows = list(Generation.objects.values("pk", "status", "started_at", "finished_at"))
    # Each call's own latency (POST sent → answer, as the client measured it): what is left
    # of started → finished is the claim's tail, the download, the thumbnail and the writes.
    call_s = dict(
        Attempt.objects.filter(billed=True).values_list("generation_id", "latency_ms").order_by()
    )
    by_status = dict(Generation.objects.values_list("status").annotate(n=Count("id")).order_by())
    finished = [r["finished_at"] for r in rows if r["finished_at"]]
    waits = [(r["started_at"] - origin).total_seconds() for r in rows if r["started_at"]]
    runs = [
        (r["finished_at"] - r["started_at"]).total_seconds()
        for r in rows
        if r["started_at"] and r["finished_at"]
    ]
    calls = [ms / 1000 for ms in call_s.values()]
    after = [
        (r["finished_at"] - r["started_at"]).total_seconds() - call_s[r["pk"]] / 1000
        for r in rows
        if r["started_at"] and r["finished_at"] and r["pk"] in call_s
    ]
    events = sorted(
        [(r["started_at"], 1) for r in rows if r["started_at"]]
        + [(r["finished_at"], -1) for r in rows if r["started_at"] and r["finished_at"]],
        key=lambda e: (e[0], e[1]),
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    answers = [
        r["started_at"].timestamp() + call_s[r["pk"]] / 1000
        for r in rows
        if r["started_at"] and r["pk"] in call_s
    ]
    return {
        "total": len(rows),
        "terminal": sum(1 for r in rows if r["status"] not in PENDING_STATUSES),
        # Unix times, for the CPU each process used between them.
        "first_answer_at": min(answers) if answers else None,
        "ended_at": max(finished).timestamp() if finished else None,
        "by_status": by_status,
        "wall_s": (max(finished) - origin).total_seconds() if finished else float("nan"),
        "wait_s": {"median": median(waits), "max": max(waits)} if waits else {},
        "run_s": {"median": median(runs), "max": max(runs)} if runs else {},
        "call_s": {"median": median(calls), "max": max(calls)} if calls else {},
        "after_s": {"median": median(after), "max": max(after)} if after else {},
        "peak_running": peak,
        "ledger_billed": Attempt.objects.filter(billed=True).count(),
        "attempts": Attempt.objects.count(),
    }
