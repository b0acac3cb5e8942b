"""Where the web UI finds runs: one SQLite file per run under ``--runs-dir``, or every run of one
``--db`` URL. Opens readers through ``adrs.db.reader`` (read-only; no SQLAlchemy for SQLite files),
one per request for SQLite and one shared pooled reader for server databases such as PostgreSQL.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adrs.db import reader as rd
from adrs.errors import DatabaseError
from adrs.redact import redact, url_password

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class NotFound(Exception):
    """A run or program that does not exist (HTTP 404)."""


class Catalog:
    def __init__(self, runs_dir: Path, db_url: str | None = None) -> None:
        self.runs_dir = runs_dir
        self.db_url = db_url
        self._shared: dict[str, rd.Reader] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        """What is being read, as shown on the console and the pages (a password masked)."""
        return redact(self.db_url) if self.db_url else str(self.runs_dir)

    def hide_secrets(self, text: str) -> str:
        """``text`` with the database password masked (error messages shown on a page)."""
        return redact(text, url_password(self.db_url)) if self.db_url else text

    def urls(self) -> list[str]:
        """Database URLs holding runs (newest run folder first)."""
        if self.db_url:
            return [self.db_url]
        return [rd.sqlite_url(self.runs_dir, p.name) for p in rd.run_dirs(self.runs_dir)]

    def url_of(self, run_id: str) -> str:
        if self.db_url:
            return self.db_url
        if not _RUN_ID.match(run_id) or not (self.runs_dir / run_id / rd.DB_FILE).is_file():
            raise NotFound(f"no run {run_id!r}")
        return rd.sqlite_url(self.runs_dir, run_id)

    @contextmanager
    def reader(self, url: str) -> Iterator[rd.Reader]:
        """A reader for ``url``: fresh for a SQLite file (cheap), shared for a server database."""
        if url.startswith("sqlite:///") and "?" not in url:
            with rd.open_reader(url) as reader:
                yield reader
            return
        with self._lock:
            if url not in self._shared:
                self._shared[url] = rd.Reader(url)
            shared = self._shared[url]
        yield shared

    @contextmanager
    def run(self, run_id: str) -> Iterator[tuple[rd.Reader, rd.RunRecord]]:
        with self.reader(self.url_of(run_id)) as reader:
            try:
                run = rd.get_run(reader, run_id)
            except DatabaseError as err:
                raise NotFound(str(err)) from None
            yield reader, run

    def close(self) -> None:
        with self._lock:
            for shared in self._shared.values():
                shared.close()
            self._shared.clear()
