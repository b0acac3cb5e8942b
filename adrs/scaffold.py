"""``adrs new``: write a new problem folder from the templates in ``adrs/templates/new_problem/``.

The folder (problem.yaml, seed program with an EVOLVE-BLOCK, a baseline, an evaluator package with
one stage and an instance generator stub, README) runs as-is on a toy task. Templates are plain
files; ``{{name}}`` and ``{{path}}`` are the only placeholders. This module does not check or run
the problem (see ``adrs.check``).
"""

from __future__ import annotations

import re
from pathlib import Path

from adrs.config import ConfigError

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "new_problem"
SUFFIX = ".tmpl"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def template_files() -> list[Path]:
    """The template files, relative to the template folder."""
    return sorted(p.relative_to(TEMPLATE_DIR) for p in TEMPLATE_DIR.rglob(f"*{SUFFIX}"))


def new_problem(name: str, parent: Path) -> Path:
    """Write ``parent/name`` and return it. Raises ConfigError for a bad name or an existing folder."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"problem name {name!r}: use lower-case letters, digits and _ "
                          "(starting with a letter, at most 40 characters)")
    target = parent / name
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another name or --dir")
    shown = str(target) if target.is_absolute() else f"./{target}"
    values = {"name": name, "path": shown}
    for rel in template_files():
        text = (TEMPLATE_DIR / rel).read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        out = target / str(rel)[: -len(SUFFIX)]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return target
