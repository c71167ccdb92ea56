"""A tiny HTTP server on 127.0.0.1 for the data-layer tests (standard library only).

Each route serves bytes with a behaviour: ``ok``, ``truncate`` (announces the full length, sends
half and hangs up), ``slow`` (sleeps before answering), or an HTTP error status. Every request is
logged so tests can check how many were made (retries are bounded).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from course_lib import config


@dataclass
class Route:
    body: bytes = b""
    mode: str = "ok"  # ok | truncate | slow | error
    status: int = 200
    delay_s: float = 0.0


class FileServer:
    """Serves registered routes on an ephemeral port of 127.0.0.1."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404, "not found")
                    return
                if route.mode == "error":
                    self.send_error(route.status)
                    return
                if route.mode == "slow":
                    time.sleep(route.delay_s)
                with contextlib.suppress(OSError):  # the client may have given up (timeout test)
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    body = route.body
                    if route.mode == "truncate":
                        body = body[: len(body) // 2]
                    self.wfile.write(body)
                    self.close_connection = True

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def add(
        self,
        path: str,
        body: bytes = b"",
        mode: str = "ok",
        status: int = 200,
        delay_s: float = 0.0,
    ) -> str:
        """Register a route and return its full URL."""
        self.routes[path] = Route(body, mode, status, delay_s)
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def count(self, path: str) -> int:
        return self.requests.count(path)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def closed_port_url(path: str = "/missing") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    """A running FileServer; proxies are switched off so 127.0.0.1 is reached directly."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = FileServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fast_downloads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Small timeouts/retries/backoff, a fresh cache directory, downloads allowed."""
    from course_lib.data import download, registry

    monkeypatch.setattr(download, "TIMEOUT_S", 0.5)
    monkeypatch.setattr(download, "RETRIES", 1)
    monkeypatch.setattr(download, "BACKOFF_S", 0.01)
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "cache"))
    for var in registry.OFFLINE_ENVS:
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "cache"


class InternetBlocked(OSError):
    """Raised by the guard below for any connection that leaves this machine."""


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in (None, "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_internet(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every non-loopback connection (and DNS lookup) fail; returns the blocked attempts."""
    blocked: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo, real_create = socket.getaddrinfo, socket.create_connection

    def check(address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if isinstance(address, (str, bytes)):  # AF_UNIX path: local
            return
        if not _is_loopback(host):
            blocked.append(str(address))
            raise InternetBlocked(f"test forbids network access to {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        check((host, 0))
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address: tuple, *args: object, **kwargs: object) -> socket.socket:
        check(address)
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return blocked
