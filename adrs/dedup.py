"""Duplicate candidates: programs equivalent to one already evaluated in the run are never run.

Two programs are equivalent when their EVOLVE-BLOCKs have the same normalized AST and the code
around the blocks is the same. Normalization drops formatting, comments and docstrings and renames
each function's local names (parameters and names it assigns) to positional placeholders, so
``def f(a): x = a; return x`` and ``def f(b): y = b  # note\\n return y`` are equivalent. Names that
are not local (globals, builtins, attributes, function names, keyword-argument names) are kept:
changing them changes the program. Code outside the blocks is compared line by line with
whitespace stripped. A block that does not parse keeps its raw text (it is a syntax error either
way and is evaluated once). This module decides equivalence; it neither stores nor evaluates.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adrs.program import EVOLVE_END, EVOLVE_START, ProgramView
from adrs.status import Fault, Status

if TYPE_CHECKING:
    from adrs.evaluation import EvalResult

# Stored programs whose outcome says nothing about the code: they do not count as the original.
NOT_EVALUATED = tuple(s.value for s in Status if s.fault in (Fault.PROPOSER, Fault.TRUSTED))


def program_key(code: str) -> str:
    """A digest that equal programs (up to formatting, comments, docstrings, local names) share."""
    parts: list[str] = []
    block: list[str] | None = None
    for line in code.splitlines():
        text = line.strip()
        if text.startswith(EVOLVE_START):
            block = []
        elif text.startswith(EVOLVE_END) and block is not None:
            parts.append("B:" + normalized_block("\n".join(block)))
            block = None
        elif block is not None:
            block.append(line)
        elif text and not text.startswith("#"):
            parts.append("O:" + text)
    if block is not None:  # an unterminated block: compare its text
        parts.append("U:" + "\n".join(ln.strip() for ln in block))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def normalized_block(source: str) -> str:
    """The block's AST dump with docstrings dropped and local names renamed, or its stripped text
    when it does not parse."""
    try:
        tree = ast.parse(dedent_block(source))
    except SyntaxError:
        return "\n".join(ln.strip() for ln in source.splitlines() if ln.strip())
    tree = _LocalNames().visit(_drop_docstrings(tree))
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def dedent_block(source: str) -> str:
    lines = source.splitlines()
    indents = [len(ln) - len(ln.lstrip(" \t")) for ln in lines if ln.strip()]
    cut = min(indents, default=0)
    return "\n".join(ln[cut:] for ln in lines)


def _drop_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    """Parameters, then names the function body assigns, in order of first appearance (nested
    functions and lambdas have their own locals and are not looked into)."""
    args = func.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    declared: set[str] = set()
    stack = list(func.body) if isinstance(func.body, list) else [func.body]
    found: list[str] = []
    while stack:
        node = stack.pop(0)
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.append(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append(node.name)
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        stack[0:0] = list(ast.iter_child_nodes(node))
    out: list[str] = []
    for name in names + found:
        if name not in out and name not in declared:
            out.append(name)
    return out


@dataclass
class _LocalNames(ast.NodeTransformer):
    """Renames each function's locals to v0, v1, ... (innermost function wins)."""

    scopes: list[dict[str, str]] = field(default_factory=list)

    def _function(self, node: ast.AST) -> ast.AST:
        mapping = {name: f"v{len(self.scopes)}_{i}" for i, name in enumerate(_local_names(node))}
        for a in ast.walk(node.args):
            if isinstance(a, ast.arg) and a.arg in mapping:
                a.arg = mapping[a.arg]
        node.args.defaults = [self.visit(x) for x in node.args.defaults]
        node.args.kw_defaults = [self.visit(x) if x is not None else None
                                 for x in node.args.kw_defaults]
        self.scopes.append(mapping)
        body = node.body if isinstance(node.body, list) else [node.body]
        new_body = [self.visit(x) for x in body]
        node.body = new_body if isinstance(node.body, list) else new_body[0]
        self.scopes.pop()
        if hasattr(node, "returns"):
            node.returns = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.decorator_list = [self.visit(x) for x in node.decorator_list]
        renamed = self._lookup(node.name)
        self._function(node)
        node.name = renamed
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return self._function(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._lookup(node.id)
        return node

    def _lookup(self, name: str) -> str:
        for mapping in reversed(self.scopes):
            if name in mapping:
                return mapping[name]
        return name


@dataclass(frozen=True)
class Original:
    seq: int  # candidate number of the first equivalent program
    program_id: int | None  # its stored id (None while it is still being evaluated)


class DuplicateIndex:
    """Normalized keys of the run's evaluated (or in-flight) programs, first one wins."""

    def __init__(self, programs: Iterable[ProgramView] = ()) -> None:
        self._first: dict[str, Original] = {}
        self._turns: dict[int, asyncio.Event] = {}  # in-flight candidates yet to claim
        for p in sorted(programs, key=lambda p: p.seq):
            if p.status not in NOT_EVALUATED:
                self.add(p.code, p.seq, p.id)

    def __len__(self) -> int:
        return len(self._first)

    def original(self, code: str) -> Original | None:
        return self._first.get(program_key(code))

    def add(self, code: str, seq: int, program_id: int | None = None) -> None:
        """Remember ``code`` (submitted for evaluation as candidate ``seq``)."""
        key = program_key(code)
        known = self._first.get(key)
        if known is None or (known.seq == seq and known.program_id is None):
            self._first[key] = Original(seq, program_id)

    def forget(self, code: str, seq: int) -> None:
        """Drop ``code`` if candidate ``seq`` is its original (its evaluation said nothing about
        the code, e.g. a dead worker), so the next equivalent candidate is evaluated."""
        key = program_key(code)
        if key in self._first and self._first[key].seq == seq:
            del self._first[key]

    def claim(self, code: str, seq: int) -> EvalResult | None:
        """The ``duplicate`` result for candidate ``seq`` when an equivalent program was evaluated
        or is being evaluated; else None, and ``code`` is remembered as in flight."""
        original = self.original(code)
        if original is None or original.seq == seq:
            self.add(code, seq)
            return None
        from adrs.evaluation import EvalResult  # numpy: not for browsing commands

        return EvalResult(Status.DUPLICATE, None, private_metrics={"duplicate_of_seq": original.seq},
                          feedback=duplicate_feedback(original))

    def expect(self, seq: int) -> None:
        """Candidate ``seq`` was started: later candidates claim only after it claimed (or ended),
        so which of two equal candidates is the duplicate never depends on which proposal
        finished first (same seed, same lineage)."""
        self._turns[seq] = asyncio.Event()

    async def claim_in_turn(self, code: str, seq: int) -> EvalResult | None:
        """``claim`` once every earlier candidate in flight has claimed or ended."""
        for event in [e for s, e in self._turns.items() if s < seq]:
            await event.wait()
        try:
            return self.claim(code, seq)
        finally:
            self._end_turn(seq)

    def drop(self, seq: int) -> None:
        """Candidate ``seq`` was abandoned before claiming (e.g. the LLM stop rule): later
        candidates stop waiting for it."""
        self._end_turn(seq)

    def _end_turn(self, seq: int) -> None:
        event = self._turns.pop(seq, None)
        if event is not None:
            event.set()

    def record(self, code: str, seq: int, status: str, program_id: int) -> None:
        """A stored outcome: an evaluated program becomes the original of its key; one whose
        evaluation said nothing about the code frees its key."""
        self._end_turn(seq)  # a candidate that failed before claiming
        if status in NOT_EVALUATED:
            self.forget(code, seq)
        else:
            self.add(code, seq, program_id)


def duplicate_feedback(original: Original) -> str:
    where = f"program #{original.program_id}" if original.program_id is not None else \
        f"candidate {original.seq}"
    return (f"not evaluated: its EVOLVE-BLOCK is equivalent to that of {where} (candidate "
            f"{original.seq}) up to formatting, comments, docstrings and local names")


@dataclass(frozen=True)
class DuplicateSummary:
    candidates: int  # candidates after the seed
    duplicates: int
    saved_s: float  # estimated sandbox time saved: duplicates x mean evaluation time

    @property
    def share(self) -> float:
        return self.duplicates / self.candidates if self.candidates else 0.0


def summarize(programs: Iterable[ProgramView | object]) -> DuplicateSummary:
    """Duplicates among a run's candidates and the evaluation time they saved (objects with
    ``seq``, ``status`` and ``eval_s``, e.g. stored program records)."""
    rows = [p for p in programs if getattr(p, "seq", 0) != 0]
    dups = sum(1 for p in rows if p.status == "duplicate")
    timed = [float(getattr(p, "eval_s", 0.0) or 0.0) for p in rows if p.status not in NOT_EVALUATED]
    mean = sum(timed) / len(timed) if timed else 0.0
    return DuplicateSummary(len(rows), dups, dups * mean)
