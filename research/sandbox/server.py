"""HTTP wiring: one port serves the gateway (``POST /clado/<endpoint>``) and the chain.

The chain answers JSON-RPC on two paths: ``POST /rpc`` (``sandbox.rpc_url``, for the
app's wallet) and ``POST /gateway-rpc`` (``sandbox.gateway_rpc_url``, the gateway's own
settlement). ``sandbox.rpc_down = True`` or ``with sandbox.rpc_outage():`` makes ``/rpc``
answer 503 while the gateway keeps settling through ``/gateway-rpc``: an RPC outage on
the app's side only. ``sandbox.rpc_refused`` counts the requests refused that way.

A stdlib ``ThreadingHTTPServer`` answers each request in its own thread; pympp's async
payment server runs on one asyncio loop in a background thread, reached through
``asyncio.run_coroutine_threadsafe``. While the payment server settles a payment it
calls this same port's ``/gateway-rpc`` from that loop, which another request thread answers.
A gateway reply marked ``drop`` (fault ``connection_drop``) closes the socket unanswered.
"""

import asyncio
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from .chain import Chain
from .gateway import Gateway

RPC_PATH = "/rpc"
GATEWAY_RPC_PATH = "/gateway-rpc"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client drops a keep-alive connection; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server_version = "CladoSandbox/1.0"
    protocol_version = "HTTP/1.1"
    sandbox: "Sandbox"  # set on the subclass built per Sandbox

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.sandbox.verbose:
            sys.stderr.write(f"[sandbox] {self.address_string()} - {format % args}\n")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        try:
            self.send_response(status)
            skip = {"content-length", "connection", "transfer-encoding", "server", "date"}
            for name, value in headers:
                if name.lower() not in skip:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            self.close_connection = True

    def _json(self, status: int, data: Any) -> None:
        self._send(status, [("Content-Type", "application/json")], json.dumps(data).encode())

    def _drop(self) -> None:
        """Close the connection without a byte of answer."""
        self.close_connection = True
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _rpc(self, body: bytes) -> None:
        try:
            payload = json.loads(body or b"")
        except ValueError:
            error = {"code": -32700, "message": "Parse error"}
            self._json(200, {"jsonrpc": "2.0", "id": None, "error": error})
            return
        self._json(200, self.sandbox.chain.handle(payload))

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path in ("/", "/health", "/healthz"):
            sb = self.sandbox
            self._json(
                200,
                {
                    "gateway": sb.url,
                    "rpc": sb.rpc_url,
                    "gateway_rpc": sb.gateway_rpc_url,
                    "rpc_down": sb.rpc_down,
                    "chain_id": sb.chain.chain_id,
                },
            )
        else:
            self._json(404, {"error": "Not found"})

    def do_POST(self) -> None:  # noqa: N802
        body = self._read_body()
        path = self.path.split("?", 1)[0].rstrip("/")
        sb = self.sandbox
        if path == GATEWAY_RPC_PATH:
            self._rpc(body)
            return
        if path in (RPC_PATH, ""):
            if sb.rpc_down:
                sb.note_refused()
                self._json(503, {"error": "Service Unavailable", "detail": "Tempo RPC outage (simulated)"})
            else:
                self._rpc(body)
            return
        if path.startswith("/clado/"):
            endpoint = path[len("/clado/") :]
            url = sb.url + self.path
            reply = sb.gateway.handle(endpoint, "POST", url, dict(self.headers.items()), body)
            if reply.drop:
                self._drop()
                return
            if reply.hang > 0:
                time.sleep(reply.hang)
            self._send(reply.status, reply.headers, reply.body)
            return
        self._json(404, {"error": "Not found"})

    do_PUT = do_PATCH = do_DELETE = do_POST


class Sandbox:
    """Offline MPP gateway + Tempo chain on one local port."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        job_seconds: float = 20.0,
        realm: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.verbose = verbose
        handler = type("SandboxHandler", (_Handler,), {"sandbox": self})
        self.httpd = _Server((host, port), handler)
        self.port = self.httpd.server_address[1]
        public_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        self.url = f"http://{public_host}:{self.port}"
        self.rpc_url = self.url + RPC_PATH
        self.gateway_rpc_url = self.url + GATEWAY_RPC_PATH
        self.rpc_down = False
        self.rpc_refused = 0
        self._refused_lock = threading.Lock()
        self.chain = Chain()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._serve_thread: threading.Thread | None = None
        self.gateway = Gateway(
            rpc_url=self.gateway_rpc_url,
            clock=clock,
            job_seconds=job_seconds,
            realm=realm,
            run=self._run,
        )

    # ------------------------------------------------------------ RPC outage
    @contextmanager
    def rpc_outage(self) -> Iterator[Self]:
        """``POST /rpc`` answers 503 inside the block; the gateway's settlement is unaffected."""
        before, self.rpc_down = self.rpc_down, True
        try:
            yield self
        finally:
            self.rpc_down = before

    def note_refused(self) -> None:
        with self._refused_lock:
            self.rpc_refused += 1

    # -------------------------------------------------------------- the loop
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            self._loop_thread = threading.Thread(target=run, name="sandbox-loop", daemon=True)
            self._loop_thread.start()
            ready.wait()
            self._loop = loop
        return self._loop

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._ensure_loop()).result()

    # ------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        self._ensure_loop()
        if self._serve_thread is None:
            self._serve_thread = threading.Thread(
                target=self.httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="sandbox-http",
                daemon=True,
            )
            self._serve_thread.start()
        return self

    def serve_forever(self) -> None:
        self._ensure_loop()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        if self._serve_thread is not None:
            self.httpd.shutdown()
            self._serve_thread.join(timeout=5)
            self._serve_thread = None
        self.httpd.server_close()
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join(timeout=5)
                self._loop_thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
