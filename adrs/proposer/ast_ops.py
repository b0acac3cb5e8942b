"""Where the offline mutator may edit a program, and what it may put there.

``collect_sites`` walks the AST of EVOLVE-BLOCK code and lists every expression an edit may replace,
each with the variables bound at that point (function parameters, names assigned earlier, loop
targets) and a rough kind per variable (``container`` if subscripted, iterated or ``len``-ed, ``int``
if used as an index or only ever assigned integers, else ``num``); inside an index or range()
argument a site is marked integral, so edits there keep it an integer. Signatures, assignment and
loop targets, the callee of a call, attribute owners and string constants are never sites. This
module does not choose or apply edits (see ``adrs.proposer.edits``), check names
(``adrs.proposer.names``) or read EVOLVE-BLOCK markers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from adrs.proposer.names import target_names

CONTAINER_METHODS = {"append", "pop", "insert", "remove", "extend", "index", "sort", "reverse",
                     "copy", "count"}
INT_CALLS = {"len", "int", "round", "range"}
NUMERIC_BUILTINS = {"abs", "max", "min", "float", "pow"}
# Calls whose result is integral whatever their arguments (other calls pass an integer context on).
INT_RESULTS = ("int", "len", "round", "argmin", "argmax", "argsort", "argwhere", "searchsorted",
               "nonzero", "flatnonzero", "count_nonzero")
OPERATORS: dict[str, type[ast.operator]] = {
    "+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "//": ast.FloorDiv, "%": ast.Mod,
    "**": ast.Pow,
}
OPERATOR_SYMBOLS = {v: k for k, v in OPERATORS.items()}
INT_SAFE_OPERATORS = {"+", "-", "*", "//", "%"}


@dataclass(frozen=True)
class Vocabulary:
    """What the mutator may insert: binary and unary functions, operators, constants."""

    functions: tuple[str, ...] = ("np.maximum", "np.minimum")
    unary: tuple[str, ...] = ("np.abs", "np.sqrt")
    operators: tuple[str, ...] = ("+", "-", "*", "/")
    constants: tuple[float, ...] = (0.5, 1.0, 2.0)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Vocabulary:
        raw = dict(raw or {})
        unknown = set(raw) - {"functions", "unary", "operators", "constants"}
        if unknown:
            raise ValueError(f"mutator vocabulary: unknown keys {sorted(unknown)}")
        ops = tuple(str(o) for o in raw.get("operators", cls.operators))
        bad = [o for o in ops if o not in OPERATORS]
        if bad:
            raise ValueError(f"mutator vocabulary: unknown operators {bad}; known: {list(OPERATORS)}")
        return cls(
            functions=tuple(str(f) for f in raw.get("functions", cls.functions)),
            unary=tuple(str(f) for f in raw.get("unary", cls.unary)),
            operators=ops,
            constants=tuple(float(c) for c in raw.get("constants", cls.constants)),
        )

    def usable(self, known: frozenset[str]) -> Vocabulary:
        """Keep only functions whose root name (``np`` in ``np.maximum``) the program defines."""
        def ok(name: str) -> bool:
            return name.split(".")[0] in known
        return Vocabulary(tuple(filter(ok, self.functions)), tuple(filter(ok, self.unary)),
                          self.operators, self.constants)


def ordinary(name: str) -> bool:
    """False for names edits leave alone: ``_`` / ``_private`` ("don't care") and self / cls."""
    return not name.startswith("_") and name not in ("self", "cls")


@dataclass
class Site:
    """One expression an edit may replace: ``holder.field[index]``."""

    holder: ast.AST
    field: str
    index: int | None
    func: str  # enclosing function name, "<module>" at block level
    block: int  # which EVOLVE-BLOCK
    scope: frozenset[str]  # variables bound here
    kinds: dict[str, str]  # variable -> "container" | "int" | "num" (per function)
    int_ctx: bool  # an index or range() argument: keep it integral
    path: tuple  # position inside the function, to align sites across programs
    root_size: int  # expression nodes in the statement-level expression containing this site

    @property
    def node(self) -> ast.AST:
        value = getattr(self.holder, self.field)
        return value if self.index is None else value[self.index]

    def replace(self, new: ast.AST) -> None:
        if self.index is None:
            setattr(self.holder, self.field, new)
        else:
            getattr(self.holder, self.field)[self.index] = new

    def variables(self, kinds: tuple[str, ...]) -> list[str]:
        """Variables in scope of the given kinds, sorted (for reproducible choices). Underscore
        names ("don't care") and ``self`` / ``cls`` are never chosen."""
        return sorted(n for n in self.scope if self.kinds.get(n, "num") in kinds and ordinary(n))

    def kind_of(self, name: str) -> str:
        return self.kinds.get(name, "num")


@dataclass
class Sites:
    exprs: list[Site] = field(default_factory=list)  # incl. AugAssign operators (field "op")
    functions: dict[tuple[int, str], ast.FunctionDef] = field(default_factory=dict)  # (block, name)


def dotted(node: ast.AST) -> str | None:
    """``np.maximum`` for Attribute(Name('np'), 'maximum'); None for other callees."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def converts_to_int(callee: str | None) -> bool:
    return callee is not None and callee.rsplit(".", 1)[-1] in INT_RESULTS


def is_numeric_call(node: ast.AST, vocab: Vocabulary) -> bool:
    """A call that maps numbers to numbers: vocabulary functions, abs/max/min/..., numpy ufuncs."""
    if not isinstance(node, ast.Call):
        return False
    name = dotted(node.func) or ""
    if name in vocab.functions or name in vocab.unary or name in NUMERIC_BUILTINS:
        return True
    import numpy as np  # here, not at import: reading a problem's vocabulary must not load numpy

    attr = name.rsplit(".", 1)[-1]
    return "." in name and isinstance(getattr(np, attr, None), np.ufunc)


def infer_kinds(body: list[ast.stmt], params: set[str]) -> dict[str, str]:
    """Rough variable kinds from how a function uses them (flow-insensitive): ``container`` if
    subscripted, iterated, ``len``-ed or given list methods; ``int`` if used as an index or range()
    argument, or only ever assigned integers; else ``num``."""
    containers: set[str] = set()
    indices: set[str] = set()
    assigned: dict[str, list[ast.AST]] = {}
    for node in (n for stmt in body for n in ast.walk(stmt)):
        if isinstance(node, ast.Subscript):
            if isinstance(node.value, ast.Name):
                containers.add(node.value.id)
            parts = ([node.slice.lower, node.slice.upper, node.slice.step]
                     if isinstance(node.slice, ast.Slice) else [node.slice])
            indices.update(x.id for x in parts if isinstance(x, ast.Name))
        elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.iter, ast.Name):
            containers.add(node.iter.id)
        elif isinstance(node, ast.Call):
            name = dotted(node.func)
            if name == "range":
                indices.update(x.id for x in node.args if isinstance(x, ast.Name))
            if name == "len" and node.args and isinstance(node.args[0], ast.Name):
                containers.add(node.args[0].id)
            if (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                    and node.func.attr in CONTAINER_METHODS):
                containers.add(node.func.value.id)
        if isinstance(node, ast.Assign):
            for target in node.targets:
                pairs = (zip(target.elts, node.value.elts, strict=True) if isinstance(target, ast.Tuple)
                         and isinstance(node.value, ast.Tuple)
                         and len(node.value.elts) == len(target.elts) else [(target, node.value)])
                for sub, source in pairs:
                    for name in target_names(sub):
                        assigned.setdefault(name, []).append(source)
        elif isinstance(node, (ast.For, ast.comprehension)):
            is_range = isinstance(node.iter, ast.Call) and dotted(node.iter.func) == "range"
            for name in target_names(node.target):
                assigned.setdefault(name, []).append(ast.Constant(0) if is_range else node.iter)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
            if node.value is not None:
                assigned.setdefault(node.target.id, []).append(node.value)
    kinds = {name: "container" for name in containers}
    for name in (set(assigned) | params) - containers:
        integral = name in indices or (
            name not in params and all(is_int_expr(v, assigned) for v in assigned[name]))
        kinds[name] = "int" if integral else "num"
    return kinds


def is_int_expr(node: ast.AST, assigned: dict[str, list[ast.AST]], depth: int = 0) -> bool:
    if depth > 5:
        return False
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.Call):
        return dotted(node.func) in INT_CALLS
    if isinstance(node, ast.BinOp) and not isinstance(node.op, (ast.Div, ast.Pow)):
        return (is_int_expr(node.left, assigned, depth + 1)
                and is_int_expr(node.right, assigned, depth + 1))
    if isinstance(node, ast.UnaryOp):
        return is_int_expr(node.operand, assigned, depth + 1)
    if isinstance(node, ast.Name) and node.id in assigned:
        return all(is_int_expr(v, assigned, depth + 1) for v in assigned[node.id])
    return False


class _Collector:
    """Walks statements in order, keeping the set of variables bound so far."""

    def __init__(self, block: int, sites: Sites) -> None:
        self.block = block
        self.sites = sites
        self.func = "<module>"
        self.kinds: dict[str, str] = {}
        self.block_vars: frozenset[str] = frozenset()

    def module(self, tree: ast.Module) -> None:
        self.kinds = infer_kinds([s for s in tree.body if not isinstance(s, ast.FunctionDef)],
                                 set())
        block_vars = {n for s in tree.body if isinstance(s, (ast.Assign, ast.AnnAssign))
                      for t in getattr(s, "targets", None) or [s.target] for n in target_names(t)}
        self.block_vars = frozenset(block_vars)
        self.stmts(tree.body, frozenset(), ())

    def stmts(self, body: list[ast.stmt], scope: frozenset[str], path: tuple) -> frozenset[str]:
        for i, stmt in enumerate(body):
            scope = self.stmt(stmt, scope, path + (i,))
        return scope

    def stmt(self, s: ast.stmt, scope: frozenset[str], path: tuple) -> frozenset[str]:
        expr = self.expr
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if self.func == "<module>":
                self.function(s, s.name)
            return scope
        if isinstance(s, ast.ClassDef) and self.func == "<module>":
            for method in s.body:
                if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.function(method, f"{s.name}.{method.name}")
            return scope
        if isinstance(s, ast.Assign):
            self.assignment(s, scope, path)
            return scope | {n for t in s.targets for n in target_names(t)}
        if isinstance(s, ast.AnnAssign):
            expr(s, "value", None, scope, False, path)
            return scope | set(target_names(s.target))
        if isinstance(s, ast.AugAssign):
            int_target = (isinstance(s.target, ast.Name)
                          and self.kinds.get(s.target.id) == "int")
            self.add(s, "op", None, scope, int_target, path, expr_size(s.value))
            expr(s, "value", None, scope, int_target, path)
            return scope
        if isinstance(s, (ast.For, ast.AsyncFor)):
            expr(s, "iter", None, scope, False, path)
            self.stmts(s.body, scope | set(target_names(s.target)), path + ("body",))
            self.stmts(s.orelse, scope, path + ("orelse",))
            return scope
        if isinstance(s, (ast.While, ast.If)):
            expr(s, "test", None, scope, False, path)
            after_body = self.stmts(s.body, scope, path + ("body",))
            after_else = self.stmts(s.orelse, scope, path + ("orelse",))
            return after_body & after_else if isinstance(s, ast.If) else scope
        if isinstance(s, (ast.Return, ast.Expr)):
            expr(s, "value", None, scope, False, path)
            return scope
        if isinstance(s, ast.With):
            for item in s.items:
                expr(item, "context_expr", None, scope, False, path)
                if item.optional_vars is not None:
                    scope = scope | set(target_names(item.optional_vars))
            return self.stmts(s.body, scope, path + ("body",))
        if isinstance(s, ast.Try):
            self.stmts(s.body, scope, path + ("body",))
            for handler in s.handlers:
                self.stmts(handler.body, scope | ({handler.name} if handler.name else set()),
                           path + ("handler",))
            self.stmts(s.orelse, scope, path + ("orelse",))
            self.stmts(s.finalbody, scope, path + ("finally",))
        return scope

    def assignment(self, s: ast.Assign, scope: frozenset[str], path: tuple) -> None:
        """The assigned value; integral where every target is an integer variable."""
        target, value = s.targets[0], s.value
        if (len(s.targets) == 1 and isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
                and len(target.elts) == len(value.elts)):
            for i, elt in enumerate(target.elts):
                self.expr(value, "elts", i, scope, self.integral(elt), path + (("value", None),))
        else:
            self.expr(s, "value", None, scope, all(self.integral(t) for t in s.targets), path)

    def integral(self, target: ast.AST) -> bool:
        names = target_names(target)
        return bool(names) and all(self.kinds.get(n) == "int" for n in names)

    def function(self, f: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> None:
        a = f.args
        params = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
        params |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
        self.sites.functions[(self.block, name)] = f
        outer_func, outer_kinds = self.func, self.kinds
        self.func, self.kinds = name, {**{v: "num" for v in self.block_vars},
                                         **infer_kinds(f.body, params)}
        self.stmts(f.body, frozenset(params) | self.block_vars, ())
        self.func, self.kinds = outer_func, outer_kinds

    def add(self, holder: ast.AST, fld: str, index: int | None, scope: frozenset[str],
            int_ctx: bool, path: tuple, root_size: int) -> None:
        self.sites.exprs.append(Site(holder, fld, index, self.func, self.block, scope,
                                     self.kinds, int_ctx, path, root_size))

    def expr(self, holder: ast.AST, fld: str, index: int | None, scope: frozenset[str],
             int_ctx: bool, path: tuple, root_size: int | None = None) -> None:
        node = getattr(holder, fld) if index is None else getattr(holder, fld)[index]
        if node is None:
            return
        size = expr_size(node) if root_size is None else root_size
        path = path + ((fld, index),)
        here = (holder, fld, index, scope, int_ctx, path, size)

        def sub(*args: Any) -> None:
            self.expr(*args, root_size=size)

        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id in scope and ordinary(node.id):
                self.add(*here)
        elif isinstance(node, ast.Constant):
            if type(node.value) in (int, float):
                self.add(*here)
        elif isinstance(node, ast.BinOp):
            self.add(*here)
            sub(node, "left", None, scope, int_ctx, path)
            sub(node, "right", None, scope, int_ctx, path)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.Not):
                self.add(*here)
            sub(node, "operand", None, scope, int_ctx, path)
        elif isinstance(node, ast.Call):
            self.add(*here)
            callee = dotted(node.func)
            int_args = callee == "range" or (int_ctx and not converts_to_int(callee))
            for i in range(len(node.args)):
                if not isinstance(node.args[i], ast.Starred):
                    sub(node, "args", i, scope, int_args, path)
            for kw in node.keywords:
                sub(kw, "value", None, scope, False, path)
        elif isinstance(node, ast.Subscript):
            if isinstance(node.ctx, ast.Load):
                self.add(*here)
            if not isinstance(node.value, ast.Name):
                sub(node, "value", None, scope, False, path)
            if isinstance(node.slice, ast.Slice):
                for part in ("lower", "upper", "step"):
                    sub(node.slice, part, None, scope, True, path)
            else:
                sub(node, "slice", None, scope, True, path)
        elif isinstance(node, ast.Compare):
            self.add(*here)
            sub(node, "left", None, scope, int_ctx, path)
            for i in range(len(node.comparators)):
                sub(node, "comparators", i, scope, int_ctx, path)
        elif isinstance(node, ast.IfExp):
            self.add(*here)
            for part in ("test", "body", "orelse"):
                sub(node, part, None, scope, int_ctx if part != "test" else False, path)
        elif isinstance(node, ast.BoolOp):
            for i in range(len(node.values)):
                sub(node, "values", i, scope, False, path)
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            if not isinstance(getattr(node, "ctx", ast.Load()), ast.Store):
                for i in range(len(node.elts)):
                    sub(node, "elts", i, scope, int_ctx, path)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            inner = scope
            for gen in node.generators:
                sub(gen, "iter", None, inner, False, path)
                inner = inner | set(target_names(gen.target))
                for i in range(len(gen.ifs)):
                    sub(gen, "ifs", i, inner, False, path)
            sub(node, "elt", None, inner, int_ctx, path)


def same_tree(a: Any, b: Any) -> bool:
    """Structural equality of two ASTs (positions ignored); cheaper than comparing ast.dump."""
    if type(a) is not type(b):
        return False
    if isinstance(a, ast.AST):
        return all(same_tree(getattr(a, f, None), getattr(b, f, None)) for f in a._fields)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_tree, a, b))
    return a == b


def expr_size(node: ast.AST) -> int:
    return sum(isinstance(n, ast.expr) for n in ast.walk(node))


def collect_sites(blocks: list[ast.Module]) -> Sites:
    """Every editable expression in ``blocks`` (in a fixed order), with its scope."""
    sites = Sites()
    for i, tree in enumerate(blocks):
        _Collector(i, sites).module(tree)
    return sites
