"""What the API tests share: a program holding only a token, and a webhook receiver on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache
from django.test import Client

from research.models import ApiToken


class Program:
    """A client with no session: only its bearer token says who it is."""

    def __init__(self, secret):
        self.secret = secret
        self.http = Client()

    def _headers(self, headers):
        found = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"} if self.secret else {}
        for name, value in headers.items():
            found["HTTP_" + name.upper().replace("-", "_")] = value
        return found

    def get(self, path, params=None, **headers):
        return self.http.get("/api/v1" + path, params or {}, **self._headers(headers))

    def post(self, path, body=None, **headers):
        return self.http.post(
            "/api/v1" + path,
            json.dumps(body or {}),
            content_type="application/json",
            **self._headers(headers),
        )


def program_for(user, name="pipeline", **options):
    token, secret = ApiToken.issue(user, name, **options)
    program = Program(secret)
    program.token = token
    return program


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache, which outlives a test's database."""
    cache.clear()
    yield
    cache.clear()


class Receiver:
    """A webhook receiver on 127.0.0.1: records every POST, answers the statuses it is told to."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                receiver.received.append({"headers": dict(self.headers), "body": body})
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/clado"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def problem(response, status, kind):
    """The response is the problem+json of `kind` with `status`; its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    body = response.json()
    assert body["type"] == f"/api/v1/problems/{kind}" and body["status"] == status, body
    assert "Traceback" not in response.content.decode()
    return body
