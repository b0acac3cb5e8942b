"""Line diffs for the web UI: unified hunks with old/new line numbers, computed with difflib from
the two programs' code (the stored ``diff`` column may be a model's patch text, not a diff)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    kind: str  # "ctx", "add", "del"
    old: int | None
    new: int | None
    text: str


@dataclass(frozen=True)
class Diff:
    hunks: list[list[Line]]
    added: int
    removed: int


def line_diff(old: str, new: str, context: int = 3) -> Diff:
    a, b = old.splitlines(), new.splitlines()
    hunks: list[list[Line]] = []
    added = removed = 0
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        hunk: list[Line] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                hunk.extend(Line("ctx", i1 + k + 1, j1 + k + 1, a[i1 + k]) for k in range(i2 - i1))
                continue
            if tag in ("replace", "delete"):
                hunk.extend(Line("del", i + 1, None, a[i]) for i in range(i1, i2))
                removed += i2 - i1
            if tag in ("replace", "insert"):
                hunk.extend(Line("add", None, j + 1, b[j]) for j in range(j1, j2))
                added += j2 - j1
        hunks.append(hunk)
    return Diff(hunks, added, removed)
