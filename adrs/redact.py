"""Hide credentials in text shown to people: passwords in URLs (``scheme://user:secret@host``).

Used wherever a database URL (or an error message that may quote one) reaches the terminal, a log
or a stored config. Standard library only, so browsing commands can use it for free.
"""

from __future__ import annotations

import re

MASK = "***"
# user:password@ in any scheme://... URL; the password may contain anything but '@', '/' or space
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^@/\s]+)(?=@)")
# key=value pairs in libpq connection strings and query strings
_KEY_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'[^']*'|[^\s&;]+)", re.IGNORECASE)


def redact(text: str, *secrets: str) -> str:
    """``text`` with URL passwords, ``password=...`` values and each of ``secrets`` masked."""
    text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)
    text = _KEY_PASSWORD.sub(lambda m: m["head"] + MASK, text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def url_password(url: str) -> str:
    """The password part of ``url`` (empty when there is none), to mask it wherever it appears."""
    found = _URL_PASSWORD.search(url)
    return found["secret"] if found else ""
