"""(g) A list batch of 200 rows: the server time of the submit, and its queries; then the
batch page's poll.

What a marketer sends from the studio form: "A list", the preset "poster", a template
with two {placeholders} and 200 rows of CSV, count 1; and the same list through the API
(POST /api/v1/generations with template + rows, a bearer token). Each is a real request
through Django's WSGI handler (middleware, session or token, CSRF, the form or pydantic,
the pre-filter on every row, the budget reservation, the batch and its 200 rows in one
transaction, and the 200 jobs handed to the broker after the commit). Server time is the
median of N submits after 2 warm-ups, each a new batch in the same database; no worker
runs, so the jobs stay queued on the filesystem broker of a fresh data dir (SQLite).

Queries are counted at 10 rows and at 200: they must be the same. The same submit with
the broker hand-off replaced by a no-op shows how much of the time is the broker's (the
filesystem broker writes one file per job; a Redis broker would take a round trip each).

Then the poll of that batch's page while it runs, as htmx sends it every 2 s (each row's
`id:status`, no token: something changed), when 2 of its 200 images have just finished:
the summary counts every row, the 2 finished tiles are drawn.
"""

from __future__ import annotations

import csv
import io
import json
import time

from bench.harness import Config, DataDir, Outcome, Row, median, ms

TITLE = "a list batch of 200 rows: submit server time and queries, its page's poll"
ROWS = 200
SMALL = 10
FINISHED = 2
AIM_S = 0.3
TEMPLATE = 'Summer sale poster for {product}, headline "{slogan}", bold typography'
PRODUCTS = ["straw hat", "sunglasses", "beach towel", "flip-flops", "iced tea", "冰爽西瓜汁"]
SLOGANS = ["Shade in style", "See the summer", "Dry in a minute", "Walk light", "冰爽一夏"]
WAYS = ("form", "api")
LABELS = {"form": "studio form (A list, CSV pasted)", "api": "API (template + rows)"}


def run(config: Config) -> Outcome:
    repeats = 5 if config.quick else 15
    outcome = Outcome()
    with DataDir(config, "g") as data:
        data.migrate()
        data.collectstatic()
        result = data.child(
            "list_batch", "measure", timeout=1800, rows=ROWS, small=SMALL, repeats=repeats
        )
    for way in WAYS:
        got = result[way]
        constant = got["queries"] == got["queries_small"]
        outcome.rows.append(
            Row(
                f"g. list batch of {ROWS} rows, {LABELS[way]}: submit server time",
                f"median {ms(got['median'])} (max {ms(got['max'])}), CPU {ms(got['cpu'])}; "
                f"{ms(got['median_no_broker'])} (CPU {ms(got['cpu_no_broker'])}) without "
                f"the broker hand-off; "
                f"{got['queries']} queries ({SMALL} rows: {got['queries_small']})",
                f"≤ {AIM_S * 1000:.0f} ms, constant queries",
                got["median"] <= AIM_S and constant,
            )
        )
    poll = result["poll"]
    outcome.rows.append(
        Row(
            f"g. the batch page's poll, {ROWS} rows, {FINISHED} just finished: server time "
            "in-process",
            f"median {ms(poll['median'])} (max {ms(poll['max'])}); {poll['queries']} queries; "
            f"{poll['tiles']} tiles drawn",
        )
    )
    outcome.notes.append("batch poll SQL: " + " ‖ ".join(poll["sql"]))
    outcome.notes.append(
        f"{ROWS} rows × count 1 = {ROWS} images per submit, preset poster, template "
        f"{TEMPLATE!r}; {repeats} timed submits per way after 2 warm-ups; SQLite, "
        f"filesystem broker, no worker"
    )
    for way in WAYS:
        got = result[way]
        outcome.notes.append(
            f"{LABELS[way]}: answered HTTP {got['status']}; all samples "
            + ", ".join(ms(s) for s in got["samples"])
        )
        outcome.notes.append(f"{LABELS[way]} SQL at {ROWS} rows: " + " ‖ ".join(got["sql"]))
    return outcome


# --- in the Django child ----------------------------------------------------------------------
def _rows(n: int) -> list[dict[str, str]]:
    return [
        {
            "product": f"{PRODUCTS[i % len(PRODUCTS)]} no. {i + 1}",
            "slogan": SLOGANS[i % len(SLOGANS)],
        }
        for i in range(n)
    ]


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["product", "slogan"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class _Submitter:
    """POSTs through Django's WSGI handler as the browser (session + CSRF, htmx) or as an
    API client (bearer token), and answers (status, seconds)."""

    def __init__(self, user) -> None:
        from django.core.handlers.wsgi import WSGIHandler
        from django.test import Client, RequestFactory

        from imagestudio.api.models import ApiToken

        self.handler = WSGIHandler()
        self.factory = RequestFactory(HTTP_HOST="localhost")
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        session = client.cookies["sessionid"].value
        # The studio page sets the CSRF cookie; its secret is also a valid header token.
        status, cookies = self._call(self.factory.get("/", HTTP_COOKIE=f"sessionid={session}"))
        if status != 200 or "csrftoken" not in cookies:
            raise RuntimeError(f"the studio page answered {status} without a CSRF cookie")
        self.csrf = cookies["csrftoken"]
        self.cookie = f"sessionid={session}; csrftoken={self.csrf}"
        _token, raw = ApiToken.issue(user, "bench")
        self.authorization = f"Bearer {raw}"

    def _call(self, request) -> tuple[int, dict[str, str]]:
        from http.cookies import SimpleCookie

        statuses: list[str] = []
        headers: list[tuple[str, str]] = []

        def start(status, response_headers, exc_info=None):
            statuses.append(status)
            headers.extend(response_headers)

        response = self.handler(request.environ, start)
        try:
            b"".join(response)
        finally:
            response.close()
        cookies: dict[str, str] = {}
        for name, value in headers:
            if name.lower() == "set-cookie":
                cookies.update({k: m.value for k, m in SimpleCookie(value).items()})
        return int(statuses[0].split()[0]), cookies

    def _timed(self, request) -> tuple[int, float, float]:
        """Status, wall seconds and this process's CPU seconds: on a machine busy with
        other work the CPU time says what the submit itself costs."""
        wall, cpu = time.perf_counter(), time.process_time()
        status, _ = self._call(request)
        return status, time.perf_counter() - wall, time.process_time() - cpu

    def form(self, rows: list[dict[str, str]]) -> tuple[int, float, float]:
        data = {
            "mode": "list",
            "preset": "poster",
            "template": TEMPLATE,
            "items": _csv(rows),
            "count": "1",
            "fallback_2k": "on",
        }
        request = self.factory.post(
            "/generate",
            data,
            HTTP_COOKIE=self.cookie,
            HTTP_X_CSRFTOKEN=self.csrf,
            HTTP_HX_REQUEST="true",
        )
        return self._timed(request)

    def api(self, rows: list[dict[str, str]]) -> tuple[int, float, float]:
        body = json.dumps({"preset": "poster", "template": TEMPLATE, "rows": rows})
        request = self.factory.post(
            "/api/v1/generations",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=self.authorization,
        )
        return self._timed(request)


def _count(send, rows: list[dict[str, str]]) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.inprocess import short_sql

    connection.ensure_connection()
    with CaptureQueriesContext(connection) as queries:
        status, *_ = send(rows)
    return {
        "status": status,
        "queries": len(queries.captured_queries),
        "sql": [short_sql(q["sql"], 160) for q in queries.captured_queries],
    }


def child_measure(rows: int, small: int, repeats: int) -> dict:
    from unittest import mock

    from django.contrib.auth import get_user_model

    from imagestudio.studio import services
    from imagestudio.studio.models import Batch

    user = get_user_model().objects.create_user("marketer", "m@example.com", None)
    submitter = _Submitter(user)
    big, little = _rows(rows), _rows(small)
    ok = {"form": (200,), "api": (202,)}
    result: dict = {}
    for way in WAYS:
        send = getattr(submitter, way)
        # The first request of a process reads what later ones have cached (the
        # content types, say): not the submit's own queries.
        send(little)
        counted_small = _count(send, little)
        counted = _count(send, big)
        for counted_one in (counted_small, counted):
            if counted_one["status"] not in ok[way]:
                raise RuntimeError(f"{way} submit answered HTTP {counted_one['status']}")
        last = Batch.objects.order_by("-pk").first()
        if last is None or last.generations.count() != rows:
            raise RuntimeError(f"{way} submit did not make a batch of {rows} images")
        for _ in range(2):
            send(big)
        samples, cpu = [], []
        for _ in range(repeats):
            status, seconds, cpu_seconds = send(big)
            if status not in ok[way]:
                raise RuntimeError(f"{way} submit answered HTTP {status}")
            samples.append(seconds)
            cpu.append(cpu_seconds)
        with mock.patch.object(services, "enqueue", lambda ids: None):
            quiet = [send(big) for _ in range(repeats)]
        result[way] = {
            "status": counted["status"],
            "queries": counted["queries"],
            "queries_small": counted_small["queries"],
            "sql": counted["sql"],
            "median": median(samples),
            "max": max(samples),
            "samples": samples,
            "cpu": median(cpu),
            "median_no_broker": median(q[1] for q in quiet),
            "cpu_no_broker": median(q[2] for q in quiet),
        }
    result["poll"] = _poll(user, repeats)
    return result


def _poll(user, repeats: int) -> dict:
    from django.utils import timezone

    from bench.inprocess import InProcess
    from imagestudio.studio.models import Batch, Status

    batch = Batch.objects.filter(user=user).order_by("-pk").first()
    assert batch is not None
    rows = list(batch.generations.order_by("id"))
    finished = [g.pk for g in rows[:FINISHED]]
    batch.generations.filter(pk__in=finished).update(
        status=Status.SUCCEEDED, finished_at=timezone.now(), thumbnail="thumbs/bench.webp"
    )
    path = f"/batches/{batch.pk}/poll?" + "&".join(f"ids={g.pk}:{g.status}" for g in rows)
    web = InProcess(user)
    environ = {"HTTP_HX_REQUEST": "true"}
    counted = web.count(path, **environ)
    drawn = [pk for pk in finished if f'id="tile-{pk}"' in counted["body"]]
    if len(drawn) != FINISHED or counted["body"].count("<article") != FINISHED:
        raise RuntimeError(f"the batch poll drew {counted['body'].count('<article')} tiles")
    timed = web.server_time(path, repeats * 2, **environ)
    return {
        "median": timed["median"],
        "max": timed["max"],
        "queries": counted["queries"],
        "sql": counted["sql"],
        "tiles": len(drawn),
    }
