"""The web UI's HTTP server: the standard library's ThreadingHTTPServer, a small router, the
access token and the security headers. Pages live in ``adrs.ui.pages``; this module only routes.

Loopback binds (the default) need no token but refuse requests whose Host header is not a loopback
name (DNS rebinding). Any other bind needs the token printed at start-up, given once as
``?token=...`` (then kept in an HttpOnly cookie). Only GET and HEAD exist: the server never writes.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

COOKIE = "adrs_ui_token_{port}"  # one per port: cookies are shared by every port of a host
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                               "data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass
class Request:
    path: str
    query: dict[str, str]
    cookies: dict[str, str]
    headers: Any


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[..., Response]


class Router:
    """Maps GET paths (regular expressions with named groups) to handlers."""

    def __init__(self) -> None:
        self.routes: list[tuple[re.Pattern[str], Handler]] = []

    def get(self, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((re.compile(f"^{pattern}$"), handler))
            return handler
        return register

    def match(self, path: str) -> tuple[Handler, dict[str, str]] | None:
        for pattern, handler in self.routes:
            found = pattern.match(path)
            if found:
                return handler, {k: unquote(v) for k, v in found.groupdict().items()}
        return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class UIServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, app: Any, token: str | None) -> None:
        self.app = app
        self.token = token
        self.loopback = is_loopback(host)
        if ":" in host:
            self.address_family = __import__("socket").AF_INET6
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self) -> str:
        host = self.server_address[0]
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{self.port}/"
        return base + (f"?{urlencode({'token': self.token})}" if self.token else "")


class _Handler(BaseHTTPRequestHandler):
    server: UIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if getattr(self.server.app, "verbose", False):
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def _refuse(self) -> None:
        self._send(Response(HTTPStatus.METHOD_NOT_ALLOWED, b"read-only: GET and HEAD only\n",
                            "text/plain; charset=utf-8", {"Allow": "GET, HEAD"}), head=False)

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815

    def _serve(self, head: bool) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            cookies = {k: m.value for k, m in SimpleCookie(self.headers.get("Cookie", "")).items()}
        except Exception:  # noqa: BLE001 - a malformed Cookie header is no cookie
            cookies = {}
        denied = self._check_access(query, cookies)
        if denied is not None:
            self._send(denied, head)
            return
        if self.server.token and "token" in query:  # drop the token from the address bar
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            self._send(Response(HTTPStatus.SEE_OTHER, b"", headers={
                "Location": parts.path + (f"?{rest}" if rest else ""),
                "Set-Cookie": f"{COOKIE.format(port=self.server.port)}={self.server.token}; HttpOnly; "
                              "SameSite=Strict; Path=/"}), head)
            return
        self._send(self.server.app.handle(Request(parts.path, query, cookies, self.headers)), head)

    def _check_access(self, query: dict[str, str], cookies: dict[str, str]) -> Response | None:
        server = self.server
        if server.token:
            given = query.get("token") or cookies.get(COOKIE.format(port=server.port)) or ""
            if not hmac.compare_digest(given.encode(), server.token.encode()):
                return Response(HTTPStatus.UNAUTHORIZED, b"a token is required: open the address "
                                b"`adrs ui` printed at start-up\n", "text/plain; charset=utf-8")
        elif server.loopback:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if not is_loopback(host):
                return Response(HTTPStatus.FORBIDDEN, b"unexpected Host header\n",
                                "text/plain; charset=utf-8")
        return None

    def _send(self, response: Response, head: bool) -> None:
        try:
            self.send_response(response.status)
            headers = {**SECURITY_HEADERS, "Content-Type": response.content_type,
                       "Content-Length": str(len(response.body)), **response.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def new_token() -> str:
    return secrets.token_urlsafe(24)


def start(host: str, port: int, app: Any, token: str | None = None) -> tuple[UIServer, threading.Thread]:
    """Start serving in a background thread (tests, benchmarks); ``serve_forever`` for the CLI."""
    server = UIServer(host, port, app, token)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="adrs-ui")
    thread.start()
    return server, thread
