"""A real PostgreSQL server for the tests: initdb in a temporary folder, started on a random free
loopback port with password (scram) authentication, stopped at the end.

Needs the server binaries (Debian: ``apt-get install postgresql``, which ``.ci/run`` does). initdb
refuses to run as root, so as root the server runs as the ``postgres`` system user. Nothing here
is skipped: a missing server is a failure with the install command in the message.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "install the PostgreSQL server: apt-get install -y postgresql"


def server_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    path = found[0] if found else shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} was not found; {INSTALL_HINT}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """One running server; ``url(db)`` is a SQLAlchemy URL with the user's password in it."""

    root: Path
    port: int
    user: str
    password: str
    run_as: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run([*self.run_as, server_bin("pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                        "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    root = Path(tempfile.mkdtemp(prefix="adrs-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse root
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    user, password = "adrs_lab", "pw-" + secrets.token_hex(12)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if run_as:
        shutil.chown(pwfile, "postgres")

    def run(*cmd: str) -> None:
        done = subprocess.run([*run_as, *cmd], capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:2])} failed:\n{done.stdout}\n{done.stderr}")

    run(server_bin("initdb"), "-D", str(root / "data"), "-U", user, f"--pwfile={pwfile}",
        "--auth=scram-sha-256", "-E", "UTF8", "--no-sync")
    port = free_port()
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
               f"-c max_connections=60 -c shared_buffers=32MB")
    run(server_bin("pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-o", options,
        "-w", "-t", "120", "start")
    return PostgresServer(root=root, port=port, user=user, password=password, run_as=run_as)
