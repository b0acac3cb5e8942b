"""Pre-flight: before a campaign starts, make sure every configured model can answer.

Two stages, each over all models at once:
1. ``check_reach`` (standard library only, before any SDK or litellm import): for a model with an
   ``api_base``, a TCP connect and one plain HTTP request, each bounded by ``REACH_TIMEOUT_S``:
   connection refused, DNS failure, or a server that accepts and never answers (a black hole);
2. ``check_models``: does the server know the model? A direct transport (the openai / anthropic
   SDK, ``adrs.proposer.transport``) first asks for the model's description (``GET
   .../models/{name}``: nothing generated, no tokens billed, answered in well under a second by
   OpenAI, Anthropic, Ollama); when the server cannot say (no such route, as on vLLM, or the name
   unknown there) and for litellm models, one chat request of a few tokens settles it. Both are
   bounded by ``llm.preflight_timeout_s`` (at most ``llm.timeout_s``): rejected key (401/403),
   unknown model (404), no reply. A direct model never waits for litellm's import of about 3 s.
A fatal fault stops the campaign before anything is created, naming the model, its URL and what
happened in words. A rate limit or a 5xx is a warning: the server is there. Off with
``llm.preflight: false`` (``--no-preflight``), e.g. for a litellm provider that bills per request.
Nothing is stored: no run exists yet. It does not retry and does not check prompt sizes.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from adrs.config import LLMConfig, ModelConfig
from adrs.errors import CampaignError
from adrs.proposer.faults import FATAL_KINDS, Fault, classify
from adrs.redact import redact

if TYPE_CHECKING:
    from adrs.proposer.transport import Transport


@dataclass(frozen=True)
class Check:
    model: str
    url: str  # redacted
    seconds: float
    fault: Fault | None = None
    described: bool = False  # the server described the model: nothing was generated

    @property
    def fatal(self) -> bool:
        return self.fault is not None and self.fault.kind in FATAL_KINDS

    def line(self) -> str:
        where = f"{self.model} at {self.url}"
        if self.fault is None and self.described:
            return f"{where}: knows the model (answered in {self.seconds:.2f} s, nothing generated)"
        if self.fault is None:
            return f"{where}: answered in {self.seconds:.2f} s"
        return f"{where}: {self.fault.words} (after {self.seconds:.1f} s)"


REACH_TIMEOUT_S = 5.0


def check_reach(llm: LLMConfig) -> None:
    """Stage 1: raise CampaignError when a model's ``api_base`` cannot be reached at all."""
    models = [m for m in llm.ensemble() if m.api_base]
    if not models:
        return
    timeout = min(REACH_TIMEOUT_S, llm.preflight_timeout_s, llm.timeout_s)
    with ThreadPoolExecutor(max_workers=len(models)) as pool:
        checks = list(pool.map(lambda m: _reach(m, timeout), models))
    _raise_if_fatal(checks)


def check_models(llm: LLMConfig) -> list[Check]:
    """Stage 2: ask whether each model of ``llm`` is known (its description, else one tiny
    question); raise CampaignError naming each model that cannot answer. Returns the checks
    (warnings included) for the caller to print."""
    checks = asyncio.run(_check_all(llm))
    _raise_if_fatal(checks)
    return checks


def _raise_if_fatal(checks: list[Check]) -> None:
    fatal = [c for c in checks if c.fatal]
    if fatal:
        lines = "\n".join(f"  {c.line()}" for c in fatal)
        raise CampaignError(
            f"pre-flight: {len(fatal)} of {len(checks)} model(s) cannot answer, so the campaign did "
            f"not start (no candidate was spent):\n{lines}\nCheck the URL, that the server runs "
            f"and the key; or skip this check with --no-preflight (llm.preflight: false).")


def _reach(model: ModelConfig, timeout_s: float) -> Check:
    started = time.monotonic()
    assert model.api_base is not None
    fault = _connect(model.api_base, timeout_s) or _http_answer(model.api_base, timeout_s)
    return Check(model.model, redact(model.api_base), time.monotonic() - started, fault)


def _http_answer(api_base: str, timeout_s: float) -> Fault | None:
    """Any HTTP answer (even a 404) to a GET of ``api_base`` within ``timeout_s``, else a fault."""
    parts = urlsplit(api_base)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "", parts.port, timeout=timeout_s)
    try:
        connection.request("GET", parts.path or "/")
        connection.getresponse().read(0)
    except TimeoutError:
        return Fault("timeout", f"the server accepted the connection but sent no reply within "
                                f"{timeout_s:g} s (a black hole: a stuck server or proxy)")
    except (OSError, http.client.HTTPException):
        return None  # it answered something (TLS, a reset, a non-HTTP reply): stage 2 will say
    finally:
        connection.close()
    return None


async def _check_all(llm: LLMConfig) -> list[Check]:
    from adrs.proposer.transport import make_transport

    timeout = min(llm.preflight_timeout_s, llm.timeout_s)
    return list(await asyncio.gather(*(_check(m, make_transport(m, llm.transport), timeout)
                                       for m in llm.ensemble())))


async def _check(model: ModelConfig, transport: Transport, timeout_s: float) -> Check:
    await transport.ready()  # importing the SDK is not the server's time
    started = time.monotonic()
    base = model.api_base or (transport.base_url() if transport.kind != "litellm"
                              else await asyncio.to_thread(transport.base_url))  # imports litellm
    url = redact(base)
    try:
        left = max(0.5, timeout_s - (time.monotonic() - started))
        described = await asyncio.wait_for(transport.confirm_model(left), timeout=left)
        if not described:
            left = max(0.5, timeout_s - (time.monotonic() - started))
            await asyncio.wait_for(transport.send(_messages(), max_tokens=5, temperature=None,
                                                  timeout_s=left), timeout=left)
    except Exception as err:  # classified: fatal ones stop the campaign, the rest are warnings
        fault = classify(err, timeout_s)
        if fault.kind == "timeout":
            fault = Fault("timeout", f"no reply within {timeout_s:g} s (raise "
                                     f"llm.preflight_timeout_s for a slow model)")
        return Check(model.model, url, time.monotonic() - started, fault)
    return Check(model.model, url, time.monotonic() - started, described=described)


def _connect(api_base: str, timeout_s: float) -> Fault | None:
    """A TCP connect to the host of ``api_base``: refused, DNS failure, or no answer in words."""
    parts = urlsplit(api_base)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return Fault("connection", f"malformed URL {redact(api_base)!r}")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except ConnectionRefusedError:
        return Fault("refused", f"connection refused (nothing listens on {host}:{port})")
    except socket.gaierror as err:
        return Fault("dns", f"DNS lookup failed for {host} ({err.strerror or err})")
    except TimeoutError:
        return Fault("timeout", f"no answer to a TCP connect to {host}:{port} within "
                                f"{timeout_s:g} s (host down or traffic dropped)")
    except OSError as err:
        return Fault("connection", f"cannot connect to {host}:{port}: {err.strerror or err}")


def _messages() -> list[dict[str, str]]:
    from adrs.resources import builtin_dir

    text = (builtin_dir("prompts") / "_preflight.j2").read_text().strip()
    return [{"role": "user", "content": text}]
