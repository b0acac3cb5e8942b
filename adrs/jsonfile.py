"""Reference caches as small JSON files next to a problem's instances.

``cache_paths`` names the candidate files (the problem's data folder first, then shared folders
where the name carries the instances' hash), ``read_json_matching`` returns a file only if its
header matches exactly (a changed generator, solver or instance set means recompute), and
``write_json_atomic`` writes through a temporary file and a rename, so a reader (or a campaign
killed mid-write) never sees half a file; an unwritable folder is reported, not raised, so an
evaluator can fall back to the next folder. This module does not decide what is cached or when.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_paths(name: str, digest: str, dirs: Sequence[Path]) -> list[Path]:
    """``<dir>/<name>.json`` in the first folder (the problem's data folder); in the others the
    name also carries the first 16 characters of ``digest``, as they may be shared by problems."""
    return [Path(folder) / (f"{name}.json" if index == 0 else f"{name}-{digest[:16]}.json")
            for index, folder in enumerate(dirs)]


def read_json_matching(path: Path, header: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON object in ``path`` if every ``header`` item is stored with the same value, else None."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or any(stored.get(k) != v for k, v in header.items()):
        return None
    return stored


def write_json_atomic(path: Path, payload: Any) -> bool:
    """Write ``payload`` as indented JSON to ``path``; False (logged) if the folder is not writable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as err:
        log.info("cannot write %s: %s", path, err)
        return False
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=1)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return True
    except OSError as err:
        log.info("cannot write %s: %s", path, err)
        Path(tmp).unlink(missing_ok=True)
        return False
