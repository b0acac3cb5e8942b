"""Say in words why an LLM call failed: "connection refused", "DNS lookup failed", "no reply
within 8 s", "the API key was rejected (HTTP 401)", "unknown model (HTTP 404)".

The openai and anthropic SDKs (the direct transports, ``adrs.proposer.transport``) raise
``APIConnectionError`` / ``APITimeoutError`` / ``APIStatusError`` (with ``status_code``, the
response headers and the parsed error body, whose ``message`` is quoted). litellm maps a refused
connection or a failed DNS lookup to an HTTP 500 (``InternalServerError:
Connection error.``) although nothing answered; the real cause is further down the exception
chain (``__cause__`` / ``__context__``), and this module looks there. Every text it returns is
redacted (``adrs.redact``). It does not retry, classify replies or make calls.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from adrs.redact import redact

# fault kinds
REFUSED, DNS, TIMEOUT, CONNECTION, AUTH, FORBIDDEN, NOT_FOUND, RATE_LIMIT, SERVER, OTHER = (
    "refused", "dns", "timeout", "connection", "auth", "forbidden", "not_found", "rate_limit",
    "server", "other")
# kinds that another attempt will not cure: pre-flight stops the campaign on these
FATAL_KINDS = frozenset({REFUSED, DNS, TIMEOUT, CONNECTION, AUTH, FORBIDDEN, NOT_FOUND})


@dataclass(frozen=True)
class Fault:
    kind: str
    words: str  # one line for people: "connection refused", "unknown model (HTTP 404): ..."

    def __str__(self) -> str:
        return self.words


def classify(err: BaseException, timeout_s: float | None = None) -> Fault:
    """The fault behind ``err`` (an exception from litellm, asyncio, the openai or anthropic SDK)."""
    chain = _chain(err)
    for link in chain:
        if isinstance(link, ConnectionRefusedError):
            return Fault(REFUSED, "connection refused (nothing listens at that address)")
        if isinstance(link, socket.gaierror):
            host = _host_in(chain)
            return Fault(DNS, f"DNS lookup failed{' for ' + host if host else ''} "
                              f"({link.strerror or link})")
    if isinstance(err, asyncio.TimeoutError | TimeoutError) or any(
            type(link).__name__ in ("Timeout", "APITimeoutError", "ReadTimeout", "ConnectTimeout")
            for link in chain):
        within = f" within {timeout_s:g} s" if timeout_s else ""
        return Fault(TIMEOUT, f"no reply{within} (timeout)")
    status = _status(chain)
    detail = _detail(chain)
    if status == 401:
        return Fault(AUTH, f"the API key was rejected (HTTP 401): {detail}")
    if status == 403:
        return Fault(FORBIDDEN, f"access denied (HTTP 403): {detail}")
    if status == 404:
        return Fault(NOT_FOUND, f"unknown model or wrong URL (HTTP 404): {detail}")
    if status == 429:
        return Fault(RATE_LIMIT, f"rate limited (HTTP 429): {detail}")
    names = {type(link).__name__ for link in chain}
    if names & {"APIConnectionError", "ConnectError", "ClientConnectorError", "ConnectionError",
                "ServerDisconnectedError", "RemoteProtocolError"} or \
            any(isinstance(link, ConnectionError) for link in chain):
        return Fault(CONNECTION, f"connection failed: {_deepest(chain)}")
    if isinstance(status, int) and status >= 500:
        return Fault(SERVER, f"server error (HTTP {status}): {detail}")
    prefix = type(err).__name__ + (f" (HTTP {status})" if status else "")
    return Fault(OTHER, f"{prefix}: {detail}")


def _chain(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    link: BaseException | None = err
    while link is not None and link not in seen and len(seen) < 12:
        seen.append(link)
        link = link.__cause__ or link.__context__
    return seen


def _status(chain: list[BaseException]) -> int | None:
    for link in chain:
        status = getattr(link, "status_code", None)
        if isinstance(status, int):
            return status
    return None


def _detail(chain: list[BaseException]) -> str:
    """The provider's message: the ``message`` of the error body the openai / anthropic SDKs keep,
    else the exception's text without litellm's repeated class-name prefixes."""
    for link in chain:
        message = _body_message(getattr(link, "body", None))
        if message:
            return redact(message.splitlines()[0][:500])
    text = first_line(chain[0])
    for marker in ("Exception - ", "Error: "):
        if marker in text:
            text = text.rsplit(marker, 1)[-1]
    return text


def _body_message(body: object) -> str:
    """``message`` of an error body: ``{"message": ...}`` (openai) or ``{"error": {...}}``."""
    for _ in range(2):
        if not isinstance(body, dict):
            return ""
        if isinstance(body.get("message"), str):
            return body["message"].strip()
        body = body.get("error")
    return ""


def _deepest(chain: list[BaseException]) -> str:
    return first_line(chain[-1])


def _host_in(chain: list[BaseException]) -> str:
    for link in chain:
        text = str(link)
        if "host " in text:
            return text.split("host ", 1)[1].split(" ", 1)[0].rstrip(":,")
    return ""


def first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return redact(text.splitlines()[0][:500])
