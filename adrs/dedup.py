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
import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adrs.program import EVOLVE_END, EVOLVE_START, ProgramView
from adrs.status import Fault, Status

if TYPE_CHECKING:
    from adrs.evaluation import EvalResult

# Stored programs whose outcome says nothing about the code: they do not count as the original.
NOT_EVALUATED = tuple(s.value for s in Status if s.fault in (Fault.PROPOSER, Fault.TRUSTED))


def program_key(code: str) -> str:
    """A digest that equal programs (up to formatting, comments, docstrings, local names) share
    (remembered for the last few hundred programs: the loop asks for each candidate's key more
    than once)."""
    return _cached_key(code)


@functools.lru_cache(maxsize=256)
def _cached_key(code: str) -> str:
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
    """The block's syntax tree with docstrings dropped and local names renamed, written out
    (``_Normalizer``), or its stripped text when it does not parse or nests too deeply for that."""
    try:
        return _Normalizer().text(ast.parse(dedent_block(source)))
    except (SyntaxError, RecursionError):  # marked: never equal to a written-out tree
        return "\0text\n" + "\n".join(ln.strip() for ln in source.splitlines() if ln.strip())


def dedent_block(source: str) -> str:
    lines = source.splitlines()
    indents = [len(ln) - len(ln.lstrip(" \t")) for ln in lines if ln.strip()]
    cut = min(indents, default=0)
    return "\n".join(ln[cut:] for ln in lines)


_AST, _FUNCTIONS = ast.AST, (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFINITIONS = frozenset([ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef])
_WITH_DOCSTRING = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        return body[1:] or [ast.Pass()]
    return body


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[str]:
    """Parameters, then names the function body assigns, in order of first appearance (nested
    functions and lambdas have their own locals and are not looked into; the decorators of nested
    functions and classes are looked at after the rest of the body)."""
    args = func.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    declared: set[str] = set()
    found: list[str] = []
    later: list[ast.AST] = []
    for node in func.body if isinstance(func.body, list) else [func.body]:
        _assigned(node, found, declared, later)
    for node in later:  # grows while it is read: decorators found in decorators come last
        _assigned(node, found, declared, later)
    return [name for name in dict.fromkeys(names + found) if name not in declared]


def _assigned(node: ast.AST, found: list[str], declared: set[str], later: list[ast.AST]) -> None:
    """Depth first, in field order: names stored or deleted go to ``found``, global and nonlocal
    names to ``declared``, nested functions' and classes' names to ``found`` and their decorators
    to ``later``; nested scopes are not entered."""
    kind = type(node)
    if kind is ast.Name:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            found.append(node.id)
        return
    if kind is ast.Global or kind is ast.Nonlocal:
        declared.update(node.names)
        return
    if kind in _DEFINITIONS:
        found.append(node.name)
        later.extend(node.decorator_list)
        return
    if kind is ast.Lambda:
        return
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, _AST):
                    _assigned(item, found, declared, later)
        elif isinstance(value, _AST):
            _assigned(value, found, declared, later)


class _Normalizer:
    """Writes a syntax tree out as text (node types, fields in order, constants by ``repr``: equal
    texts, equal trees), dropping docstrings and renaming each function's locals to v<depth>_<i>
    (innermost function wins). Function names are looked up in the enclosing functions, decorators
    and parameter defaults belong to the enclosing scope, return annotations are dropped and
    parameter annotations kept as written. One pass; the tree's parameters are renamed in place."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, str]] = []
        self.out: list[str] = []

    def text(self, tree: ast.AST) -> str:
        self.write(tree)
        return "".join(self.out)

    def write(self, value: object, raw: bool = False) -> None:
        """Append ``value`` (a node, a list or a constant); ``raw``: no renaming below it."""
        out = self.out
        if isinstance(value, list):
            out.append("[")
            for item in value:
                self.write(item, raw)
                out.append(",")
            out.append("]")
        elif not isinstance(value, _AST):
            out.append(repr(value))
        elif raw:
            self.fields(value, raw=True)
        elif type(value) is ast.Name:
            out.append(f"Name({self.lookup(value.id)!r},{type(value.ctx).__name__}(),)")
        elif isinstance(value, _FUNCTIONS):
            self.function_def(value)
        elif type(value) is ast.Lambda:
            self.lambda_(value)
        else:
            self.fields(value, docless=_without_docstring(value.body)
                        if isinstance(value, _WITH_DOCSTRING) else None)

    def fields(self, node: ast.AST, raw: bool = False, docless: list | None = None,
               **written: Callable[[], None]) -> None:
        """``node`` with its fields in order; ``written``: how to write some of them; ``docless``:
        the body without its docstring."""
        out = self.out
        out.append(type(node).__name__ + "(")
        for name in node._fields:
            if name in written:
                written[name]()
            elif name == "body" and docless is not None:
                self.write(docless)
            else:
                self.write(getattr(node, name, None), raw)
            out.append(",")
        out.append(")")

    def lookup(self, name: str) -> str:
        for mapping in reversed(self.scopes):
            if name in mapping:
                return mapping[name]
        return name

    def enter(self, func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> dict[str, str]:
        """The function's renaming; its parameters (any ``arg`` under its arguments) renamed."""
        mapping = {name: f"v{len(self.scopes)}_{i}" for i, name in enumerate(_local_names(func))}
        for a in ast.walk(func.args):
            if isinstance(a, ast.arg) and a.arg in mapping:
                a.arg = mapping[a.arg]
        return mapping

    def arguments(self, args: ast.arguments) -> None:
        """Defaults in the enclosing scope, everything else (names, annotations) as it stands."""
        self.fields(args, raw=True, defaults=lambda: self.write(args.defaults),
                    kw_defaults=lambda: self.write(args.kw_defaults))

    def scoped(self, mapping: dict[str, str], value: object) -> None:
        self.scopes.append(mapping)
        self.write(value)
        self.scopes.pop()

    def function_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        start = len(self.out)
        self.write(node.decorator_list)
        decorators = self.out[start:]
        del self.out[start:]
        name = self.lookup(node.name)
        mapping = self.enter(node)
        self.fields(node, raw=True, name=lambda: self.out.append(repr(name)),
                    args=lambda: self.arguments(node.args),
                    body=lambda: self.scoped(mapping, _without_docstring(node.body)),
                    decorator_list=lambda: self.out.extend(decorators),
                    returns=lambda: self.out.append("None"))

    def lambda_(self, node: ast.Lambda) -> None:
        mapping = self.enter(node)
        self.fields(node, args=lambda: self.arguments(node.args),
                    body=lambda: self.scoped(mapping, node.body))


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
