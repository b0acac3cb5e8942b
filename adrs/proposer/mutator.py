"""The built-in offline proposer: seeded program mutation on the AST of the EVOLVE-BLOCKs.

``MutatorProposer`` parses the code between ``# EVOLVE-BLOCK-START`` / ``# EVOLVE-BLOCK-END``,
applies 1-3 random edits (operators in ``adrs.proposer.edits``: perturb a constant, swap a
variable / operator / comparison / vocabulary call, wrap or unwrap an expression, insert a term,
crossover with the inspirations) and returns the whole new program. Only the edited expressions are
re-written; everything else, inside and outside the blocks, stays byte-identical. The result depends
only on the prompt's seed, the parent's code and the inspirations' code. It calls no LLM and does
not evaluate anything: a proposal may still fail at run time, and the evaluator decides.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from functools import lru_cache

from adrs.program import EVOLVE_END, EVOLVE_START
from adrs.prompt import Prompt
from adrs.proposer import BaseProposer, Proposal, ProposalError
from adrs.proposer.ast_ops import Sites, Vocabulary, collect_sites, same_tree
from adrs.proposer.edits import Context, Donor, apply_random_edit
from adrs.proposer.names import module_names, undefined_names

EDIT_COUNTS = (1, 2, 3)
EDIT_COUNT_WEIGHTS = (1.0, 0.0, 0.0)
# Expressions that need no parentheses wherever they go (the parser reads them as one atom).
ATOMS = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.List, ast.Tuple,
         ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True)
class Block:
    """Lines ``start:end`` of a program (between the marker lines), dedented by ``indent``."""

    start: int
    end: int
    indent: str
    source: str


def find_blocks(lines: list[str]) -> list[Block]:
    """Every complete EVOLVE-BLOCK in ``lines`` (as from ``str.splitlines(keepends=True)``)."""
    blocks, start = [], None
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith(EVOLVE_START):
            start = i + 1
        elif text.startswith(EVOLVE_END) and start is not None:
            body = lines[start:i]
            indent = common_indent(body)
            source = "".join(ln[len(indent):] if ln.startswith(indent) else ln.lstrip(" \t")
                             for ln in body)
            blocks.append(Block(start, i, indent, source))
            start = None
    return blocks


def common_indent(lines: list[str]) -> str:
    prefixes = [ln[: len(ln) - len(ln.lstrip(" \t"))] for ln in lines if ln.strip()]
    if not prefixes:
        return ""
    shortest = min(prefixes, key=len)
    return shortest if all(p.startswith(shortest) for p in prefixes) else ""


def parse_block(block: Block) -> ast.Module | None:
    try:
        return ast.parse(block.source)
    except SyntaxError:
        return None


# ---- rendering: re-write only what changed ---------------------------------------------------

def changed_nodes(old: ast.AST, new: ast.AST) -> list[tuple[ast.AST, ast.AST, ast.AST, str]] | None:
    """Smallest positioned nodes (expressions, statements) in which ``old`` and ``new`` differ,
    as (old, new, parent, field); None when the difference cannot be pinned below ``old``."""
    if type(old) is not type(new):
        return None
    found = []
    for name in old._fields:
        a, b = getattr(old, name, None), getattr(new, name, None)
        if isinstance(a, list) != isinstance(b, list) or (isinstance(a, list) and len(a) != len(b)):
            return None
        for x, y in zip(a, b, strict=True) if isinstance(a, list) else [(a, b)]:
            if isinstance(x, ast.AST) and isinstance(y, ast.AST):
                inner = changed_nodes(x, y)
                if inner is not None:
                    found.extend(inner)
                elif isinstance(x, (ast.expr, ast.stmt)):
                    found.append((x, y, old, name))
                else:
                    return None
            elif type(x) is not type(y) or x != y:
                return None
    return found


def needs_parens(new: ast.AST, parent: ast.AST, field: str) -> bool:
    if isinstance(new, ATOMS) or isinstance(parent, (ast.Call, ast.keyword, ast.List, ast.Set)):
        return False
    if isinstance(parent, ast.Subscript) and field == "slice":
        return False
    return not (isinstance(parent, ast.stmt) and field in ("value", "test", "iter"))


def replacement(old: ast.AST, new: ast.AST, parent: ast.AST, field: str, lines: list[bytes],
                parens: bool) -> str:
    text = ast.unparse(new)
    if isinstance(old, ast.stmt):
        indent = lines[old.lineno - 1][: old.col_offset].decode()
        indent = indent if not indent.strip() else " " * old.col_offset
        return text.replace("\n", "\n" + indent)
    return f"({text})" if parens and needs_parens(new, parent, field) else text


def node_span(node: ast.AST) -> tuple[int, int, int, int]:
    line, col = node.lineno, node.col_offset
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        line, col = decorators[0].lineno, decorators[0].col_offset - 1
    return line, col, node.end_lineno, node.end_col_offset


def splice(source: str, old: ast.Module, new: ast.Module) -> str:
    """``source`` with only the changed nodes re-written (comments elsewhere survive); falls back
    to unparsing the whole block when that cannot reproduce ``new`` exactly."""
    pairs = changed_nodes(old, new)
    if pairs is not None:
        for parens in (False, True):  # fewest parentheses first; the parser checks the result
            result = replace_spans(source, pairs, parens)
            try:
                if same_tree(ast.parse(result), new):
                    return result
            except SyntaxError:
                pass
    return ast.unparse(new) + "\n"


def replace_spans(source: str, pairs: list, parens: bool) -> str:
    data = source.encode()
    lines = data.splitlines(keepends=True)
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln))
    edits = []
    for o, n, parent, field in pairs:
        l0, c0, l1, c1 = node_span(o)
        text = replacement(o, n, parent, field, lines, parens)
        edits.append((starts[l0 - 1] + c0, starts[l1 - 1] + c1, text.encode()))
    for begin, end, text in sorted(edits, reverse=True):
        data = data[:begin] + text + data[end:]
    return data.decode()


def render(lines: list[str], blocks: list[Block], olds: list[ast.Module | None],
           news: list[ast.Module | None]) -> str:
    out = list(lines)
    for block, old, new in reversed(list(zip(blocks, olds, news, strict=True))):
        if old is None or same_tree(old, new):
            continue
        text = splice(block.source, old, new)
        if block.indent:
            text = "".join(block.indent + ln if ln.strip() else ln
                           for ln in text.splitlines(keepends=True))
        out[block.start:block.end] = [text]
    return "".join(out)


# ---- the proposer ----------------------------------------------------------------------------

def donors_from(prompt: Prompt) -> list[Donor]:
    found = ((view.id, material(view.code)) for view in prompt.inspirations)
    return [Donor(f"#{pid}", *m) for pid, m in found if m is not None]


@lru_cache(maxsize=64)
def material(code: str) -> tuple[Sites, tuple[str, ...]] | None:
    """Sites of a program's blocks and their dumps (cached: inspirations recur; read-only)."""
    trees = [parse_block(b) for b in find_blocks(code.splitlines(keepends=True))]
    trees = [t for t in trees if t is not None]
    if not trees:
        return None
    sites = collect_sites(trees)
    return sites, tuple(ast.dump(s.node) for s in sites.exprs)


def parse_program(code: str) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError:
        return ast.Module([], [])


def helper_functions(program: ast.Module, blocks: list[Block],
                     trees: list[ast.Module | None]) -> frozenset[str]:
    """Block-level functions that code outside the blocks never names but block code calls."""
    inside = {(b.start, b.end) for b in blocks}
    outside = {n.id for n in ast.walk(program) if isinstance(n, ast.Name)
               and not any(start < n.lineno <= end for start, end in inside)}
    defined = {s.name for t in trees if t is not None for s in t.body
               if isinstance(s, ast.FunctionDef)}
    called = {n.id for t in trees if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}
    return frozenset(name for name in defined if name in called and name not in outside)


def is_valid(code: str, trees: list[ast.Module], known: frozenset[str]) -> bool:
    try:
        compile(code, "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return False
    return not any(undefined_names(t, known) for t in trees)


class MutatorProposer(BaseProposer):
    """Offline proposer: 1-3 seeded AST edits inside the EVOLVE-BLOCKs of the parent (no templates,
    nothing to learn from outcomes: the ``BaseProposer`` defaults)."""

    name = "mutator"

    def __init__(self, vocabulary: dict | None = None, *, max_attempts: int = 20) -> None:
        self.vocabulary = Vocabulary.from_dict(vocabulary)
        self.max_attempts = max_attempts

    async def propose(self, prompt: Prompt) -> Proposal:
        return self.mutate(prompt)

    def mutate(self, prompt: Prompt) -> Proposal:
        """The synchronous core of ``propose``."""
        code = prompt.parent.code
        lines = code.splitlines(keepends=True)
        blocks = find_blocks(lines)
        originals = [parse_block(b) for b in blocks]
        if not any(t is not None for t in originals):
            raise ProposalError("mutator: the parent has no parseable EVOLVE-BLOCK")
        program = parse_program(code)
        known = module_names(program)
        # Names a block reads but nothing binds come from around it (a block inside a function).
        known |= {n for t in originals if t is not None for n in undefined_names(t, known)}
        vocab = self.vocabulary.usable(known)
        donors = donors_from(prompt)
        helpers = helper_functions(program, blocks, originals)
        rng = random.Random(prompt.seed)
        for _ in range(self.max_attempts):
            trees = [parse_block(b) for b in blocks]
            editable = [t for t in trees if t is not None]
            ctx = Context(rng, vocab, known, editable, collect_sites(editable), donors, helpers)
            notes = []
            for _ in range(rng.choices(EDIT_COUNTS, EDIT_COUNT_WEIGHTS)[0]):
                note = apply_random_edit(ctx)
                if note:
                    notes.append(note)
                    ctx.refresh()
            if not notes:
                continue
            text = render(lines, blocks, originals, trees)
            if text != code and is_valid(text, editable, known):
                return Proposal(text=text, kind="rewrite", proposer=self.name,
                                note="; ".join(notes))
        raise ProposalError(f"mutator: no valid distinct mutation in {self.max_attempts} attempts")
