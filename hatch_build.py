"""Build hook: a regular wheel ships the built-in evaluators, problems and prompts inside the package
(``adrs/_builtin/``). An editable install does not copy them: it reads the repository's folders
(see ``adrs/resources.py``), and copies in site-packages would go stale and be importable by
sandboxed candidates."""

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUILTIN_FOLDERS = ("evaluators", "problems", "prompts")


class BuiltinFoldersHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "standard":
            for folder in BUILTIN_FOLDERS:
                build_data["force_include"][folder] = f"adrs/_builtin/{folder}"
