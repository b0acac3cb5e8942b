"""Small JSON files written atomically: reference caches next to a problem's instances.

``write_json_atomic`` writes through a temporary file and a rename, so a reader (or a campaign
killed mid-write) never sees half a file; it reports an unwritable folder instead of raising, so an
evaluator can fall back to another cache folder. It does not decide what is cached or when.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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
