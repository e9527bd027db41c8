"""Requests served in-process, in a Django child, the way gunicorn has Django serve them.

Django's WSGIHandler with a signed-in session cookie: unlike the test Client it closes the
database connection at the end of each request (CONN_MAX_AGE = 0 on SQLite), so the
per-request connection shows up as it does in production. Import only after django.setup().
"""

from __future__ import annotations

import time

from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.db.backends.signals import connection_created
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from bench.harness import BenchError, median


def short_sql(sql: str, limit: int = 260) -> str:
    """The statement without its column list: what is read from where is what matters."""
    if sql.startswith("SELECT "):
        head, sep, rest = sql.partition(" FROM ")
        if sep:
            sql = f"SELECT … FROM {rest}"
    sql = sql.replace('"', "")
    return sql if len(sql) <= limit else sql[: limit - 1] + "…"


class InProcess:
    def __init__(self, user=None) -> None:
        self.handler = WSGIHandler()
        self.factory = RequestFactory(HTTP_HOST="localhost")
        self.cookie = ""
        if user is not None:
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            self.cookie = f"sessionid={client.cookies['sessionid'].value}"
        self._opened: list[int] = []
        connection_created.connect(self._on_connect, weak=False)

    def _on_connect(self, **kwargs) -> None:
        self._opened.append(1)

    def call(self, path: str, **environ: str) -> tuple[int, str]:
        if self.cookie and "HTTP_COOKIE" not in environ:
            environ["HTTP_COOKIE"] = self.cookie
        statuses: list[str] = []
        request = self.factory.get(path, **environ)
        response = self.handler(request.environ, lambda status, headers: statuses.append(status))
        try:
            body = b"".join(response)
        finally:
            response.close()
        return int(statuses[0].split()[0]), body.decode("utf-8", "replace")

    def headers(self, path: str, **environ: str) -> dict[str, str]:
        """The answer's headers."""
        if self.cookie and "HTTP_COOKIE" not in environ:
            environ["HTTP_COOKIE"] = self.cookie
        found: list[list[tuple[str, str]]] = []
        request = self.factory.get(path, **environ)
        response = self.handler(request.environ, lambda status, headers: found.append(headers))
        try:
            b"".join(response)
        finally:
            response.close()
        return dict(found[0])

    def count(self, path: str, ok: tuple[int, ...] = (200,), **environ: str) -> dict:
        """Queries (and new connections) of one request, which must answer one of `ok`."""
        # Open first: CaptureQueriesContext would otherwise open one that the request's
        # start closes again, and that one is not the request's.
        connection.ensure_connection()
        self._opened.clear()
        executed: list[tuple[str, object]] = []

        def record(execute, sql, params, many, context):
            executed.append((sql, params))
            return execute(sql, params, many, context)

        with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(record):
            status, body = self.call(path, **environ)
        if status not in ok:
            raise BenchError(f"{path} answered HTTP {status}")
        return {
            "status": status,
            "queries": len(queries.captured_queries),
            "sql": [short_sql(q["sql"]) for q in queries.captured_queries],
            # As executed, with parameters apart: SQLite may plan a statement differently
            # once values are inlined.
            "executed": executed,
            "connections": len(self._opened),
            "body": body,
        }

    def server_time(
        self, path: str, n: int, warmup: int = 3, ok: tuple[int, ...] = (200,), **environ: str
    ) -> dict:
        for _ in range(warmup):
            self.call(path, **environ)
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            status, _ = self.call(path, **environ)
            samples.append(time.perf_counter() - started)
            if status not in ok:
                raise BenchError(f"{path} answered HTTP {status}")
        return {"median": median(samples), "max": max(samples), "n": n}
