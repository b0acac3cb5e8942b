"""Discovery: problems and evaluators from built-in folders, from a path, and from installed
packages through the entry points adrs.problems / adrs.evaluators (with a cached lookup)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adrs import plugins
from adrs.config import ConfigError
from adrs.problem import known_problems, load_problem
from tests.conftest import TOY_PROBLEM
from tests.plugin_site import install_plugin


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The example plug-in installed in a temporary site folder on sys.path (removed afterwards)."""
    site = install_plugin(tmp_path / "site")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(site))
    plugins.clear_cache()
    yield site
    for name in [m for m in sys.modules if m.startswith("adrs_plugin_demo")]:
        del sys.modules[name]
    plugins.clear_cache()


def test_builtin_and_path_problems_load() -> None:
    assert load_problem("smtt").root.name == "smtt"
    assert load_problem(str(TOY_PROBLEM)).name == "toy"
    with pytest.raises(ConfigError, match="unknown problem 'nope'.*smtt"):
        load_problem("nope")


def test_an_installed_plugin_registers_a_problem_and_its_evaluator(plugin_site: Path) -> None:
    known = known_problems()
    folder, source = known["demo_pick"]
    assert source == "adrs-plugin-demo" and folder == (plugin_site / "adrs_plugin_demo" / "problem")
    assert known["smtt"][1] == "built-in"
    spec = load_problem("demo_pick")
    assert spec.direction == "maximize"
    assert spec.evaluator_dir == plugin_site / "adrs_plugin_demo" / "evaluator"  # found by entry point
    evaluator = spec.load_evaluator()
    assert evaluator.entry == "pick" and len(evaluator.calls("validation")) == 10


def test_the_entry_point_lookup_is_cached_and_refreshed_after_an_install(
        plugin_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "demo_pick" in plugins.plugins(plugins.PROBLEM_GROUP)
    scans = []
    real_scan = plugins._scan
    monkeypatch.setattr(plugins, "_scan", lambda: scans.append(1) or real_scan())
    plugins.clear_cache()
    assert "demo_pick" in plugins.plugins(plugins.PROBLEM_GROUP)
    assert scans == []  # a new process (cleared cache) reads the cache file, not every dist-info
    other = tmp_path / "other-site"
    other.mkdir()
    dist = other / "extra_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[adrs.problems]\nextra = extra_pkg.problem\n")
    monkeypatch.syspath_prepend(str(other))  # a new folder on the path: the cache key changes
    plugins.clear_cache()
    assert set(plugins.plugins(plugins.PROBLEM_GROUP)) >= {"demo_pick", "extra"}
    assert scans == [1]


def test_a_broken_plugin_gives_a_clear_error(plugin_site: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken-site"
    dist = broken / "broken_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[adrs.problems]\nghost = no_such_module_xyz\n")
    monkeypatch.syspath_prepend(str(broken))
    plugins.clear_cache()
    with pytest.raises(ConfigError, match="plug-in 'ghost'.*no_such_module_xyz"):
        load_problem("ghost")
    assert "broken" in known_problems()["ghost"][1]  # listed, marked broken, others unaffected
    assert "demo_pick" in known_problems()


def test_builtin_entry_point_targets_name_the_builtin_folders() -> None:
    assert plugins.problems.smtt == load_problem("smtt").root
    assert (plugins.evaluators.smtt / "__init__.py").is_file()
