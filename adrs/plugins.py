"""Plug-in discovery: problems and evaluators registered by installed packages through entry points.

A package registers a problem folder under the entry-point group ``adrs.problems`` and an evaluator
package under ``adrs.evaluators``; the entry-point name is the name users type
(``adrs run NAME``, ``evaluator: NAME`` in problem.yaml). The value is either a module
(``my_pkg.problem``: its folder is the problem folder, or the evaluator package) or ``module:attr``
where the attribute is a folder path (``str`` / ``Path``) or a function returning one. The built-in
problems and evaluators register the same way (``adrs.plugins:problems.NAME``).

Reading every installed distribution's entry points takes tens of milliseconds, so the lookup is
cached in a small JSON file keyed by the modification times of the ``sys.path`` folders (installing
or removing a package changes them). Folders are resolved without running a package's code where
possible (``importlib.util.find_spec``). This module does not parse problem folders (``adrs.problem``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from adrs.resources import builtin_dir

PROBLEM_GROUP = "adrs.problems"
EVALUATOR_GROUP = "adrs.evaluators"
_CACHE_VERSION = 1


class PluginError(LookupError):
    """An entry point does not lead to a usable folder."""


@dataclass(frozen=True)
class Plugin:
    group: str
    name: str
    value: str  # "module" or "module:attr"
    dist: str  # distribution that registered it

    def folder(self) -> Path:
        """The folder the entry point names (a problem folder or an evaluator package)."""
        module, _, attr = self.value.partition(":")
        module, attr = module.strip(), attr.strip()
        if not attr:
            spec = importlib.util.find_spec(module)
            if spec is None:
                raise PluginError(f"{self.describe()}: module {module!r} not found")
            if spec.submodule_search_locations:
                return Path(list(spec.submodule_search_locations)[0]).resolve()
            if spec.origin is None:
                raise PluginError(f"{self.describe()}: module {module!r} has no file")
            return Path(spec.origin).resolve().parent
        target: object = importlib.import_module(module)
        for part in attr.split("."):
            target = getattr(target, part)
        if callable(target):
            target = target()
        if not isinstance(target, str | os.PathLike):
            raise PluginError(f"{self.describe()}: expected a folder path, got {type(target).__name__}")
        return Path(target).resolve()

    def describe(self) -> str:
        return f"entry point {self.group}:{self.name} = {self.value!r} (from {self.dist})"


class _BuiltinFolders:
    """Entry-point target for the built-in folders: ``problems.smtt`` is the smtt problem folder."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __getattr__(self, name: str) -> Path:
        if name.startswith("__"):
            raise AttributeError(name)
        return builtin_dir(self.kind) / name


problems = _BuiltinFolders("problems")
evaluators = _BuiltinFolders("evaluators")


def plugins(group: str) -> dict[str, Plugin]:
    """Registered entry points of ``group`` by name (the first registration of a name wins)."""
    found: dict[str, Plugin] = {}
    for plugin in _all_plugins():
        if plugin.group == group:
            found.setdefault(plugin.name, plugin)
    return found


def find_plugin_folder(group: str, name: str) -> Path | None:
    """The folder registered as ``name`` in ``group``, or None if no package registers it."""
    plugin = plugins(group).get(name)
    return plugin.folder() if plugin is not None else None


def clear_cache() -> None:
    """Forget the in-process lookup (after changing sys.path, e.g. in tests)."""
    _all_plugins.cache_clear()


@functools.cache
def _all_plugins() -> tuple[Plugin, ...]:
    key = _cache_key()
    cache = _cache_file()
    try:
        data = json.loads(cache.read_text())
        if data.get("key") == key:
            return tuple(Plugin(**p) for p in data["plugins"])
    except (OSError, ValueError, TypeError, KeyError):
        pass
    found = _scan()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "plugins": [p.__dict__ for p in found]}))
        os.replace(tmp, cache)
    except OSError:  # a read-only home: no cache, still correct
        pass
    return found


def _scan() -> tuple[Plugin, ...]:
    from importlib.metadata import distributions

    found = []
    for dist in distributions():
        for ep in dist.entry_points:
            if ep.group in (PROBLEM_GROUP, EVALUATOR_GROUP):
                found.append(Plugin(ep.group, ep.name, ep.value, dist.metadata["Name"] or "?"))
    return tuple(found)


def _cache_key() -> str:
    """sys.path with each folder's modification time: changes when packages are (un)installed."""
    parts = [str(_CACHE_VERSION), sys.version]
    for entry in sys.path:
        try:
            parts.append(f"{entry}:{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            parts.append(f"{entry}:-")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "adrs" / "entry-points.json"
