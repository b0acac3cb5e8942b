"""An on-disk cache of LLM replies keyed by (model, messages, params), for deterministic replay.

One JSON file per reply under ``<cache_dir>/<key[:2]>/<key>.json``; the key is the SHA-256 of the
canonical JSON of the model string, the messages and the sampling parameters (temperature,
max_tokens and the candidate's seed, so two candidates with the same prompt still get two replies).
Files are written atomically (temp file + rename). Unreadable entries count as misses. It does not
decide what is cached (the proposer stores successful replies only) and never expires entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CachedReply:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def cache_key(model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    canonical = json.dumps({"model": model, "messages": messages, "params": params},
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory).expanduser()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> CachedReply | None:
        try:
            raw = json.loads(self._path(key).read_text())
            return CachedReply(text=str(raw["text"]), finish_reason=str(raw["finish_reason"]),
                               prompt_tokens=int(raw["prompt_tokens"]),
                               completion_tokens=int(raw["completion_tokens"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, reply: CachedReply) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(asdict(reply), handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
