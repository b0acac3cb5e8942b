"""A fake LLM server for tests: scripted replies, recorded requests, no network.

Serves, on 127.0.0.1 with a free port, both the OpenAI chat-completions protocol
(``POST /v1/chat/completions`` and ``/chat/completions``) and the Anthropic messages protocol
(``POST /v1/messages``), and with ``models_route=True`` the model description both providers
serve (``GET /v1/models/{name}``, answered at once, nothing scripted: the key and ``models`` are
checked as for a chat request; without it the route is missing, as on vLLM, and GET gets a 404).
Each chat request takes the next scripted ``Reply`` (status, content,
finish_reason, token counts, delay, headers such as Retry-After), or, when the server has a
``responder``, whatever that function returns for the request body (so a test can answer with a
diff that fits the program in the prompt). When the script runs out it answers 500 so a test that
needs more calls fails loudly. A long ``delay_s`` is a reply that never comes (it is cut short when
the server stops). It records every request (body, path, headers) and the most requests it served at
once. It is not a model.

    with FakeLLMServer([Reply(status=500), Reply(content="hi")]) as server:
        ... LLMConfig(model="openai/test-model", api_base=server.url) ...
        assert len(server.requests) == 2
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

OPENAI_PATHS = ("/v1/chat/completions", "/chat/completions")
ANTHROPIC_PATHS = ("/v1/messages", "/messages")
PATHS = OPENAI_PATHS + ANTHROPIC_PATHS
# OpenAI finish_reason -> Anthropic stop_reason
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``status`` != 200 sends an error body of the request's protocol instead.

    ``content=None`` is an empty reply (OpenAI: ``content: null``; Anthropic: no content blocks).
    """

    content: str | None = "ok"
    status: int = 200
    finish_reason: str = "stop"
    prompt_tokens: int = 11
    completion_tokens: int = 7
    delay_s: float = 0.0  # wait before answering (cut short when the server stops)
    headers: tuple[tuple[str, str], ...] = ()
    message: str = ""  # the error message of a status != 200 (default: "scripted error N")

    def body(self, model: str, protocol: str = "openai") -> dict[str, Any]:
        if protocol == "anthropic":
            return self._anthropic_body(model)
        if self.status != 200:
            return {"error": {"message": self.message or f"scripted error {self.status}",
                              "type": "server_error",
                              "code": str(self.status)}}
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "finish_reason": self.finish_reason,
                         "message": {"role": "assistant", "content": self.content}}],
            "usage": {"prompt_tokens": self.prompt_tokens,
                      "completion_tokens": self.completion_tokens,
                      "total_tokens": self.prompt_tokens + self.completion_tokens},
        }

    def _anthropic_body(self, model: str) -> dict[str, Any]:
        if self.status != 200:
            kind = "rate_limit_error" if self.status == 429 else "api_error"
            return {"type": "error", "error": {"type": kind, "message": self.message
                                               or f"scripted error {self.status}"}}
        blocks = [{"type": "text", "text": self.content}] if self.content is not None else []
        return {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": blocks,
            "stop_reason": _STOP_REASONS.get(self.finish_reason, self.finish_reason),
            "stop_sequence": None,
            "usage": {"input_tokens": self.prompt_tokens, "output_tokens": self.completion_tokens},
        }


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: a burst of 16 concurrent requests (llm.concurrency 16)
    # then loses SYNs, which the client's kernel resends only after 1 s; real APIs do not
    request_queue_size = 128


class FakeLLMServer:
    """Context manager running the fake server in a background thread."""

    def __init__(self, replies: Iterable[Reply] = (),
                 responder: Callable[[dict[str, Any]], Reply] | None = None, *,
                 models: Iterable[str] | None = None, api_key: str | None = None,
                 models_route: bool = False) -> None:
        self._replies: deque[Reply] = deque(replies)
        self.models_route = models_route
        self._responder = responder  # used when the scripted replies run out
        # when set: other model names get a 404 "model not found", other keys a 401
        self.models = set(models) if models is not None else None
        self.api_key = api_key
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []  # request headers, lower-case names
        self.in_flight = 0
        self.max_in_flight = 0
        self.arrived_at: list[float] = []  # time.perf_counter() of each request's arrival
        self.replied_at: list[float] = []  # ... and of each reply sent
        self._bind(0)

    @property
    def url(self) -> str:
        """Base URL to use as ``api_base`` (ends in ``/v1``)."""
        return f"{self.root_url}/v1"

    @property
    def root_url(self) -> str:
        """Base URL without ``/v1`` (what litellm's Anthropic client takes as ``api_base``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._close()

    def go_down(self) -> None:
        """An outage: stop listening (connections are refused) until ``come_back``."""
        self._close()

    def come_back(self) -> None:
        """Listen again on the same port after ``go_down``."""
        self._bind(self._httpd.server_address[1])
        self._thread.start()

    def _bind(self, port: int) -> None:
        self._httpd = _Server(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                        daemon=True)

    def _close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _begin(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        self._record(path, body, headers)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self._replies:
                return self._replies.popleft()
        if self._responder is not None:
            return self._responder(body)
        return Reply(status=500)

    def _end(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self.replied_at.append(time.perf_counter())

    def _record(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        """A request as it arrived (every route, refused ones too)."""
        with self._lock:
            self.requests.append(body)
            self.arrived_at.append(time.perf_counter())
            self.paths.append(path)
            self.headers.append(headers)


MODEL_PREFIXES = ("/v1/models/", "/models/")


def _handler_for(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            path = self.path.split("?")[0]
            prefix = next((p for p in MODEL_PREFIXES if path.startswith(p)), None)
            if not server.models_route or prefix is None:
                self._send(404, {"error": {"message": f"no route {path}"}}, ())
                return
            name = unquote(path.removeprefix(prefix))
            headers = {key.lower(): value for key, value in self.headers.items()}
            server._record(path, {"get": path, "model": name}, headers)
            refusal = _refusal(server, {"model": name}, headers)
            try:
                if refusal is not None:
                    self._refuse(refusal)
                else:
                    self._send(200, {"id": name, "object": "model", "type": "model", "created": 0,
                                     "owned_by": "fake"}, ())
            finally:
                with server._lock:
                    server.replied_at.append(time.perf_counter())

        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = self.path.split("?")[0]
            if path not in PATHS:
                self._send(404, {"error": {"message": f"no route {path}"}}, ())
                return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {"invalid_json": raw.decode(errors="replace")}
            headers = {key.lower(): value for key, value in self.headers.items()}
            protocol = "anthropic" if path in ANTHROPIC_PATHS else "openai"
            refusal = _refusal(server, body, headers)
            if refusal is not None:
                server._record(path, body, headers)
                self._refuse(refusal)
                return
            try:
                reply = server._begin(path, body, headers)
            except Exception as err:  # a broken responder: answer 500 and say why
                reply = Reply(status=500, content=f"responder failed: {err!r}")
            try:
                if reply.delay_s:
                    server._stopping.wait(reply.delay_s)
                self._send(reply.status, reply.body(str(body.get("model", "")), protocol),
                           reply.headers)
            except OSError:
                pass  # the client gave up (timeout) and closed the connection
            finally:
                server._end()

        def _refuse(self, refusal: tuple[int, str, str]) -> None:
            status, message, code = refusal
            self._send(status, {"error": {"message": message, "type": "invalid_request_error",
                                          "code": code}}, ())

        def _send(self, status: int, payload: dict[str, Any],
                  headers: Iterable[tuple[str, str]]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers:
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output clean

    return Handler


def _refusal(server: FakeLLMServer, body: dict[str, Any],
             headers: dict[str, str]) -> tuple[int, str, str] | None:
    """(status, message, code) for a wrong key or an unknown model, like a real provider."""
    if server.api_key is not None:
        given = headers.get("authorization", "").removeprefix("Bearer ") or headers.get("x-api-key", "")
        if given != server.api_key:
            return 401, "Incorrect API key provided.", "invalid_api_key"
    model = str(body.get("model", ""))
    if server.models is not None and model not in server.models:
        return 404, f"The model `{model}` does not exist or you do not have access to it.", \
            "model_not_found"
    return None


class BlackHoleServer:
    """A TCP port on 127.0.0.1 that accepts connections (the kernel completes the handshake)
    and never answers: the "black hole" a wedged proxy or a stopped VM looks like."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/v1"

    def __enter__(self) -> BlackHoleServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()


def refused_url() -> str:
    """An OpenAI-style base URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
