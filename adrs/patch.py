"""Turn a proposal's text into a new program.

Reads SEARCH/REPLACE blocks (kind "diff") or a full program in a code fence (kind "rewrite") from an
LLM reply, applies them to the parent, allows edits only between ``# EVOLVE-BLOCK-START`` and
``# EVOLVE-BLOCK-END`` (a parent without markers is editable everywhere), checks that the result
compiles, and explains every failure in words an LLM can act on (the closest matching lines, the
offending line numbers). It does not run, import or judge the program.

Rules, in order:
- Replies are read with ``\\n`` line endings; code fences and prose around the blocks are ignored.
- diff: blocks apply in order, each to the program left by the previous ones. A SEARCH text must
  match exactly one place inside an EVOLVE-BLOCK: first exactly, then ignoring trailing whitespace,
  then ignoring a uniform indentation shift (the REPLACE text is re-indented by the same shift). A
  tolerant match is used only when it is unique. SEARCH or REPLACE text containing a marker line is
  rejected. A reply without blocks whose code fence holds a complete program (with markers) is read
  as a rewrite.
- rewrite: the code is the largest ``python`` (or untagged) fence, fences with markers first; a
  reply without fences is taken whole when it compiles. A complete program (with markers) must
  keep every line outside the blocks (blank lines and trailing whitespace aside); only the block
  contents are taken from it. A reply without markers is the new body of the parent's only block.
  A reply made of SEARCH/REPLACE blocks is read as a diff.
- The result always ends with a newline. One that changes nothing or does not compile is an
  error. All or nothing: on error no block is applied. A reply cut off at the token limit
  (finish_reason=length) is rejected whole.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass

START_MARK = "EVOLVE-BLOCK-START"
END_MARK = "EVOLVE-BLOCK-END"
_MARKERS_TEXT = "`# EVOLVE-BLOCK-START` and `# EVOLVE-BLOCK-END`"

_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")
_FENCE_OPEN = re.compile(r"^\s*```\s*([\w+.-]*)\s*$")
_FENCE_CLOSE = re.compile(r"^\s*```\s*$")
_PYTHON_TAGS = {"", "python", "py", "python3"}
_QUOTE_LINES = 30  # longest SEARCH text quoted back in an error


class PatchError(ValueError):
    """The proposal could not be applied; ``str(err)`` is LLM-readable feedback."""


@dataclass(frozen=True)
class Patched:
    code: str
    diff: str  # unified diff parent -> code


@dataclass(frozen=True)
class _Edit:
    search: list[str]
    replace: list[str]


def apply_proposal(parent_code: str, text: str, kind: str, *, truncated: bool = False) -> Patched:
    """Apply ``text`` (kind "diff" or "rewrite") to ``parent_code``; raise PatchError if impossible.

    ``truncated``: the model stopped at its token limit (finish_reason=length); such a reply is
    rejected whole, since its last change may be cut in the middle.
    """
    if kind not in ("diff", "rewrite"):
        raise ValueError(f"unknown proposal kind {kind!r}; expected 'diff' or 'rewrite'")
    parent = _lines(parent_code)
    reply = _normalize_newlines(text)
    if truncated:
        raise PatchError("The reply was cut off: it reached the token limit before it ended "
                         "(finish_reason=length), so its last change may be incomplete. No change "
                         "was applied. Reply more briefly: a shorter explanation and fewer, smaller "
                         "SEARCH/REPLACE blocks.")
    if not reply.strip():
        raise PatchError("The reply is empty: it contains no code and no SEARCH/REPLACE blocks.")
    has_blocks = any(_SEARCH.match(line) for line in reply.split("\n"))
    hint = ""
    if kind == "diff" and not has_blocks and _fenced_program_with_markers(reply):
        kind = "rewrite"
    elif kind == "rewrite" and has_blocks:
        kind = "diff"
    if kind == "diff":
        child = _apply_diff(parent, reply)
    else:
        child, hint = _apply_rewrite(parent, reply)
    if _same_code(parent, child):
        raise PatchError("The proposal changes nothing: the new program is identical to the current "
                         "one (ignoring trailing whitespace). Make a real change to the code.")
    code = _join(child)
    try:
        _check_compiles(code)
    except PatchError as err:
        raise PatchError(hint + str(err)) from None
    return Patched(code=code, diff=unified_diff(_join(parent), code))


def check_entry(code: str, entry: str) -> None:
    """Raise PatchError when ``code`` parses but no longer defines the problem's entry function
    at module level (a full rewrite that dropped it): rejected before any evaluation."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return  # the evaluation reports syntax errors with their line
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) \
                and node.name == entry:
            return
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == entry for t in targets):
                return
        if isinstance(node, ast.Import | ast.ImportFrom):
            if any((alias.asname or alias.name) == entry for alias in node.names):
                return
    raise PatchError(f"the new program no longer defines the entry function `{entry}` at module "
                     f"level, so the evaluator could not call it; keep `def {entry}(...)` with "
                     f"its signature and change its body or the code it calls")


def unified_diff(parent_code: str, child_code: str) -> str:
    """Unified diff from ``parent_code`` to ``child_code`` (empty when they are equal)."""
    lines = difflib.unified_diff(parent_code.splitlines(), child_code.splitlines(),
                                 "parent.py", "child.py", lineterm="")
    text = "\n".join(lines)
    return text + "\n" if text else ""


# ---------------------------------------------------------------------------------- text and lines

def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _lines(text: str) -> list[str]:
    text = _normalize_newlines(text)
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n") if text else []


def _join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _is_marker(line: str) -> bool:
    return line.lstrip().startswith("#") and (START_MARK in line or END_MARK in line)


def _blocks(lines: list[str], whose: str = "the current program") -> list[tuple[int, int]]:
    """Editable ranges ``(start, end)``: lines ``start..end-1`` lie between a START and END marker."""
    blocks: list[tuple[int, int]] = []
    opened: int | None = None
    for i, line in enumerate(lines):
        if not _is_marker(line):
            continue
        if START_MARK in line:
            if opened is not None:
                raise PatchError(f"{whose.capitalize()} opens a second EVOLVE-BLOCK at line {i + 1} "
                                 f"before closing the one at line {opened}.")
            opened = i + 1
        else:
            if opened is None:
                raise PatchError(f"{whose.capitalize()} has `# EVOLVE-BLOCK-END` at line {i + 1} "
                                 f"without a matching `# EVOLVE-BLOCK-START`.")
            blocks.append((opened, i))
            opened = None
    if opened is not None:
        raise PatchError(f"{whose.capitalize()} opens an EVOLVE-BLOCK at line {opened} but never "
                         f"closes it with `# EVOLVE-BLOCK-END`.")
    return blocks


def _editable(lines: list[str]) -> list[tuple[int, int]]:
    """Editable ranges of the parent; all of it when it has no markers."""
    return _blocks(lines) or [(0, len(lines))]


def _span(first: int, last: int) -> str:
    """'line 3' or 'lines 3-7' (1-based, inclusive)."""
    return f"line {first}" if first == last else f"lines {first}-{last}"


def _ranges_text(blocks: list[tuple[int, int]]) -> str:
    return ", ".join(_span(s + 1, e) if e > s else f"none yet (empty block after line {s})"
                     for s, e in blocks)


def _numbered(lines: list[str], first: int, mark: int | None = None) -> str:
    """``lines`` with 1-based numbers starting at ``first`` (line ``mark`` flagged with >)."""
    width = len(str(first + len(lines)))
    out = []
    for k, line in enumerate(lines):
        number = first + k
        flag = ">" if number == mark else " "
        out.append(f"{flag}{number:>{width}} | {line}")
    return "\n".join(out)


def _quote(lines: list[str]) -> str:
    shown = lines[:_QUOTE_LINES]
    more = len(lines) - len(shown)
    tail = [f"... ({more} more lines)"] if more > 0 else []
    return "\n".join("  | " + line for line in shown + tail)


def _same_code(a: list[str], b: list[str]) -> bool:
    def key(lines: list[str]) -> list[str]:
        out = [line.rstrip() for line in lines]
        while out and not out[-1]:
            out.pop()
        return out
    return key(a) == key(b)


# ------------------------------------------------------------------------------------------- diff

def _parse_edits(reply: str) -> list[_Edit]:
    """SEARCH/REPLACE blocks of ``reply``, in order."""
    edits: list[_Edit] = []
    state = "prose"
    search: list[str] = []
    replace: list[str] = []
    for line in reply.split("\n"):
        number = len(edits) + 1
        if _SEARCH.match(line):
            if state != "prose":
                raise PatchError(f"SEARCH/REPLACE block {number} is malformed: a new "
                                 "`<<<<<<< SEARCH` starts before the block ends with "
                                 "`>>>>>>> REPLACE`. No block was applied.")
            state, search, replace = "search", [], []
        elif _DIVIDER.match(line) and state != "prose":
            if state == "replace":
                raise PatchError(f"SEARCH/REPLACE block {number} is malformed: it has two "
                                 "`=======` dividers. No block was applied.")
            state = "replace"
        elif _REPLACE.match(line):
            if state != "replace":
                where = "has no `=======` divider" if state == "search" else \
                    "ends with `>>>>>>> REPLACE` but never started with `<<<<<<< SEARCH`"
                raise PatchError(f"SEARCH/REPLACE block {number} is malformed: it {where}. "
                                 "No block was applied.")
            edits.append(_Edit(_strip_fences(search), _strip_fences(replace)))
            state = "prose"
        elif state == "search":
            search.append(line)
        elif state == "replace":
            replace.append(line)
    if state != "prose":
        raise PatchError(f"The reply looks truncated: SEARCH/REPLACE block {len(edits) + 1} starts "
                         "with `<<<<<<< SEARCH` but never ends with `>>>>>>> REPLACE`. No block was "
                         "applied. Reply with fewer or shorter blocks so that every block is "
                         "complete.")
    return edits


def _strip_fences(lines: list[str]) -> list[str]:
    """Drop a code fence wrapped around one section (```python ... ```) by the model."""
    if lines and _FENCE_OPEN.match(lines[0]):
        lines = lines[1:]
    if lines and _FENCE_CLOSE.match(lines[-1]):
        lines = lines[:-1]
    return lines


def _apply_diff(parent: list[str], reply: str) -> list[str]:
    edits = _parse_edits(reply)
    if not edits:
        raise PatchError("The reply contains no SEARCH/REPLACE blocks. Each change must be written "
                         "as\n<<<<<<< SEARCH\n(lines copied exactly from the current program)\n"
                         "=======\n(the new lines)\n>>>>>>> REPLACE")
    _editable(parent)  # the parent's markers must be well formed
    lines = parent
    for number, edit in enumerate(edits, start=1):
        lines = _apply_edit(lines, edit, number, len(edits))
    return lines


def _apply_edit(lines: list[str], edit: _Edit, number: int, total: int) -> list[str]:
    name = f"SEARCH/REPLACE block {number}" + (f" of {total}" if total > 1 else "")
    after = " (line numbers count after the previous blocks)" if number > 1 else ""
    if not any(line.strip() for line in edit.search):
        raise PatchError(f"{name} has an empty SEARCH section. Copy the existing lines you want "
                         "to change into SEARCH. No block was applied.")
    for section, text in (("SEARCH", edit.search), ("REPLACE", edit.replace)):
        marker = next((line for line in text if _is_marker(line)), None)
        if marker is not None:
            raise PatchError(f"{name} has the marker line `{marker.strip()}` in its {section} "
                             f"section. The markers must stay as they are: search and replace "
                             f"only lines between {_MARKERS_TEXT}. No block was applied.")
    blocks = _editable(lines)
    for strategy in ("exact", "rstrip", "indent"):
        search = edit.search if strategy == "exact" else _trim_blank(edit.search)
        replace = edit.replace if strategy == "exact" else _trim_blank(edit.replace)
        found = _find(lines, search, strategy)
        if not found:
            continue
        n = len(search)
        inside = [i for i in found if any(s <= i and i + n <= e for s, e in blocks)]
        if len(inside) > 1:
            starts = ", ".join(str(i + 1) for i in inside[:10])
            raise PatchError(f"{name} is ambiguous: its SEARCH text matches {len(inside)} places "
                             f"(starting at lines {starts}){after}. Include more surrounding "
                             "lines so that it matches exactly one place. No block was applied.")
        if not inside:
            i = found[0]
            raise PatchError(f"{name} tries to change {_span(i + 1, i + n)}{after}, outside the "
                             f"EVOLVE-BLOCK. Only lines between {_MARKERS_TEXT} "
                             f"({_ranges_text(blocks)}) may change. No block was applied.")
        i = inside[0]
        if strategy == "indent":
            replace = _reindent(replace, _indent(search), _indent(lines[i:i + n]))
        return lines[:i] + replace + lines[i + n:]
    raise PatchError(_not_found(lines, edit.search, name, after))


def _trim_blank(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _find(lines: list[str], search: list[str], strategy: str) -> list[int]:
    n = len(search)
    if n == 0:
        return []
    if strategy == "exact":
        return [i for i in range(len(lines) - n + 1) if lines[i:i + n] == search]
    if strategy == "rstrip":
        want = [line.rstrip() for line in search]
        stripped = [line.rstrip() for line in lines]
        return [i for i in range(len(lines) - n + 1) if stripped[i:i + n] == want]
    want = _dedented(search)
    return [i for i in range(len(lines) - n + 1) if _dedented(lines[i:i + n]) == want]


def _indent(lines: list[str]) -> str:
    """Common leading whitespace of the non-blank lines."""
    prefixes = [line[:len(line) - len(line.lstrip())] for line in lines if line.strip()]
    return os.path.commonprefix(prefixes) if prefixes else ""


def _dedented(lines: list[str]) -> list[str]:
    cut = len(_indent(lines))
    return [line[cut:].rstrip() if line.strip() else "" for line in lines]


def _reindent(lines: list[str], old: str, new: str) -> list[str]:
    out = []
    for line in lines:
        if not line.strip():
            out.append("")
        elif line.startswith(old):
            out.append(new + line[len(old):])
        else:  # less indented than the SEARCH text: keep its own indentation relative to nothing
            out.append(new + line.lstrip())
    return out


def _not_found(lines: list[str], search: list[str], name: str, after: str) -> str:
    text = (f"{name} did not apply: its SEARCH text is not in the current program, not even "
            f"ignoring indentation and trailing whitespace. SEARCH text:\n{_quote(search)}\n")
    start, end, ratio = _closest(lines, _trim_blank(search))
    if ratio > 0.3:
        text += (f"The closest lines in the current program{after} are {_span(start + 1, end)} "
                 f"({ratio:.0%} similar):\n{_numbered(lines[start:end], start + 1)}\n")
    return text + ("SEARCH must copy existing lines exactly, including indentation and comments. "
                   "No block was applied.")


def _closest(lines: list[str], search: list[str]) -> tuple[int, int, float]:
    """Window of ``len(search)`` lines most similar to ``search`` (difflib ratio)."""
    n = max(1, min(len(search), len(lines)))
    target = "\n".join(line.strip() for line in search)
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(target)
    scored = []
    for i in range(max(1, len(lines) - n + 1)):
        matcher.set_seq1("\n".join(line.strip() for line in lines[i:i + n]))
        scored.append((matcher.quick_ratio(), i))
    best = (0, 0, 0.0)
    for _, i in sorted(scored, reverse=True)[:20]:
        matcher.set_seq1("\n".join(line.strip() for line in lines[i:i + n]))
        ratio = matcher.ratio()
        if ratio > best[2]:
            best = (i, min(i + n, len(lines)), ratio)
    return best


# ---------------------------------------------------------------------------------------- rewrite

def _fences(reply: str) -> list[tuple[str, list[str], bool]]:
    """Fenced code blocks of ``reply`` as (language tag, lines, closed)."""
    found: list[tuple[str, list[str], bool]] = []
    tag: str | None = None
    body: list[str] = []
    for line in reply.split("\n"):
        if tag is None:
            match = _FENCE_OPEN.match(line)
            if match:
                tag, body = match.group(1).lower(), []
        elif _FENCE_CLOSE.match(line):
            found.append((tag, body, True))
            tag = None
        else:
            body.append(line)
    if tag is not None:
        found.append((tag, body, False))
    return found


def _fenced_program_with_markers(reply: str) -> bool:
    return any(tag in _PYTHON_TAGS and any(_is_marker(line) for line in body)
               for tag, body, _ in _fences(reply))


def _extract_code(reply: str) -> tuple[list[str], bool]:
    """The program in ``reply`` and whether its fence was left open (a sign of truncation)."""
    fences = [(body, closed) for tag, body, closed in _fences(reply) if tag in _PYTHON_TAGS]
    fences = [(body, closed) for body, closed in fences if any(line.strip() for line in body)]
    if fences:
        def rank(fence: tuple[list[str], bool]) -> tuple[bool, int]:
            body = fence[0]
            return any(_is_marker(line) for line in body), sum(len(line) + 1 for line in body)
        best = max(rank(fence) for fence in fences)
        body, closed = [fence for fence in fences if rank(fence) == best][-1]
        return body, not closed
    lines = _lines(reply)
    if _looks_like_code(reply):
        return lines, False
    raise PatchError("The reply contains no code: expected the complete program in one "
                     "```python code fence.")


def _looks_like_code(text: str) -> bool:
    try:
        compile(text, "reply", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return bool(re.search(r"^\s*(def|class|import|from|return)\b|^\s*# EVOLVE-BLOCK", text, re.M))


def _apply_rewrite(parent: list[str], reply: str) -> tuple[list[str], str]:
    code, truncated = _extract_code(reply)
    hint = ("The reply looks truncated: its code fence was opened but never closed. "
            if truncated else "")
    try:
        return _splice(parent, code), hint
    except PatchError as err:
        raise PatchError(hint + str(err)) from None


def _splice(parent: list[str], code: list[str]) -> list[str]:
    parent_blocks = _blocks(parent)
    if not parent_blocks:
        return code
    code_blocks = _blocks(code, "your program")
    if code_blocks:
        if len(code_blocks) != len(parent_blocks):
            raise PatchError(f"Your program has {len(code_blocks)} EVOLVE-BLOCK(s) but the current "
                             f"program has {len(parent_blocks)}. Keep every {_MARKERS_TEXT} pair "
                             "exactly where it is and change only the code between them.")
        _check_outside_unchanged(parent, parent_blocks, code, code_blocks)
        child = parent[:parent_blocks[0][0]]
        for k, ((_, pe), (cs, ce)) in enumerate(zip(parent_blocks, code_blocks, strict=True)):
            child += code[cs:ce]
            following = parent_blocks[k + 1][0] if k + 1 < len(parent_blocks) else len(parent)
            child += parent[pe:following]
        return child
    if len(parent_blocks) > 1:
        raise PatchError(f"The current program has {len(parent_blocks)} EVOLVE-BLOCKs, but your "
                         f"reply has no markers. Reply with the complete program, keeping every "
                         f"{_MARKERS_TEXT} pair in place.")
    if _looks_like_whole_program(parent, parent_blocks, code):
        raise PatchError(f"Your program has no {_MARKERS_TEXT} lines. Reply with the complete "
                         "program and keep both marker lines exactly where they are.")
    start, end = parent_blocks[0]
    body = _reindent(_trim_blank(code), _indent(code), _indent(parent[start:end]))
    return parent[:start] + body + parent[end:]


def _outside(lines: list[str], blocks: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines outside the blocks, markers included."""
    inside = {i for s, e in blocks for i in range(s, e)}
    return [(i + 1, line.rstrip()) for i, line in enumerate(lines)
            if i not in inside and line.strip()]


def _check_outside_unchanged(parent: list[str], parent_blocks: list[tuple[int, int]],
                             code: list[str], code_blocks: list[tuple[int, int]]) -> None:
    old = _outside(parent, parent_blocks)
    new = _outside(code, code_blocks)
    if [t for _, t in old] == [t for _, t in new]:
        return
    matcher = difflib.SequenceMatcher(a=[t for _, t in old], b=[t for _, t in new], autojunk=False)
    tag, i1, i2, j1, j2 = next(op for op in matcher.get_opcodes() if op[0] != "equal")
    if tag == "insert":
        what = f"adds `{new[j1][1].strip()}` (your line {new[j1][0]})"
    elif tag == "delete":
        what = f"removes `{old[i1][1].strip()}` (line {old[i1][0]} of the current program)"
    else:
        what = (f"changes line {old[i1][0]} of the current program from `{old[i1][1].strip()}` "
                f"to `{new[j1][1].strip()}`")
    raise PatchError(f"Your program changes code outside the EVOLVE-BLOCK: it {what}. Only code "
                     f"between {_MARKERS_TEXT} may change; copy everything else exactly.")


def _looks_like_whole_program(parent: list[str], blocks: list[tuple[int, int]],
                              code: list[str]) -> bool:
    """True when ``code`` repeats most of the parent's code outside the block (markers dropped)."""
    outside = {t.strip() for _, t in _outside(parent, blocks) if not _is_marker(t)}
    if len(outside) < 2:
        return False
    present = outside & {line.strip() for line in code}
    return len(present) * 2 > len(outside)


# ---------------------------------------------------------------------------------------- compile

def _check_compiles(code: str) -> None:
    try:
        compile(code, "candidate.py", "exec", dont_inherit=True)
    except SyntaxError as err:
        lines = code.split("\n")
        line = err.lineno or 0
        context = ""
        if 1 <= line <= len(lines):
            first = max(1, line - 2)
            context = "\n" + _numbered(lines[first - 1:line + 2], first, mark=line)
        raise PatchError(f"The new program does not compile: {type(err).__name__} at line "
                         f"{line}: {err.msg}{context}") from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise PatchError(f"The new program does not compile: {err}") from None
