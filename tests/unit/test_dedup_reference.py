"""``adrs.dedup`` normalizes a block in one pass; the reference below is the straightforward
version it replaced (NodeTransformer + ``ast.dump``). For every program of a corpus (this
repository's Python files and corner cases: lambdas in defaults, nested functions and classes,
global/nonlocal, comprehensions, decorators, annotations, docstring-only bodies) the one-pass text
must equal the reference's tree written out without renaming, so two programs are duplicates
exactly when the reference says so (keys are never stored: only this relation matters)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adrs.dedup import _Normalizer, dedent_block, program_key

REPO = Path(__file__).resolve().parents[2]


def reference_tree(source: str) -> ast.AST:
    tree = ast.parse(dedent_block(source))
    return _RefLocalNames().visit(_ref_drop_docstrings(tree))


def _ref_drop_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _ref_local_names(func) -> list[str]:
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
class _RefLocalNames(ast.NodeTransformer):
    scopes: list[dict[str, str]] = field(default_factory=list)

    def _function(self, node):
        mapping = {name: f"v{len(self.scopes)}_{i}" for i, name in enumerate(_ref_local_names(node))}
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

    def visit_FunctionDef(self, node):
        node.decorator_list = [self.visit(x) for x in node.decorator_list]
        renamed = self._lookup(node.name)
        self._function(node)
        node.name = renamed
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        return self._function(node)

    def visit_Name(self, node):
        node.id = self._lookup(node.id)
        return node

    def _lookup(self, name: str) -> str:
        for mapping in reversed(self.scopes):
            if name in mapping:
                return mapping[name]
        return name


def raw_text(tree: ast.AST) -> str:
    writer = _Normalizer()
    writer.write(tree, raw=True)
    return "".join(writer.out)


CORNERS = [
    "def f(a, k=lambda a: a + 1, *, m=lambda z=a: z):\n    return k(a) + m()\n",
    "def f(a: a, *r: int, **kw: 'x') -> a:\n    '''doc'''\n    b: a = a\n    return b\n",
    "def f():\n    '''only a docstring'''\n",
    "class C:\n    '''doc'''\n    x = 1\n    def m(self, y=x):\n        '''doc'''\n"
    "        return self.x + y\n",
    "def f(x):\n    class K(x):\n        z = x\n    def g(y=x):\n        nonlocal x\n        x = y\n"
    "        return K\n    return g\n",
    "g = 0\ndef f(x):\n    global g\n    g = x\n    del x\n    return [g for g in range(3) if (w := g)]\n",
    "@deco(lambda q: q)\nasync def f(a):\n    async with a as (b, c):\n        async for d in b:\n"
    "            await c(d)\n    @other\n    def inner(e=a):\n        return e\n    return inner\n",
    "def f(x):\n    try:\n        y = x\n    except Exception as e:\n        y = e\n    "
    "import os as osx\n    from math import pi\n    return lambda: (y, osx, pi)\n",
    "x = 'a'\n'''module doc'''\nprint(f'{x!r:>{3}}', b'\\n', 1j, ..., -0.0, u'u', True)\n",
    "def f(a):\n    @deco(w := 1)\n    def g():\n        pass\n    b = 2\n    return w, b, g\n",
    "def f(t):\n    def g(x: t, *, y: t = t) -> t:\n        return x\n    return g\n",
    "def f():\n    del q\n    return q\n",
    "def f(*, a, b=1, **k):\n    def f(a):\n        return a\n    return f(a) + b + len(k)\n",
    "match = 1\ndef f(p):\n    match p:\n        case [q, *rest] if q:\n            return rest\n"
    "        case {'k': v, **others}:\n            return v\n        case K(a=z) as w:\n"
    "            return z, w\n    return None\n",
]


def corpus() -> list[str]:
    files = sorted(p for folder in ("adrs", "tests", "problems", "evaluators", "benchmarks")
                   for p in (REPO / folder).rglob("*.py"))
    return CORNERS + [p.read_text(encoding="utf-8") for p in files]


def test_one_pass_text_is_the_reference_tree_written_out() -> None:
    sources = corpus()
    assert len(sources) > 100
    for source in sources:
        try:
            expected = raw_text(reference_tree(source))
        except SyntaxError:
            continue
        assert _Normalizer().text(ast.parse(dedent_block(source))) == expected, source[:200]


@pytest.mark.parametrize("source", CORNERS)
def test_program_key_matches_the_reference_relation_on_variants(source: str) -> None:
    """Renaming a variable everywhere (text replace): duplicates exactly when the reference's
    ``ast.dump`` texts are equal."""
    code = f"# EVOLVE-BLOCK-START\n{source}# EVOLVE-BLOCK-END\n"
    base = ast.dump(reference_tree(source))
    for old, new in [("a", "zz"), ("x", "yy"), ("g", "h"), ("k", "kk"), ("doc", "other"),
                     ("1", "2")]:
        variant = source.replace(old, new)
        try:
            same = ast.dump(reference_tree(variant)) == base
        except SyntaxError:
            continue
        changed = f"# EVOLVE-BLOCK-START\n{variant}# EVOLVE-BLOCK-END\n"
        assert (program_key(changed) == program_key(code)) == same, (old, new, variant)


def test_a_block_too_deep_to_normalize_is_compared_as_text() -> None:
    """Deep nesting (a 3000-term sum) exhausts the recursion limit: the block's stripped text is
    its key (it crashed the loop before) and formatting still does not matter."""
    deep = "def f(a):\n    return " + "+".join(["a"] * 3000) + "\n"
    code = f"# EVOLVE-BLOCK-START\n{deep}# EVOLVE-BLOCK-END\n"
    assert program_key(code) == program_key(code.replace("    return", "      return"))
    assert program_key(code) != program_key(code.replace("a+a", "a-a", 1))
