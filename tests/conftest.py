"""Shared fixtures: one Ray session for the whole suite (ray.init costs ~15 s on 2 cores)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ["COLUMNS"] = "200"  # rich tables rendered for CliRunner: no wrapping of long run ids

REPO = Path(__file__).resolve().parents[1]
TOY_PROBLEM = REPO / "tests" / "fixtures" / "toy"


@pytest.fixture(scope="session")
def ray_session():
    """Start local Ray once (2 CPUs) and shut it down after the last test."""
    import ray

    from adrs.campaign import start_ray

    start_ray(2)
    yield ray
    ray.shutdown()


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "runs"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (tests/postgres_server.py), password-protected."""
    from tests.postgres_server import start_postgres

    server = start_postgres()
    yield server
    server.stop()
