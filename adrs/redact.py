"""Hide credentials and host details in text shown to people, stored, or sent to a model.

- passwords in URLs (``scheme://user:secret@host``) and ``password=...`` pairs;
- API keys: the values of environment variables whose name says key/token/secret/password, and
  strings shaped like provider keys (``sk-...``, ``sk-ant-...``, ``AIza...``, bearer tokens);
- host paths (``strip_host_paths``): absolute folders of this machine, for text that goes into a
  prompt, replaced by short placeholders.

Used wherever text reaches the terminal, a log, the database or a prompt (``adrs.db``, the CLI, the
LLM proposer, the prompt renderer). Standard library only, so browsing commands use it for free.
It does not decide what is secret beyond these patterns.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
# user:password@ in any scheme://... URL; the password may contain anything but '@', '/' or space
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^@/\s]+)(?=@)")
# key=value pairs in libpq connection strings and query strings
_KEY_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'[^']*'|[^\s&;]+)", re.IGNORECASE)
# shapes of provider keys (OpenAI, Anthropic, Google, generic bearer tokens)
_KEY_SHAPES = re.compile(r"\b(?:sk-(?:ant-)?[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}"
                         r"|(?<=Bearer )[A-Za-z0-9._\-]{12,})")
_PASSWORD_WORD = re.compile("password", re.IGNORECASE)  # what _KEY_PASSWORD needs to match
_SECRET_ENV = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_MIN_SECRET = 6  # shorter environment values (e.g. "1") would mask ordinary text


def env_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose name marks them as secrets (longest first). For
    ``os.environ`` the list is kept until the environment changes (every prompt and stored row is
    redacted, and scanning some 60 variables costs more than the redaction itself)."""
    global _process_secrets
    if environ is None:
        raw = getattr(os.environ, "_data", None)  # the encoded mapping behind os.environ
        if not isinstance(raw, dict):
            return _secrets_in(os.environ)
        snapshot = frozenset(raw.items())
        if _process_secrets is None or _process_secrets[0] != snapshot:
            _process_secrets = (snapshot, _secrets_in(os.environ))
        return _process_secrets[1]
    return _secrets_in(environ)


_process_secrets: tuple[frozenset, list[str]] | None = None


def _secrets_in(environ: Mapping[str, str]) -> list[str]:
    found = {v for k, v in environ.items() if _SECRET_ENV.search(k) and len(v) >= _MIN_SECRET}
    return sorted(found, key=len, reverse=True)


def redact(text: str, *secrets: str) -> str:
    """``text`` with URL passwords, ``password=...`` values, API keys (from the environment and
    by shape) and each of ``secrets`` masked."""
    if not text:
        return text
    for secret in (*secrets, *env_secrets()):
        if secret and len(secret) >= 3:
            text = text.replace(secret, MASK)
    # each pattern only where the literal text it needs occurs (a substring search is some 50
    # times faster than the pattern's scan; every prompt and stored row passes through here)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)
    if ("password" in text.lower()) if text.isascii() else _PASSWORD_WORD.search(text):
        text = _KEY_PASSWORD.sub(lambda m: m["head"] + MASK, text)
    if "sk-" in text or "AIza" in text or "Bearer " in text:
        text = _KEY_SHAPES.sub(MASK, text)
    return text


def redact_data(value: Any, *secrets: str) -> Any:
    """``value`` (nested dicts, lists, tuples of strings and scalars) with every string redacted."""
    if isinstance(value, str):
        return redact(value, *secrets)
    if isinstance(value, Mapping):
        return {k: redact_data(v, *secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_data(v, *secrets) for v in value)
    return value


def url_password(url: str) -> str:
    """The password part of ``url`` (empty when there is none), to mask it wherever it appears."""
    found = _URL_PASSWORD.search(url)
    return found["secret"] if found else ""


def shown_url(url: str) -> str:
    """``url`` as it may be printed or stored: the password masked."""
    return redact(url)


_TMP_PATH = re.compile(r"(?<![\w.])/(?:tmp|var/tmp|private/var/folders)/[^\s'\",:)]*")


def strip_host_paths(text: str, folders: Iterable[tuple[str | os.PathLike[str], str]] = ()) -> str:
    """``text`` for a prompt: each ``(folder, placeholder)`` prefix, the home folder, the current
    folder and temporary paths replaced by placeholders, so no host path reaches a model."""
    if not text:
        return text
    pairs = [(str(folder), name) for folder, name in folders if str(folder) not in ("", "/")]
    pairs += [(os.getcwd(), "."), (os.path.expanduser("~"), "~")]
    for folder, name in sorted(pairs, key=lambda p: len(p[0]), reverse=True):
        if folder not in ("", "/"):
            text = text.replace(folder.rstrip("/"), name)
    if "/tmp/" not in text and "/private/var/folders/" not in text:  # what _TMP_PATH needs
        return text
    return _TMP_PATH.sub(lambda m: "<tmp>/" + m.group(0).rsplit("/", 1)[-1], text)
