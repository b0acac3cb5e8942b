"""Install the example plug-in package (tests/fixtures/plugin_pkg) into a throw-away site folder.

What ``pip install`` would leave behind, without network or build tools: the package files and a
``<name>-<version>.dist-info`` folder (METADATA and the entry points declared in the fixture's
pyproject.toml). Putting the folder on ``sys.path`` / ``PYTHONPATH`` makes the plug-in visible to
``importlib.metadata``; deleting it uninstalls it.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

PLUGIN_PKG = Path(__file__).resolve().parent / "fixtures" / "plugin_pkg"


def install_plugin(site: Path, source: Path = PLUGIN_PKG) -> Path:
    """Copy the plug-in's packages and write its dist-info into ``site``; return ``site``."""
    project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    site.mkdir(parents=True, exist_ok=True)
    for package in (p for p in source.iterdir() if (p / "__init__.py").is_file()):
        shutil.copytree(package, site / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, entries in project.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
        lines.append("")
    (dist / "entry_points.txt").write_text("\n".join(lines))
    return site
