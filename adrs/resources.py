"""Locate the built-in problems, evaluators and prompts, and import evaluator packages by path.

In a source checkout or an editable install they are the top-level folders of the repository; a wheel
ships them under ``adrs/_builtin/``. This module only finds files; it does not parse them.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_PACKAGE_DIR = Path(__file__).resolve().parent


@functools.cache
def builtin_dir(kind: str) -> Path:
    """Folder of the built-in ``kind`` ("problems", "evaluators" or "prompts"), looked up once."""
    for candidate in (_PACKAGE_DIR / "_builtin" / kind, _PACKAGE_DIR.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"built-in folder {kind!r} not found next to {_PACKAGE_DIR}")


def import_package_from_dir(package_dir: Path, module_name: str) -> ModuleType:
    """Import the package in ``package_dir`` (with its ``__init__.py``) as ``module_name``.

    Relative imports inside the package work; a second call returns the cached module.
    """
    if module_name in sys.modules:
        return sys.modules[module_name]
    init = package_dir / "__init__.py"
    if not init.is_file():
        raise FileNotFoundError(f"{package_dir} is not a Python package (no __init__.py)")
    spec = importlib.util.spec_from_file_location(
        module_name, init, submodule_search_locations=[str(package_dir)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
