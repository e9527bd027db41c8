"""The HTTP side: a threaded stdlib server, one thread per request so latencies overlap."""

from __future__ import annotations

import gzip
import json
import re
import signal
import socket
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import parse_qsl, urlsplit

from imagestudio import catalog
from imagestudio.simulator import responses, triggers, validation
from imagestudio.simulator.config import SimConfig
from imagestudio.simulator.gateway import Gateway
from imagestudio.simulator.responses import Hang, Reply

ENDPOINTS = {
    f"/v1/{catalog.GENERATIONS}": validation.IMAGES,
    f"/v1/{catalog.EDITS}": validation.EDITS,
    f"/v1/{catalog.CHAT}": validation.CHAT,
}
_FILE_PATH = re.compile(r"^/files/(?P<name>[0-9a-f-]{36}\.png)$")
LOG_PATH = "/api/log/self"
LOG_CONTROL = re.compile(r"^/_sim/log/(?P<action>[a-z]+)$")
# A call may carry the gateway's maximum of inputs, each up to its 10 MB limit, base64 in
# chat (a third bigger), plus room so an 11 MB file still gets the per-file 400. A bigger
# body is not read.
MAX_BODY_BYTES = validation.GATEWAY_MAX_INPUTS * catalog.INPUT_MAX_BYTES * 4 // 3 + 16 * 2**20


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # Bursts of parallel calls (a batch of 10, a load test of 50) must not overflow the
    # listen backlog, or clients see connect retries as latency.
    request_queue_size = 256

    def __init__(self, config: SimConfig) -> None:
        self.gateway = Gateway(config)
        super().__init__((config.host, config.port), Handler)

    @property
    def host_port(self) -> tuple[str, int]:
        # An IPv4/IPv6 server's address; the socket types also allow bytes for other families.
        host, port = self.server_address[:2]
        assert isinstance(host, str)
        return host, port

    def shutdown(self) -> None:
        self.gateway.stopping.set()
        super().shutdown()


class Handler(BaseHTTPRequestHandler):
    # Headers and body go out in separate writes: with Nagle on, each small body waits
    # for the client's delayed ACK (~40 ms) on a reused connection.
    disable_nagle_algorithm = True
    server: SimulatorServer
    # Keep-alive, like the real gateway: the SDK and httpx reuse connections.
    protocol_version = "HTTP/1.1"
    server_version = "ImageStudioSimulator/1.0"

    def do_GET(self) -> None:
        self._serve_get(send_body=True)

    def do_HEAD(self) -> None:
        self._serve_get(send_body=False)

    def do_POST(self) -> None:
        rid = responses.new_request_id()
        raw = self._read_body()
        path = urlsplit(self.path).path.rstrip("/")
        endpoint = ENDPOINTS.get(path)
        control = LOG_CONTROL.match(path)
        if control and raw is not None:
            self._log_control(control["action"], raw, rid)
            return
        started = time.monotonic()
        if raw is None:
            answer: Reply | Hang = responses.invalid_request("the body is too large", rid)
        elif endpoint is None:
            answer = responses.not_found("POST", path)
        else:
            gateway = self.server.gateway
            gateway.arrived(1)
            try:
                answer = gateway.handle(
                    endpoint,
                    self.headers.get("Authorization"),
                    raw,
                    self._base_url(),
                    rid,
                    content_type=self.headers.get("Content-Type"),
                )
            finally:
                gateway.arrived(-1)
        if endpoint is not None:
            self.server.gateway.bill(answer, rid=rid, path=path, started=started)
        if isinstance(answer, Hang):
            self._hang(answer)
        else:
            self._send_json(answer, rid)

    # -- helpers --------------------------------------------------------------------------

    def _serve_get(self, *, send_body: bool) -> None:
        rid = responses.new_request_id()
        parts = urlsplit(self.path)
        path = parts.path
        if path == LOG_PATH:
            self._log_query(dict(parse_qsl(parts.query)), rid, send_body)
            return
        if path == "/healthz":
            gateway = self.server.gateway
            body = {
                "status": "ok",
                "simulated": True,
                "files": len(gateway.files),
                "billed_calls": gateway.billed_calls,
                "billed_usd": str(gateway.billed_usd),
                "billed_by_model": gateway.billed_by_model(),
                "in_flight": gateway.in_flight,
                "peak_in_flight": gateway.peak_in_flight,
            }
            self._send_json(Reply(200, body), rid, send_body=send_body)
            return
        if path == "/_sim/received":
            received = list(self.server.gateway.received)
            self._send_json(Reply(200, {"received": received}), rid, send_body=send_body)
            return
        match = _FILE_PATH.match(path)
        image = self.server.gateway.files.get(match["name"]) if match else None
        fault = self.server.gateway.cdn_fault(match["name"]) if match and image else None
        if fault == triggers.CDN_500:
            self._send(500, b"Internal Server Error\n", "text/plain; charset=utf-8", rid, send_body)
            return
        if fault == triggers.CDN_RESET:
            # SO_LINGER 0: the close sends a reset, as a CDN edge dropping the link does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault == triggers.CDN_SHORT and image is not None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(image)))
            self.end_headers()
            if send_body:
                self.wfile.write(image[: len(image) // 2])
            self.close_connection = True
            return
        if image is None:
            # Expired links 404, like the CDN after ~24 h.
            self._send(404, b"Not Found\n", "text/plain; charset=utf-8", rid, send_body)
            return
        self._send(200, image, "image/png", rid, send_body)

    def _log_query(self, params: dict[str, str], rid: str, send_body: bool) -> None:
        answer = self.server.gateway.log.query(self.headers.get("Authorization"), params)
        if answer.delay:
            self.server.gateway.stopping.wait(answer.delay)
        payload = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
        # The real log answers gzip-compressed whatever the client asked for.
        self._send(
            answer.status,
            gzip.compress(payload),
            "application/json; charset=utf-8",
            rid,
            send_body,
            {"Content-Encoding": "gzip"},
        )

    def _log_control(self, action: str, raw: bytes, rid: str) -> None:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._send_json(Reply(400, {"error": "a JSON object, please"}), rid)
            return
        answer = self.server.gateway.log.control(action, body)
        self._send_json(Reply(answer.status, answer.body), rid)

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _base_url(self) -> str:
        # Links must point where the client reached us (a container name, a LAN address).
        host = self.headers.get("Host")
        if not host:
            address, port = self.server.host_port
            host = f"{address}:{port}"
        return f"http://{host}"

    def _hang(self, hang: Hang) -> None:
        # Say nothing, then drop the connection: what a client sees when the gateway's
        # long tail outlasts its timeout.
        self.server.gateway.stopping.wait(hang.seconds)
        self.close_connection = True

    def _send_json(self, reply: Reply, rid: str, *, send_body: bool = True) -> None:
        payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        self._send(
            reply.status, payload, "application/json; charset=utf-8", rid, send_body, reply.headers
        )

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        rid: str,
        send_body: bool,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            # Older docs name the header request-id, newer ones x-request-id: send both.
            self.send_header("request-id", rid)
            self.send_header("x-request-id", rid)
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout); the real gateway bills it all the same.
            self.close_connection = True


def serve(config: SimConfig) -> None:
    server = SimulatorServer(config)
    host, port = server.host_port

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    print(
        f"Simulated gateway (nothing billed) listening on http://{host}:{port}/v1 "
        f"— latency {_describe_latency(config)}, files for {config.url_ttl:g} s",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.gateway.stopping.set()
        server.server_close()
        sys.stdout.flush()


def _describe_latency(config: SimConfig) -> str:
    if config.latency_min == config.latency_max:
        return f"{config.latency_min:g} s"
    return f"{config.latency_min:g}–{config.latency_max:g} s"
