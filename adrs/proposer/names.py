"""Name analysis for the offline mutator: what an assignment binds, what a module defines, what an
expression reads, and which names a block reads without any scope binding them.

The checks are flow-insensitive (a name assigned later in a function counts as bound): they are a
safety net behind edits that are built to use only names in scope, not a full scope checker.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator

BUILTIN_NAMES = frozenset(dir(builtins))


def target_names(target: ast.AST) -> list[str]:
    """Names an assignment target binds, in order (not those inside ``a[i] = ...``)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in target_names(elt)]
    if isinstance(target, ast.Starred):
        return target_names(target.value)
    return []


def module_names(tree: ast.Module) -> frozenset[str]:
    """Names bound at module level (imports, defs, classes, assignments) plus builtins."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in getattr(stmt, "targets", None) or [stmt.target]:
                names.update(target_names(target))
        elif isinstance(stmt, (ast.For, ast.With, ast.If, ast.Try)):
            names |= {n.id for n in ast.walk(stmt)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return frozenset(names) | BUILTIN_NAMES


def free_names(node: ast.AST) -> set[str]:
    """Names an expression reads from its surroundings (comprehension targets excluded)."""
    bound = {n for c in ast.walk(node) if isinstance(c, ast.comprehension)
             for n in target_names(c.target)}
    return {n.id for n in ast.walk(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound


def undefined_names(tree: ast.Module, known: frozenset[str]) -> set[str]:
    """Names read in a scope where neither it nor an enclosing scope binds them."""
    missing: set[str] = set()
    check_scope(tree.body, None, known, missing)
    return missing


def shallow_walk(nodes: list[ast.AST]) -> Iterator[ast.AST]:
    """ast.walk over ``nodes`` that does not enter nested functions, lambdas or classes."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def check_scope(body: list[ast.AST], args: ast.arguments | None, outer: frozenset[str],
                missing: set[str]) -> None:
    names: set[str] = set()
    if args is not None:
        names |= {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    nodes = list(shallow_walk(body))
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    scope = outer | names
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in scope:
            missing.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            check_scope(node.body, node.args, scope, missing)
        elif isinstance(node, ast.Lambda):
            check_scope([node.body], node.args, scope, missing)
        elif isinstance(node, ast.ClassDef):
            check_scope(node.body, None, scope, missing)
