"""Database URLs to SQLAlchemy engines: driver choice, a clear error for a missing driver, and
messages that never show a password.

``postgresql://`` and ``postgres://`` URLs without a driver use psycopg 3, installed by the
``adrs[postgres]`` extra. This module neither creates tables nor migrates (``adrs.db.migrate``).
"""

from __future__ import annotations

from typing import Any

from adrs.errors import DatabaseError
from adrs.redact import redact, url_password

POSTGRES_INSTALL = 'pip install "adrs[postgres]"'
_DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def normalize_url(url: str) -> str:
    """``url`` with psycopg 3 named as the PostgreSQL driver when no driver is given."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in _DEFAULT_DRIVERS:
        return f"{_DEFAULT_DRIVERS[scheme]}://{rest}"
    return url


def shown(url: str) -> str:
    """``url`` as it may be printed or stored: the password masked."""
    return redact(url)


def create_engine_for(url: str) -> Any:
    """A SQLAlchemy engine for ``url`` (not yet connected). Raises DatabaseError, password masked."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    full = normalize_url(url)
    try:
        return create_engine(full, pool_pre_ping=not full.startswith("sqlite"))
    except ImportError as err:  # the DBAPI module is not installed
        raise DatabaseError(missing_driver_message(full, err)) from None
    except (ArgumentError, NoSuchModuleError, ValueError) as err:
        raise DatabaseError(f"invalid database URL {shown(url)!r}: "
                            f"{redact(str(err), url_password(url))}") from None


def missing_driver_message(url: str, err: Exception) -> str:
    name = getattr(err, "name", None) or str(err)
    if url.startswith(("postgresql", "postgres")):
        return (f"the database URL {shown(url)!r} needs a PostgreSQL driver ({name} is not "
                f"installed): {POSTGRES_INSTALL}")
    return f"the database URL {shown(url)!r} needs a driver that is not installed ({name})"


def connection_error(url: str, err: BaseException) -> DatabaseError:
    """A DatabaseError for a failed connection or query, with any password in it masked."""
    detail = str(getattr(err, "orig", None) or err).strip()
    return DatabaseError(f"cannot open database {shown(url)!r}: {redact(detail, url_password(url))}")
