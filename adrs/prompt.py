"""Prompt rendering: a Jinja environment over the prompt templates, and ``render_prompt``.

Every prompt text lives in Jinja templates (``prompts/*.j2``, StrictUndefined); a user directory can
override any template, partials included, by file name. ``render_prompt`` renders ``system.j2`` and
``<template>.j2`` into a system and a user message. Templates see ``template`` (the name),
``problem`` (ProblemContext), ``parent``, ``second`` (the other parent of a crossover, else None)
and ``inspirations`` (ProgramView: public metrics only), and ``feedback_limit`` (characters of
evaluator feedback to show; lowered by ``adrs.proposer.context`` when the prompt is too long).
This module holds no prompt text and does not choose parents or templates.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from adrs.config import ConfigError
from adrs.program import ProgramView
from adrs.resources import builtin_dir

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}

SYSTEM_TEMPLATE = "system.j2"
DEFAULT_FEEDBACK_LIMIT = 3000  # characters of evaluator feedback shown with a program


class PromptError(ConfigError):
    """A prompt template is missing, malformed, or uses a variable that is not provided."""


@dataclass(frozen=True)
class Prompt:
    template: str  # mutation kind / template name: "diff", "rewrite", "crossover" or "fix"
    parent: ProgramView
    inspirations: tuple[ProgramView, ...]
    messages: tuple[Message, ...] = ()  # rendered chat; empty for proposers that read no text
    seed: int = 0  # per-candidate seed for reproducible proposers
    second: ProgramView | None = None  # the other parent of a crossover

    @property
    def text(self) -> str:
        """All messages as one string (what is stored with the program)."""
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in self.messages)


@dataclass(frozen=True)
class ProblemContext:
    """What templates may say about the problem (from ProblemSpec)."""

    name: str
    description: str
    entry: str  # entry function name, e.g. "schedule"
    signature: str  # e.g. "schedule(p, d) -> sequence of job indices"
    objective: str  # metric name, e.g. "mean_gap_pct"
    direction: str  # "minimize" | "maximize"


def render_prompt(
    template: str,
    problem: ProblemContext,
    parent: ProgramView,
    inspirations: tuple[ProgramView, ...],
    *,
    seed: int = 0,
    template_dir: Path | None = None,
    second: ProgramView | None = None,
    feedback_limit: int = DEFAULT_FEEDBACK_LIMIT,
) -> Prompt:
    """Render system + user messages for ``template`` ("diff", "rewrite", "crossover", "fix")."""
    if template == "crossover" and second is None:
        raise PromptError("the crossover template needs a second parent")
    env = environment(template_dir)
    inspirations = tuple(inspirations)
    values = {"template": template, "problem": problem, "parent": parent, "second": second,
              "inspirations": inspirations, "feedback_limit": feedback_limit}
    messages = (
        {"role": "system", "content": for_model(_render(env, SYSTEM_TEMPLATE, values))},
        {"role": "user", "content": for_model(_render(env, f"{template}.j2", values))},
    )
    return Prompt(template=template, parent=parent, inspirations=inspirations,
                  messages=messages, seed=seed, second=second)


def for_model(text: str) -> str:
    """Prompt text as sent: no host paths (the Python install, adrs, the current and home
    folders, temporary files) and no secrets (``adrs.redact``)."""
    from adrs.redact import redact, strip_host_paths

    return redact(strip_host_paths(text, [(sys.prefix, "<python>"), (sys.base_prefix, "<python>"),
                                          (builtin_dir("prompts").parent, "<adrs>")]))


def environment(template_dir: Path | str | None = None) -> jinja2.Environment:
    """The Jinja environment for ``template_dir`` (built once per folder, then cached). A template
    is read once per process: a campaign renders with the templates it started with."""
    if template_dir is None:
        return _environment(None)
    path = Path(template_dir).expanduser().resolve()
    if not path.is_dir():
        raise PromptError(f"prompt.template_dir: folder {template_dir} does not exist")
    return _environment(str(path))


@functools.cache
def _environment(template_dir: str | None) -> jinja2.Environment:
    search = [template_dir] if template_dir else []
    search.append(str(builtin_dir("prompts")))
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        auto_reload=False,  # no stat of every template file on every render
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def template_names(template_dir: Path | str | None = None) -> list[str]:
    """Mutation templates available (``name`` of each ``name.j2``; system and ``_*`` partials
    excluded)."""
    return _mutation_templates(environment(template_dir))


def check_templates(names: Iterable[str], template_dir: Path | str | None = None) -> None:
    """Raise PromptError unless ``system.j2`` and every ``<name>.j2`` exist and parse."""
    env = environment(template_dir)
    for file in [SYSTEM_TEMPLATE, *(f"{name}.j2" for name in names)]:
        _load(env, file)


def _load(env: jinja2.Environment, file: str) -> jinja2.Template:
    try:
        return env.get_template(file)
    except jinja2.TemplateNotFound as err:
        folders = ", ".join(getattr(env.loader, "searchpath", []))
        raise PromptError(f"prompt template {file} not found in {folders}; available: "
                          f"{', '.join(_mutation_templates(env))}") from err
    except jinja2.TemplateSyntaxError as err:
        raise PromptError(f"prompt template {err.filename or file}, line {err.lineno}: "
                          f"{err.message}") from err


def _mutation_templates(env: jinja2.Environment) -> list[str]:
    names = {Path(n).stem for n in env.list_templates(extensions=["j2"])}
    return sorted(n for n in names if not n.startswith("_") and f"{n}.j2" != SYSTEM_TEMPLATE)


def _render(env: jinja2.Environment, file: str, values: dict[str, object]) -> str:
    template = _load(env, file)
    try:
        return template.render(**values)
    except jinja2.UndefinedError as err:
        raise PromptError(f"prompt template {template.filename or file}: {err.message}; "
                          f"templates may use only {', '.join(sorted(values))}") from err
    except jinja2.TemplateError as err:
        raise PromptError(f"prompt template {template.filename or file}: {err}") from err
