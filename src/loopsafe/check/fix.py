"""Safe autofixes (`loopsafe check --fix/--diff`): position-based edits of the source text.

Rules only name the kind of fix a finding allows; this module re-parses the file, finds the call at
the finding's position, checks that the edit is safe where the call stands, and edits the UTF-8
bytes (AST columns are byte offsets), so formatting and comments are kept. The result must parse,
and a file that changed on disk since the check read it is left alone. Files are written atomically.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from loopsafe.check.finding import Finding

TASKS_SET = "_background_tasks"
# Where `await <call>` means the same as `<call>` awaited: not the receiver of `.attr`, `[i]`, `()`.
_SAFE_PARENTS = (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.keyword)


@dataclass
class FixOutcome:
    """What ``apply`` did: fixes per file, the diff, and files it left alone (with why)."""

    fixed: int = 0
    diff: str = ""
    skipped: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Edit:
    start: int
    end: int
    text: bytes


def apply(findings: list[Finding], digests: dict[str, str], *, write: bool) -> FixOutcome:
    """Fix the findings that carry a fix; write the files (``write``) or only build the diff."""
    outcome = FixOutcome()
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        if f.fix is not None:
            by_path.setdefault(f.path, []).append(f)
    for path, fixable in sorted(by_path.items()):
        data = Path(path).read_bytes()
        if hashlib.sha256(data).hexdigest() != digests.get(path):
            outcome.skipped.append(f"{path}: changed on disk since it was checked; not fixed")
            continue
        result = _fix_file(data, fixable)
        if result is None:
            outcome.skipped.append(f"{path}: the fixed file would not parse; not fixed")
            continue
        new, count = result
        if count == 0:
            continue
        outcome.fixed += count
        old_text = data.decode("utf-8").splitlines(keepends=True)
        new_text = new.decode("utf-8").splitlines(keepends=True)
        outcome.diff += "".join(difflib.unified_diff(old_text, new_text, f"a/{path}", f"b/{path}"))
        if write:
            _write_atomically(Path(path), new)
            outcome.written.append(path)
    return outcome


def _fix_file(data: bytes, findings: list[Finding]) -> tuple[bytes, int] | None:
    text = data.decode("utf-8")
    tree = ast.parse(data)
    starts = _line_starts(data)
    calls: dict[tuple[int, int, int, int], tuple[ast.Call, ast.AST]] = {}
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, ast.Call):
                key = (
                    child.lineno,
                    child.col_offset,
                    child.end_lineno or 0,
                    child.end_col_offset or 0,
                )
                calls[key] = (child, parent)
    edits: list[_Edit] = []
    need_asyncio = False
    need_tasks = False
    for f in findings:
        found = calls.get((f.line, f.column - 1, f.end_line, f.end_column - 1))
        if found is None:
            continue
        node, parent = found
        edit = _edit_for(f.fix or "", node, parent, data, starts)
        if edit is None:
            continue
        edits.append(edit)
        need_asyncio |= f.fix in ("await-asyncio-sleep", "keep-task-reference")
        need_tasks |= f.fix == "keep-task-reference"
    if not edits:
        return data, 0
    edits.sort(key=lambda e: e.start, reverse=True)
    out = bytearray(data)
    last = len(out) + 1
    for e in edits:
        if e.end > last:  # overlapping edits: keep the later one only
            continue
        out[e.start : e.end] = e.text
        last = e.start
    new = bytes(out)
    new = _add_module_lines(new, need_asyncio, need_tasks, text)
    try:
        ast.parse(new)
    except SyntaxError:
        return None
    return new, len(edits)


def _edit_for(
    kind: str, node: ast.Call, parent: ast.AST, data: bytes, starts: list[int]
) -> _Edit | None:
    start = starts[node.lineno - 1] + node.col_offset
    end = starts[(node.end_lineno or node.lineno) - 1] + (node.end_col_offset or 0)
    func_end = starts[(node.func.end_lineno or node.lineno) - 1] + (node.func.end_col_offset or 0)
    args = data[func_end:end]  # "(...)" with the original spacing and comments
    if kind == "await-asyncio-sleep" and isinstance(parent, ast.Expr):
        return _Edit(start, end, b"await asyncio.sleep" + args)
    if kind == "await-upload-method" and _safe_for_await(node, parent):
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute):
            owner = func.value.value
            o_start = starts[owner.lineno - 1] + owner.col_offset
            o_end = starts[(owner.end_lineno or owner.lineno) - 1] + (owner.end_col_offset or 0)
            return _Edit(
                start, end, b"await " + data[o_start:o_end] + b"." + func.attr.encode() + args
            )
    if kind == "keep-task-reference" and isinstance(parent, ast.Expr):
        indent = data[starts[node.lineno - 1] : start]
        if indent.strip():
            return None  # the statement shares its line with others: leave it to a person
        call = data[start:end]
        lines = [
            b"_task = " + call,
            indent + TASKS_SET.encode() + b".add(_task)",
            indent + b"_task.add_done_callback(" + TASKS_SET.encode() + b".discard)",
        ]
        return _Edit(start, end, b"\n".join(lines))
    return None


def _safe_for_await(node: ast.Call, parent: ast.AST) -> bool:
    if isinstance(parent, _SAFE_PARENTS):
        return True
    return isinstance(parent, ast.Call) and node in parent.args


def _add_module_lines(data: bytes, need_asyncio: bool, need_tasks: bool, original: str) -> bytes:
    tree = ast.parse(data)
    has_asyncio = any(
        isinstance(s, ast.Import) and any(a.name == "asyncio" and a.asname is None for a in s.names)
        for s in tree.body
    )
    has_tasks = any(
        isinstance(s, (ast.Assign, ast.AnnAssign))
        and any(isinstance(t, ast.Name) and t.id == TASKS_SET for t in _targets(s))
        for s in tree.body
    )
    lines = data.splitlines(keepends=True)
    newline = b"\r\n" if "\r\n" in original else b"\n"
    if need_tasks and not has_tasks:
        imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        at = (imports[-1].end_lineno or 0) if imports else _first_code_line(tree) - 1
        comment = b"  # keeps fire-and-forget tasks alive until they finish"
        lines.insert(
            at, newline + TASKS_SET.encode() + b": set[object] = set()" + comment + newline
        )
    if need_asyncio and not has_asyncio:
        lines.insert(_first_code_line(tree) - 1, b"import asyncio" + newline)
    return b"".join(lines)


def _targets(stmt: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return list(stmt.targets) if isinstance(stmt, ast.Assign) else [stmt.target]


def _first_code_line(tree: ast.Module) -> int:
    """The line before which an import goes: after the docstring and `from __future__` imports."""
    for stmt in tree.body:
        is_docstring = (
            stmt is tree.body[0]
            and isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        )
        is_future = isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"
        if not (is_docstring or is_future):
            return stmt.lineno
    return (tree.body[-1].end_lineno or 0) + 1 if tree.body else 1


def _line_starts(data: bytes) -> list[int]:
    starts = [0]
    for i, byte in enumerate(data):
        if byte == 0x0A:
            starts.append(i + 1)
    return starts


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
