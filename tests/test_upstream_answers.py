"""A malformed gateway answer is still the attempt it was: a 200 the client cannot read
(JSON nested without end, or an answer longer than the cap) is billed under the gateway's
rule and leaves a ledger row, never an internal_error; the answer is capped while it
streams, so an endless body does not grow the worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from imagestudio import catalog
from imagestudio.studio.models import Status
from imagestudio.studio.tasks import run_generation
from imagestudio.upstream import types as t
from imagestudio.upstream.client import reset_client
from tests.factories import make_generation
from tests.test_upstream_client import PRICE, Gateway, run

DEEP = b'{"data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
CHUNK = 64 * 1024


def test_a_200_nested_without_end_is_a_billed_unreadable_answer():
    result, _ = run(Gateway(httpx.Response(200, content=DEEP)), max_attempts=1)

    assert not result.ok
    (attempt,) = result.attempts
    assert (attempt.outcome, attempt.billed, attempt.amount) == (t.Outcome.BAD_IMAGE, True, PRICE)
    assert result.failure is not None and result.failure.code == "bad_response"


def test_an_error_status_nested_without_end_is_not_billed():
    result, _ = run(Gateway(httpx.Response(500, content=DEEP)), max_attempts=1)

    (attempt,) = result.attempts
    assert not attempt.billed and attempt.amount == Decimal("0")


def test_an_endless_answer_is_read_only_up_to_the_cap_and_billed():
    produced = [0]

    def endless() -> Iterator[bytes]:
        while True:
            produced[0] += CHUNK
            yield b"A" * CHUNK

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    result, _ = run(Gateway(answer), max_attempts=1, download_max_bytes=1024 * 1024)

    (attempt,) = result.attempts
    assert (attempt.outcome, attempt.billed) == (t.Outcome.BAD_IMAGE, True)
    cap = 1024 * 1024 * 4 // 3 + 2 * 1024 * 1024
    assert cap < produced[0] <= cap + 2 * CHUNK


def test_a_declared_length_past_the_cap_is_not_read_at_all():
    produced = [0]

    def body() -> Iterator[bytes]:
        produced[0] += CHUNK
        yield b"A" * CHUNK

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"content-length": str(10**9)})

    result, _ = run(Gateway(answer), max_attempts=1, download_max_bytes=1024 * 1024)

    assert result.attempts[0].billed
    assert produced[0] == 0


# -- through the worker, over real HTTP -------------------------------------------------------
class _Deep(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(DEEP)))
        self.end_headers()
        self.wfile.write(DEEP)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def deep_gateway(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Deep)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.UPSTREAM_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}/v1"
    settings.UPSTREAM_API_KEY = "sk-test"
    settings.UPSTREAM_MAX_ATTEMPTS = 1
    reset_client()
    yield
    reset_client()
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_the_worker_records_a_bottomless_answer_as_a_billed_failed_attempt(owner, deep_gateway):
    generation = make_generation(owner, model=catalog.VIP)

    run_generation(generation.pk)

    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    assert generation.error_code == "bad_response"
    (row,) = generation.attempt_rows.all()
    assert row.billed and row.amount == PRICE
    assert generation.cost_usd == PRICE
