"""What the private root must add so that a problem's declared packages import inside the sandbox.

A problem declares the Python distributions its candidate and evaluator may import (``sandbox.packages``
in problem.yaml, or an OpenEvolve / ADRS folder's ``requirements.txt``), and optionally another
interpreter (``sandbox.python``, e.g. a venv with torch). ``sandbox_runtime`` turns that into a
``Runtime``: the interpreter to start, the site directory holding its numpy, and the host paths to
bind read-only into the private root: each declared distribution and everything it requires
(recursively, markers evaluated), as listed in their installed RECORD files (package directories,
``.libs`` folders, ``.dist-info``), plus the other interpreter's install. Paths the sandbox binds
are only ever read-only; site-packages stays masked otherwise, so the project, an installed adrs and
other packages remain invisible.

A declared distribution that is not installed (or whose version does not match) is a
``ConfigError`` naming the packages and the pip command that installs them, raised before any
candidate runs. The resolution runs in the target interpreter: in this process for ``sys.executable``,
else by running this file with that interpreter (``python sandbox_packages.py '{...}'``), so the
functions above ``_main`` use the standard library only. It does not install anything, and it does
not build mounts (``adrs.sandbox`` and ``adrs._harness`` do).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
ALWAYS_AVAILABLE = frozenset(["numpy", "python"])  # the harness binds numpy itself
NEVER_BOUND = frozenset(["adrs"])  # the framework stays out of the sandbox
SKIPPED_TOPS = frozenset(["__pycache__", ".."])


@dataclass(frozen=True)
class Runtime:
    """How to start the sandboxed interpreter and what to add to its private root."""

    python: str  # interpreter to start
    site_dir: str  # site directory holding its numpy (appended to sys.path by the harness)
    binds: tuple[str, ...] = ()  # host paths bound read-only (packages, their dist-info, libs)
    prefixes: tuple[str, ...] = ()  # another interpreter's install, bound read-only
    masks: tuple[str, ...] = ()  # that interpreter's site directories, hidden except the binds
    path: tuple[str, ...] = ()  # site directories other than site_dir holding bound packages
    packages: tuple[str, ...] = field(default=(), compare=False)  # resolved distribution names


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(path: Path) -> tuple[str, ...]:
    """The requirement lines of a requirements.txt (comments, blanks and pip options dropped).
    Raises ValueError for lines that are not ``name[extras] specifier ; marker``."""
    found = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-") or "://" in line or line.startswith((".", "/")):
            raise ValueError(f"{path}:{number}: {line!r}: only package requirements can be made "
                             "importable in the sandbox (no pip options, URLs or paths)")
        if not NAME.match(line):
            raise ValueError(f"{path}:{number}: {line!r} is not a package requirement")
        found.append(line)
    return tuple(found)


# --- resolution (standard library only: may run under another interpreter) ------------------------


def _packaging():
    try:
        from packaging.markers import Marker
        from packaging.requirements import Requirement
        return Requirement, Marker
    except ImportError:
        try:
            from pip._vendor.packaging.markers import Marker
            from pip._vendor.packaging.requirements import Requirement
            return Requirement, Marker
        except ImportError:
            return None, None


def _parse(text: str) -> tuple[str, set[str], str, str]:
    """(name, extras, specifier, marker) of one requirement string."""
    requirement, _ = _packaging()
    if requirement is not None:
        r = requirement(text)
        return r.name, set(r.extras), str(r.specifier), str(r.marker or "")
    body, _, marker = text.partition(";")
    match = NAME.match(body)
    if match is None:
        raise ValueError(f"not a requirement: {text!r}")
    extras = {e.strip() for e in (match.group(2) or "[]")[1:-1].split(",") if e.strip()}
    return match.group(1), extras, match.group(3).strip(), marker.strip()


def _marker_holds(marker: str, extras: set[str]) -> bool:
    if not marker:
        return True
    _, marker_type = _packaging()
    if marker_type is None:
        return "extra" not in marker  # without packaging: keep unconditional-looking ones
    m = marker_type(marker)
    return any(m.evaluate({"extra": e}) for e in (extras or {""}))


def _version_ok(version: str, specifier: str) -> bool:
    if not specifier:
        return True
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:
        try:
            from pip._vendor.packaging.specifiers import SpecifierSet
        except ImportError:
            return True
    return SpecifierSet(specifier).contains(version, prereleases=True)


def _top_paths(dist) -> list[str]:
    """The distribution's top-level paths in its site directory (package dirs, modules, dist-info)."""
    base = Path(dist.locate_file("")).resolve()
    tops: set[str] = set()
    for file in dist.files or []:
        parts = PurePosixPath(str(file)).parts
        if not parts or parts[0] in SKIPPED_TOPS or parts[0].endswith(".pth"):
            continue
        if parts[0].startswith("__editable__"):
            raise ValueError(f"{dist.metadata['Name']} is an editable install; install it normally "
                             "to use it in the sandbox")
        tops.add(parts[0])
    if not tops:  # no RECORD: top_level.txt and the dist-info directory
        tops = set((dist.read_text("top_level.txt") or "").split())
        tops |= {p.name for p in base.glob("*.py") if p.stem in tops}
        info = getattr(dist, "_path", None)
        if info is not None:
            tops.add(Path(info).name)
    paths = []
    for top in sorted(tops):
        for candidate in (base / top, base / f"{top}.py"):
            if candidate.exists():
                paths.append(str(candidate))
                break
    return paths


def resolve(packages: list[str]) -> dict:
    """Describe this interpreter and the closure of ``packages`` (as JSON-safe data)."""
    import importlib.metadata as md
    import site
    import sysconfig

    import numpy

    numpy_site = str(Path(numpy.__file__).resolve().parent.parent)
    binds: list[str] = []
    missing: list[str] = []
    wrong: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()
    resolved: list[str] = []
    pending = [(p, "declared") for p in packages]
    while pending:
        text, why = pending.pop(0)
        try:
            name, extras, specifier, marker = _parse(text)
        except Exception as err:  # packaging's InvalidRequirement and ours
            errors.append(f"{text!r}: {err}")
            continue
        key = normalize(name)
        if not _marker_holds(marker, set()) and why == "declared":
            continue
        if key in ALWAYS_AVAILABLE or key in NEVER_BOUND or key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            (missing if why == "declared" else errors).append(
                text if why == "declared" else f"{name} (required by {why}) is not installed")
            continue
        if not _version_ok(dist.version, specifier):
            wrong.append(f"{text} (installed: {dist.version})")
            continue
        resolved.append(dist.metadata["Name"])
        try:
            binds += _top_paths(dist)
        except ValueError as err:
            errors.append(str(err))
        for requirement in dist.requires or []:
            try:
                _, _, _, req_marker = _parse(requirement)
            except Exception:
                continue
            if _marker_holds(req_marker, extras):
                pending.append((requirement.split(";")[0], dist.metadata["Name"]))
    numpy_binds = sorted(str(Path(numpy_site, n)) for n in os.listdir(numpy_site)
                         if n == "numpy" or n.startswith(("numpy.", "numpy-")))
    sites = [numpy_site, *site.getsitepackages(), site.getusersitepackages()]
    sites += [sysconfig.get_paths()[k] for k in ("purelib", "platlib")]
    site_dirs = sorted({os.path.realpath(p) for p in sites if os.path.isdir(p)})
    path = sorted({str(Path(b).parent) for b in binds} - {numpy_site})
    prefixes = {sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent.parent)}
    return {"python": sys.executable, "version": list(sys.version_info[:2]), "site_dir": numpy_site,
            "binds": sorted(set(binds)), "numpy_binds": numpy_binds, "path": path, "site_dirs": site_dirs,
            "prefixes": sorted(os.path.realpath(p) for p in prefixes), "missing": missing,
            "wrong": wrong, "errors": errors, "resolved": resolved}


# --- host side --------------------------------------------------------------------------------------


def sandbox_runtime(packages: tuple[str, ...] = (), python: str = "") -> Runtime:
    """The Runtime for these declarations (cached). Raises ConfigError if a package is missing."""
    return _runtime(tuple(packages), _interpreter(python))


def _interpreter(python: str) -> str:
    if not python:
        return sys.executable
    found = python if os.sep in python else (__import__("shutil").which(python) or python)
    return os.path.abspath(found)


@functools.cache
def _runtime(packages: tuple[str, ...], python: str) -> Runtime:
    from adrs.errors import ConfigError

    own = os.path.realpath(python) == os.path.realpath(sys.executable)
    if own:
        info = resolve(list(packages))
    else:
        info = _resolve_elsewhere(list(packages), python)
    problems = []
    pip = f"{python} -m pip install"
    if info["missing"]:
        quoted = " ".join(f"'{m}'" for m in info["missing"])
        problems.append(f"declared package(s) not installed for {python}: "
                        f"{', '.join(info['missing'])}. Install them with: {pip} {quoted}")
    if info["wrong"]:
        problems.append(f"installed version does not match: {'; '.join(info['wrong'])}. "
                        f"Install a matching one with: {pip} " + " ".join(
                            f"'{w.split(' (installed')[0]}'" for w in info["wrong"]))
    problems += info["errors"]
    if problems:
        raise ConfigError("sandbox packages: " + "\n".join(problems))
    extra_prefixes: tuple[str, ...] = ()
    masks: tuple[str, ...] = ()
    if not own:
        extra_prefixes = tuple(p for p in info["prefixes"] if p != "/")
        masks = tuple(info["site_dirs"])
        info["binds"] = sorted(set(info["binds"]) | set(info["numpy_binds"]))
    return Runtime(python=python, site_dir=info["site_dir"], binds=tuple(info["binds"]),
                   prefixes=extra_prefixes, masks=masks, path=tuple(info["path"]),
                   packages=tuple(info["resolved"]))


def _resolve_elsewhere(packages: list[str], python: str) -> dict:
    from adrs.errors import ConfigError

    # -c with this file's text and cwd "/": nothing of the project shadows the standard library
    cmd = [python, "-c", Path(__file__).read_text(), json.dumps(packages)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                              cwd="/")
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ConfigError(f"sandbox.python {python}: cannot run it: {err}") from err
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        hint = f" (it needs numpy: {python} -m pip install numpy)" if "numpy" in tail else ""
        raise ConfigError(f"sandbox.python {python}: cannot describe its packages{hint}:\n{tail}")
    info = json.loads(done.stdout)
    if tuple(info["version"]) < (3, 11):
        raise ConfigError(f"sandbox.python {python}: Python {'.'.join(map(str, info['version']))} "
                          "is too old; the sandbox harness needs Python >= 3.11")
    return info


def confine_additions(runtime: Runtime, data_binds: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Lists to append to the harness's private-root spec (all bound read-only)."""
    return {"ro_binds": [*runtime.prefixes, *(os.path.realpath(d) for d in data_binds)],
            "masks": list(runtime.masks), "unmask": list(runtime.binds)}


if __name__ == "__main__":  # run by another interpreter (-c): print what ``resolve`` finds
    print(json.dumps(resolve(json.loads(sys.argv[1]))))
