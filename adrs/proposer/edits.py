"""The edit operators of the offline mutator, applied in place to EVOLVE-BLOCK ASTs.

Each operator lists its candidates (sites from ``adrs.proposer.ast_ops``, or whole functions) and
applies one edit to a chosen candidate, returning a short note ("const 0 -> 2") or None when the
candidate turned out to have no valid edit. Edits insert only variables in scope at the site, names
the program already binds (``np``) and vocabulary items. This module does not parse, render or
validate programs (see ``adrs.proposer.mutator``).
"""

from __future__ import annotations

import ast
import copy
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adrs.proposer.ast_ops import (
    INT_SAFE_OPERATORS,
    OPERATOR_SYMBOLS,
    OPERATORS,
    Site,
    Sites,
    Vocabulary,
    collect_sites,
    dotted,
    expr_size,
    is_numeric_call,
    ordinary,
    same_tree,
)
from adrs.proposer.names import free_names, undefined_names

MAX_EXPR_NODES = 24  # edits that grow an expression stop at this size (against bloat)
HELPER_WEIGHT = 0.4  # helpers change behaviour less directly than the functions the harness calls
INT_LIMIT = 1000
JUMP_PROBABILITY = 0.3  # integer constants: chance of a far jump instead of a local step
JUMP_LIMIT = 200
FLOAT_LIMIT = 1e6
ORDER_GROUPS = ((ast.Lt, ast.LtE, ast.Gt, ast.GtE), (ast.Eq, ast.NotEq))


@dataclass(frozen=True)
class Donor:
    """An inspiration program's blocks, as crossover material (never edited: grafts copy)."""

    label: str  # "#12"
    sites: Sites
    dumps: tuple[str, ...]  # ast.dump of each site's expression, parallel to sites.exprs


@dataclass
class Context:
    """Everything an edit may read: the random stream, the blocks being edited and their sites."""

    rng: random.Random
    vocab: Vocabulary
    known: frozenset[str]  # module-level names and builtins of the parent program
    blocks: list[ast.Module]
    sites: Sites
    donors: list[Donor] = field(default_factory=list)
    helpers: frozenset[str] = frozenset()  # block functions only other block code calls
    material: dict[tuple, list[tuple[str, Site]]] = field(default_factory=dict)  # cache

    def refresh(self) -> None:
        """Re-collect the sites after an edit."""
        self.sites = collect_sites(self.blocks)
        self.material.clear()


@dataclass(frozen=True)
class Operator:
    name: str
    weight: float
    candidates: Callable[[Context], list[Any]]
    apply: Callable[[Any, Context], str | None]


# ---- helpers ---------------------------------------------------------------------------------

def short(node: ast.AST, limit: int = 40) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(value: float) -> ast.expr:
    """A literal; negative values as unary minus so the unparsed code keeps its meaning."""
    if value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(abs(value) if value == 0 else value)


def call(name: str, args: list[ast.expr]) -> ast.Call:
    parts = name.split(".")
    func: ast.expr = ast.Name(parts[0], ast.Load())
    for attr in parts[1:]:
        func = ast.Attribute(func, attr, ast.Load())
    return ast.Call(func, args, [])


def is_number_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def wrappable(site: Site, ctx: Context) -> bool:
    """A numeric-looking expression: a non-container variable, a number, arithmetic, a call."""
    node = site.node
    if isinstance(node, ast.Name):
        return site.kind_of(node.id) != "container"
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd))
    if isinstance(node, ast.Call):
        return is_numeric_call(node, ctx.vocab)
    return is_number_constant(node) or isinstance(node, (ast.BinOp, ast.Subscript))


def can_grow(site: Site, ctx: Context) -> bool:
    return site.root_size < MAX_EXPR_NODES and wrappable(site, ctx)


def fits(expr: ast.AST, site: Site, ctx: Context) -> bool:
    """True when every name ``expr`` reads is a variable in scope at ``site`` or a global."""
    return all(n in site.scope or (n in ctx.known and n not in site.kinds)
               for n in free_names(expr))


def subexpression(site: Site, ctx: Context) -> ast.expr | None:
    """A copy of another numeric expression of the same function that fits at ``site``."""
    pool = [s for s in ctx.sites.exprs
            if (s.block, s.func) == (site.block, site.func) and not s.int_ctx
            and s.node is not site.node and not isinstance(s.node, (ast.Name, ast.Constant))
            and wrappable(s, ctx) and fits(s.node, site, ctx)]
    return copy.deepcopy(ctx.rng.choice(pool).node) if pool else None


def terminal(site: Site, ctx: Context, avoid: set[str]) -> ast.expr:
    """A random operand for a new term: a variable in scope, a constant or a small expression."""
    rng = ctx.rng
    if site.int_ctx:
        ints = [v for v in site.variables(("int",)) if v not in avoid]
        if ints and rng.random() < 0.4:
            return ast.Name(rng.choice(ints), ast.Load())
        return ast.Constant(rng.choice((1, 2)))
    nums = [v for v in site.variables(("int", "num")) if v not in avoid]
    r = rng.random()
    if nums and r < 0.6:
        return ast.Name(rng.choice(nums), ast.Load())
    if r < 0.9 or not nums:
        return number(rng.choice(ctx.vocab.constants or (1.0,)))
    return subexpression(site, ctx) or ast.Name(rng.choice(nums), ast.Load())


def sites_where(test: Callable[[Site, Context], bool]) -> Callable[[Context], list[Site]]:
    return lambda ctx: [s for s in ctx.sites.exprs if test(s, ctx)]


# ---- operators -------------------------------------------------------------------------------

def step_int(value: int, rng: random.Random) -> int:
    """A nearby integer, or (with JUMP_PROBABILITY) a log-uniform jump across 1..JUMP_LIMIT: loop
    counts and window sizes often pay off only far from where the seed set them (0 or 1)."""
    if rng.random() < JUMP_PROBABILITY:
        new = int(round(math.exp(rng.uniform(0.0, math.log(JUMP_LIMIT)))))
        return new if new != value else value + 1
    k = rng.randint(2, 5)
    options = {value + 1, value - 1, value + k, value - k, value * 2, value // 2, 0, 1}
    options.discard(value)
    return max(-INT_LIMIT, min(INT_LIMIT, rng.choice(sorted(options))))


def step_float(value: float, rng: random.Random, constants: tuple[float, ...]) -> float:
    r = rng.random()
    if value == 0 or r < 0.15:
        new = rng.choice([c for c in constants if c != value] or [1.0])
    elif r < 0.75:
        new = value * math.exp(rng.gauss(0.0, 0.5))
    elif r < 0.95:
        new = value + rng.gauss(0.0, 0.3) * max(abs(value), 1.0)
    else:
        new = -value
    new = float(f"{new:.4g}")
    return max(-FLOAT_LIMIT, min(FLOAT_LIMIT, new))


def perturb_constant(site: Site, ctx: Context) -> str | None:
    old = site.node.value
    new = step_int(old, ctx.rng) if type(old) is int else step_float(old, ctx.rng,
                                                                      ctx.vocab.constants)
    if new == old:
        return None
    site.replace(number(new))
    return f"const {old!r} -> {new!r}"


def variable_choices(site: Site) -> list[str]:
    name = site.node.id
    kind = site.kind_of(name)
    kinds = ("int", "num") if kind != "container" and not site.int_ctx else (kind,)
    return [v for v in site.variables(kinds) if v != name]


def replace_variable(site: Site, ctx: Context) -> str | None:
    old = site.node.id
    new = ctx.rng.choice(variable_choices(site))
    site.replace(ast.Name(new, ast.Load()))
    return f"var {old} -> {new}"


def operator_choices(site: Site, ctx: Context) -> list[str]:
    current = OPERATOR_SYMBOLS.get(type(site.node.op if isinstance(site.node, ast.BinOp)
                                        else site.node))
    allowed = [o for o in ctx.vocab.operators if not site.int_ctx or o in INT_SAFE_OPERATORS]
    return [o for o in allowed if o != current] if current else []


def swap_operator(site: Site, ctx: Context) -> str | None:
    node = site.node
    new = ctx.rng.choice(operator_choices(site, ctx))
    if isinstance(node, ast.BinOp):
        old = OPERATOR_SYMBOLS[type(node.op)]
        node.op = OPERATORS[new]()
        return f"op {old} -> {new} in {short(node, 30)}"
    old_symbol = OPERATOR_SYMBOLS[type(node)]
    site.replace(OPERATORS[new]())
    return f"op {old_symbol}= -> {new}="


def swap_comparison(site: Site, ctx: Context) -> str | None:
    node = site.node
    i = ctx.rng.randrange(len(node.ops))
    group = next((g for g in ORDER_GROUPS if type(node.ops[i]) in g), None)
    if group is None:
        return None
    old = short(node)
    node.ops[i] = ctx.rng.choice([g for g in group if g is not type(node.ops[i])])()
    return f"cmp {old} -> {short(node)}"


def call_choices(site: Site, ctx: Context) -> list[str]:
    node = site.node
    if not isinstance(node, ast.Call) or node.keywords:
        return []
    name = dotted(node.func)
    for group, arity in ((ctx.vocab.functions, 2), (ctx.vocab.unary, 1)):
        if name in group and len(node.args) == arity:
            return [f for f in group if f != name]
    return []


def swap_call(site: Site, ctx: Context) -> str | None:
    old = dotted(site.node.func)
    new = ctx.rng.choice(call_choices(site, ctx))
    site.replace(call(new, site.node.args))
    return f"call {old} -> {new}"


def wrap(site: Site, ctx: Context) -> str | None:
    """e -> f(e, x) | e op x | u(e); in index positions e -> e +/- x with integer x."""
    rng, vocab, e = ctx.rng, ctx.vocab, site.node
    avoid = {e.id} if isinstance(e, ast.Name) else set()
    if site.int_ctx:
        op = rng.choice([o for o in ("+", "-") if o in vocab.operators] or ["+"])
        x = terminal(site, ctx, avoid)
        new: ast.expr = ast.BinOp(e, OPERATORS[op](), x)
        site.replace(new)
        return f"wrap {short(e)} in · {op} {short(x)}"
    forms = [("func", 1.0 if vocab.functions else 0.0), ("op", 1.0 if vocab.operators else 0.0),
             ("unary", 0.5 if vocab.unary else 0.0)]
    form = rng.choices([f for f, _ in forms], [w for _, w in forms])[0]
    if form == "unary":
        u = rng.choice(vocab.unary)
        site.replace(call(u, [e]))
        return f"wrap {short(e)} in {u}(·)"
    x = terminal(site, ctx, avoid)
    if form == "func":
        f = rng.choice(vocab.functions)
        first = rng.random() < 0.5
        site.replace(call(f, [e, x] if first else [x, e]))
        shape = f"·, {short(x)}" if first else f"{short(x)}, ·"
        return f"wrap {short(e)} in {f}({shape})"
    op = rng.choice(vocab.operators)
    if rng.random() < 0.75:
        site.replace(ast.BinOp(e, OPERATORS[op](), x))
        return f"wrap {short(e)} in · {op} {short(x)}"
    site.replace(ast.BinOp(x, OPERATORS[op](), e))
    return f"wrap {short(e)} in {short(x)} {op} ·"


def insert_term(site: Site, ctx: Context) -> str | None:
    """e -> e + c * x or e - c * x with a vocabulary constant c and a variable (or expression) x."""
    rng, e = ctx.rng, site.node
    nums = site.variables(("int", "num"))
    if not nums:
        return None
    x = subexpression(site, ctx) if rng.random() < 0.2 else None
    x = x or ast.Name(rng.choice(nums), ast.Load())
    c = rng.choice(ctx.vocab.constants or (1.0,))
    term = x if c == 1.0 else ast.BinOp(number(c), ast.Mult(), x)
    sign = rng.choice([ast.Add, ast.Sub])
    old = short(e)
    site.replace(ast.BinOp(e, sign(), term))
    return f"term {old} -> {short(site.node)}"


def operands(site: Site, ctx: Context) -> list[ast.expr]:
    node = site.node
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return [node.operand]
    if isinstance(node, ast.IfExp):
        return [node.body, node.orelse]
    if isinstance(node, ast.Call) and is_numeric_call(node, ctx.vocab):
        return [a for a in node.args if not isinstance(a, ast.Starred)]
    return []


def unwrap(site: Site, ctx: Context) -> str | None:
    """Delete an operation: replace it by one of its operands."""
    old = short(site.node)
    keep = ctx.rng.choice(operands(site, ctx))
    site.replace(keep)
    return f"unwrap {old} -> {short(keep)}"


def donor_sites(site: Site, ctx: Context) -> list[tuple[str, Site]]:
    """Expressions of the inspirations' same-named function that the parent's lacks."""
    key = (site.block, site.func, site.int_ctx)
    if key not in ctx.material:
        mine = {ast.dump(s.node) for s in ctx.sites.exprs if (s.block, s.func) == key[:2]}
        ctx.material[key] = [(d.label, s) for d in ctx.donors
                             for s, dump in zip(d.sites.exprs, d.dumps, strict=True)
                             if s.func == site.func and s.int_ctx == site.int_ctx
                             and dump not in mine and wrappable(s, ctx)]
    return ctx.material[key]


def graft(site: Site, ctx: Context) -> str | None:
    """Crossover: replace the expression by one from the same-named function of an inspiration,
    preferably the one at the same position (e.g. the returned expression), unless the statement's
    expression would outgrow MAX_EXPR_NODES (as growing edits do: without it rules bloat)."""
    room = max(MAX_EXPR_NODES, site.root_size) - site.root_size + expr_size(site.node)
    pool = [(label, s) for label, s in donor_sites(site, ctx)
            if fits(s.node, site, ctx) and expr_size(s.node) <= room]
    if not pool:
        return None
    aligned = [(label, s) for label, s in pool if s.path == site.path]
    label, donor = ctx.rng.choice(aligned if aligned and ctx.rng.random() < 0.6 else pool)
    old = short(site.node)
    site.replace(copy.deepcopy(donor.node))
    return f"graft {old} -> {short(donor.node)} from {label}"


def function_candidates(ctx: Context) -> list[tuple[int, int, ast.FunctionDef, str]]:
    """(block, index in block, donor def, label) for functions an inspiration defines differently."""
    if "functions" in ctx.material:
        return ctx.material["functions"]
    found = []
    for b, tree in enumerate(ctx.blocks):
        for i, stmt in enumerate(tree.body):
            if not isinstance(stmt, ast.FunctionDef):
                continue
            for d in ctx.donors:
                other = next((f for (_, name), f in d.sites.functions.items()
                              if name == stmt.name), None)
                if (other is not None and same_tree(other.args, stmt.args)
                        and not same_tree(other, stmt)
                        and not undefined_names(ast.Module([other], []), ctx.known)):
                    found.append((b, i, other, d.label))
    ctx.material["functions"] = found
    return found


def replace_function(candidate: tuple[int, int, ast.FunctionDef, str], ctx: Context) -> str:
    b, i, other, label = candidate
    ctx.blocks[b].body[i] = copy.deepcopy(other)
    return f"function {other.name}() from {label}"


def unused_parameters(site: Site, ctx: Context) -> list[str]:
    """Numeric parameters of the site's function that its body never reads (cached per function).
    A seed's author passes them for a reason: an expression that starts using one is promising."""
    key = ("unused", site.block, site.func)
    if key not in ctx.material:
        f = ctx.sites.functions.get((site.block, site.func))
        found: list[str] = []
        if f is not None:
            a = f.args
            params = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
            read = {n.id for n in ast.walk(f) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Load)}
            found = [x for x in params if x not in read and ordinary(x)]
        ctx.material[key] = found  # type: ignore[assignment]
    return [x for x in ctx.material[key] if site.kind_of(x) != "container"]  # type: ignore[union-attr]


def use_parameter(site: Site, ctx: Context) -> str | None:
    """e -> e +/- c * x or f(e, x) with x a parameter the function does not read yet."""
    rng, e = ctx.rng, site.node
    x = ast.Name(rng.choice(unused_parameters(site, ctx)), ast.Load())
    old = short(e)
    if ctx.vocab.functions and rng.random() < 0.4:
        f = rng.choice(ctx.vocab.functions)
        site.replace(call(f, [e, x] if rng.random() < 0.5 else [x, e]))
    else:
        c = rng.choice(ctx.vocab.constants or (1.0,))
        term = x if c == 1.0 else ast.BinOp(number(c), ast.Mult(), x)
        site.replace(ast.BinOp(e, rng.choice([ast.Add, ast.Sub])(), term))
    return f"use {x.id}: {old} -> {short(site.node)}"


def perturb_named(site: Site, ctx: Context) -> str | None:
    """Like ``perturb_constant``, but a non-negative tunable stays non-negative (a count, a
    window, a weight: flipping its sign is rarely the point)."""
    old = site.node.value
    note = perturb_constant(site, ctx)
    new = site.holder.value  # type: ignore[attr-defined]
    if note and old >= 0 and isinstance(new, ast.UnaryOp):  # number() writes negatives as -x
        value = new.operand.value  # type: ignore[attr-defined]
        site.replace(ast.Constant(value))
        note = f"const {old!r} -> {value!r}"
    return note


def is_named_constant(site: Site) -> bool:
    """``name = <number>``: a tunable the author named (passes, window, alpha, ...)."""
    return is_number_constant(site.node) and isinstance(site.holder, (ast.Assign, ast.AnnAssign)) \
        and site.field == "value"


OPERATOR_TABLE: tuple[Operator, ...] = (
    Operator("const", 3.0, sites_where(lambda s, c: is_number_constant(s.node)), perturb_constant),
    # named tunables get their own chance: in a long function they are a few sites among many
    Operator("param", 3.0, sites_where(lambda s, c: is_named_constant(s)), perturb_named),
    Operator("var", 2.0, sites_where(lambda s, c: isinstance(s.node, ast.Name)
                                     and bool(variable_choices(s))), replace_variable),
    Operator("binop", 1.5, sites_where(lambda s, c: isinstance(s.node, (ast.BinOp, ast.operator))
                                       and bool(operator_choices(s, c))), swap_operator),
    Operator("compare", 1.0, sites_where(lambda s, c: isinstance(s.node, ast.Compare)),
             swap_comparison),
    Operator("call", 1.0, sites_where(lambda s, c: bool(call_choices(s, c))), swap_call),
    Operator("wrap", 3.0, sites_where(can_grow), wrap),
    Operator("term", 1.5, sites_where(lambda s, c: can_grow(s, c) and not s.int_ctx),
             insert_term),
    Operator("unwrap", 1.5, sites_where(lambda s, c: bool(operands(s, c))), unwrap),
    Operator("graft", 2.0, sites_where(lambda s, c: bool(c.donors) and wrappable(s, c)
                                       and bool(donor_sites(s, c))), graft),
    Operator("function", 1.0, function_candidates, replace_function),
    Operator("use", 2.0, sites_where(lambda s, c: can_grow(s, c) and not s.int_ctx
                                     and bool(unused_parameters(s, c))), use_parameter),
)


def candidate_group(candidate: Any) -> tuple:
    """Which function a candidate belongs to (edits pick a function first, then a site)."""
    if isinstance(candidate, Site):
        return (candidate.block, candidate.func)
    return (candidate[0], candidate[2].name)


def apply_random_edit(ctx: Context, operators: tuple[Operator, ...] = OPERATOR_TABLE,
                      tries: int = 6) -> str | None:
    """Choose an operator (by weight), a function, then a candidate in it; apply one edit.
    Candidates are listed only for the operators drawn (operators without any drop out)."""
    rng = ctx.rng
    listed: dict[str, list[Any]] = {}
    live = list(operators)
    for _ in range(tries):
        while live:
            op = rng.choices(live, [o.weight for o in live])[0]
            if op.name not in listed:
                listed[op.name] = op.candidates(ctx)
            if listed[op.name]:
                break
            live.remove(op)
        else:
            return None
        cands = listed[op.name]
        groups = sorted({candidate_group(c) for c in cands})
        weights = [HELPER_WEIGHT if g[1] in ctx.helpers else 1.0 for g in groups]
        group = rng.choices(groups, weights)[0]
        note = op.apply(rng.choice([c for c in cands if candidate_group(c) == group]), ctx)
        if note:
            where = "block level" if group[1] == "<module>" else f"{group[1]}()"
            return f"{note} in {where}"
    return None
