"""Per-file index: one pass over a module's AST that keeps what the project-wide analysis needs.

The index is the unit the cache stores, so it holds only plain data (dicts, lists, tuples, str, int,
bool, None) that ``marshal`` can write. Names are not resolved here: an expression that may name a
function, a type or a value is kept as a small symbolic tuple and resolved later against the whole
project (see ``resolve.py``):

    ("n", name)          a name, looked up in the scope where it appears
    ("a", expr, attr)    an attribute
    ("c", expr)          the result of calling expr
    ("i", expr)          an instance of the type expr (from an annotation)
    ("q", "pkg.mod.x")   an absolute qualified name (from an import)
    ("self",) ("cls",) ("super",)
    ("div", expr)        ``expr / something`` (pathlib joins)
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from typing import Any

Expr = tuple[Any, ...]
MODULE_FUNCTION = "<module>"

# Call flags: how the call runs, and the context around it (inherited by everything inside).
AWAITED = 1
WITH_ENTER = 2
DROPPED = 4  # the call is a statement of its own: its result is thrown away
IN_LOOP = 8  # inside a loop or comprehension over data of unknown size
IN_TIMEOUT = 16  # inside `async with asyncio.timeout(...)`, `anyio.fail_after(...)`, ...
IN_FINALLY = 32
IN_CANCEL_HANDLER = 64  # inside an `except` that catches cancellation
SHIELDED = 128  # inside a shielded cancel scope
ITERATED = 256  # the call's result is iterated right here (`for x in gen()`, `list(gen())`)
_CONSUMERS = frozenset(
    {"list", "tuple", "set", "frozenset", "sorted", "sum", "any", "all", "max", "min", "dict",
     "enumerate", "zip", "next", "join"}
)  # fmt: skip
_CONTEXT = IN_LOOP | IN_TIMEOUT | IN_FINALLY | IN_CANCEL_HANDLER | SHIELDED
TIMEOUT_SCOPES = frozenset(
    {"timeout", "timeout_at", "fail_after", "fail_at", "move_on_after", "move_on_at", "wait_for"}
)
CANCEL_NAMES = frozenset({"CancelledError", "BaseException", "Cancelled"})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)

ROUTE_DECORATORS = {
    "get": "GET",
    "post": "POST",
    "put": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
    "head": "HEAD",
    "options": "OPTIONS",
    "trace": "TRACE",
    "websocket": "WEBSOCKET",
    "api_route": "",
    "route": "",
    "websocket_route": "WEBSOCKET",
}
REGISTER_METHODS = {
    "add_api_route": "",
    "add_route": "",
    "add_api_websocket_route": "WEBSOCKET",
    "add_websocket_route": "WEBSOCKET",
}
ROUTE_CLASSES = {
    "Route": "",
    "APIRoute": "",
    "WebSocketRoute": "WEBSOCKET",
    "APIWebSocketRoute": "WEBSOCKET",
}
_TRANSPARENT_GENERICS = {
    "Optional",
    "Annotated",
    "ClassVar",
    "Final",
    "Required",
    "NotRequired",
    "ReadOnly",
}
_ITER_GENERICS = {
    "Generator",
    "Iterator",
    "Iterable",
    "AsyncGenerator",
    "AsyncIterator",
    "AsyncIterable",
}
_NOQA = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


def index_source(source: str | bytes, module: str, is_package: bool) -> dict[str, Any]:
    """Index one module. Raises SyntaxError/ValueError/RecursionError for files it cannot read.

    Bytes are decoded by the parser itself (BOM, PEP 263 cookie), exactly as the interpreter does.
    """
    with warnings.catch_warnings():
        # Invalid escapes and the like warn at parse time; they are not ours to report, and a
        # warnings filter set to "error" would turn them into SyntaxErrors.
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    indexer = _Indexer(module, is_package)
    indexer.module_body(tree.body)
    return {
        "module": module,
        "package": is_package,
        "symbols": indexer.symbols,
        "star": indexer.star,
        "prefixes": indexer.prefixes,
        "functions": indexer.functions,
        "classes": indexer.classes,
        "registrations": indexer.registrations,
        "includes": indexer.includes,
        "roles": indexer.roles,
        "tokens": indexer.tokens,
        "noqa": scan_noqa(source if isinstance(source, str) else source.decode("utf-8", "replace")),
    }


def scan_noqa(source: str) -> dict[int, tuple[str, ...] | None]:
    """Map line -> suppressed codes (None: every code) for ``# noqa`` comments."""
    if "noqa" not in source and "NOQA" not in source:
        return {}
    result: dict[int, tuple[str, ...] | None] = {}
    for lineno, text in enumerate(source.splitlines(), 1):
        if "#" not in text:
            continue
        match = _NOQA.search(text)
        if match is None:
            continue
        codes = match.group("codes")
        result[lineno] = tuple(c.upper() for c in _CODE.findall(codes)) if codes else None
    return result


class _Scope:
    __slots__ = ("bindings", "class_qual", "func", "kind", "qual")

    def __init__(
        self,
        kind: str,
        qual: str,
        bindings: dict[str, Any],
        func: dict[str, Any] | None = None,
        class_qual: str | None = None,
    ) -> None:
        self.kind = kind  # "module" | "class" | "function"
        self.qual = qual
        self.bindings = bindings
        self.func = func
        self.class_qual = class_qual


class _Indexer:
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.is_package = is_package
        self.symbols: dict[str, Expr] = {}
        self.star: list[str] = []
        self.prefixes: dict[str, str] = {}
        self.functions: dict[str, dict[str, Any]] = {}
        self.classes: dict[str, dict[str, Any]] = {}
        self.registrations: list[tuple[Any, ...]] = []
        self.includes: list[tuple[Any, ...]] = []
        self.roles: list[tuple[Any, ...]] = []
        self.tokens: list[int] = []
        self._stored: dict[int, str] = {}
        self._iterated: set[int] = (
            set()
        )  # id() of expressions whose value is iterated in place  # id(Call node) -> the name its result is assigned to

    # -- scopes -------------------------------------------------------------------------------

    def module_body(self, body: list[ast.stmt]) -> None:
        # Import-time code is a sync pseudo-function: its calls are recorded (a client built with
        # `timeout=None`, a dropped coroutine), and it is never on the event loop.
        record = _function_record(MODULE_FUNCTION, is_async=False, line=1, col=0)
        self.functions[MODULE_FUNCTION] = record
        scope = _Scope("module", "", self.symbols, record)
        for stmt in body:
            self.statement(stmt, scope)

    def statement(self, node: ast.stmt, scope: _Scope) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(node, scope)
        elif isinstance(node, ast.ClassDef):
            self.class_def(node, scope)
        else:
            self.walk(node, scope)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope) -> None:
        for dec in node.decorator_list:
            self.walk(dec, scope)
        args = node.args
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.walk(default, scope)
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if arg.annotation is not None and isinstance(arg.annotation, ast.Subscript):
                # Annotated[T, Depends(dep)]: finds the dependency role.
                self.walk(arg.annotation, scope)
        if scope.kind == "function":
            qual = f"{scope.qual}.<locals>.{node.name}"
        elif scope.kind == "class":
            qual = f"{scope.qual}.{node.name}"
        else:
            qual = node.name
        decorators = [_expr(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list]
        dec_names = {_last_name(d) for d in node.decorator_list}
        if "setter" in dec_names or "deleter" in dec_names:
            qual += ".<setter>"
        kind = "function"
        if scope.kind == "class":
            kind = "method"
            if "staticmethod" in dec_names:
                kind = "static"
            elif "classmethod" in dec_names:
                kind = "classmethod"
            elif "property" in dec_names or "cached_property" in dec_names:
                kind = "property"
        params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        ptypes: dict[str, Expr] = {}
        positional = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        defaults += list(args.defaults)
        for arg, default in [
            *zip(positional, defaults, strict=True),
            *zip(args.kwonlyargs, args.kw_defaults, strict=True),
        ]:
            t = _param_type(arg.annotation, default)
            if t is not None:
                ptypes[arg.arg] = t
        if kind in ("method", "property", "classmethod") and positional:
            ptypes[positional[0].arg] = ("cls",) if kind == "classmethod" else ("self",)
        is_async = isinstance(node, ast.AsyncFunctionDef)
        record = _function_record(
            node.name, is_async=is_async, line=node.lineno, col=node.col_offset
        )
        record.update(
            parent=scope.qual if scope.kind == "function" else None,
            cls=scope.qual if scope.kind == "class" else None,
            kind=kind,
            params=params,
            ptypes=ptypes,
            decorators=[d for d in decorators if d is not None],
            route=_route_from_decorators(node.decorator_list),
        )
        self.functions[qual] = record
        if scope.kind == "class":
            self.classes[scope.qual]["methods"][node.name] = qual
        elif node.name not in scope.bindings:
            scope.bindings[node.name] = ("f", qual)
        for dec in node.decorator_list:
            self._decorator_role(dec, qual, scope)
        inner = _Scope("function", qual, record["locals"], record, scope.class_qual)
        for stmt in node.body:
            self.statement(stmt, inner)
        yielded = record.pop("_yield", None)
        returned = record.pop("_return", None)
        if node.returns is not None:
            record["returns"] = _ann(node.returns, iterable=record["gen"])
        else:
            # Unannotated: what it yields (a dependency generator) or the first value it returns.
            record["returns"] = yielded if record["gen"] else returned

    def class_def(self, node: ast.ClassDef, scope: _Scope) -> None:
        for dec in node.decorator_list:
            self.walk(dec, scope)
        for base in node.bases:
            self.walk(base, scope)
        qual = (
            f"{scope.qual}.{node.name}"
            if scope.kind == "class"
            else (f"{scope.qual}.<locals>.{node.name}" if scope.kind == "function" else node.name)
        )
        self.classes[qual] = {
            "bases": [b for b in (_expr(x) for x in node.bases) if b is not None],
            "base_names": [_last_name(x) for x in node.bases],
            "attrs": {},
            "methods": {},
            "scope": scope.qual if scope.kind == "function" else None,
            "line": node.lineno,
        }
        if node.name not in scope.bindings:
            scope.bindings[node.name] = ("k", qual)
        inner = _Scope("class", qual, self.classes[qual]["attrs"], None, qual)
        for stmt in node.body:
            self.statement(stmt, inner)

    # -- statements and expressions -----------------------------------------------------------

    def walk(self, root: ast.AST, scope: _Scope, context: int = 0) -> None:
        """Visit ``root`` and its children that run in ``scope`` (not nested defs' bodies).

        Each stack entry carries flags: AWAITED for the node itself, and the context bits
        (loop, timeout scope, finally, ...) that everything below inherits.
        """
        func = scope.func
        stack: list[tuple[ast.AST, int]] = [(root, context)]
        pop = stack.pop
        push = stack.append
        while stack:
            node, flags = pop()
            ctx = flags & _CONTEXT
            t = type(node)
            if t is ast.Call:
                assert isinstance(node, ast.Call)
                self._call(node, scope, flags)
            elif t is ast.Name:
                if func is not None and type(node.ctx) is ast.Load:  # type: ignore[attr-defined]
                    loads = func["loads"]  # name -> the last line it is read on
                    if loads.get(node.id, 0) < node.lineno:  # type: ignore[attr-defined]
                        loads[node.id] = node.lineno  # type: ignore[attr-defined]
                continue
            elif t is ast.Await:
                assert isinstance(node, ast.Await)
                push((node.value, ctx | AWAITED))
                continue
            elif t is ast.Expr:
                assert isinstance(node, ast.Expr)
                push((node.value, ctx | DROPPED if type(node.value) is ast.Call else ctx))
                continue
            elif t is ast.FunctionDef or t is ast.AsyncFunctionDef or t is ast.ClassDef:
                self.statement(node, scope)  # type: ignore[arg-type]
                continue
            elif t is ast.Lambda:
                assert isinstance(node, ast.Lambda)
                for d in (*node.args.defaults, *node.args.kw_defaults):
                    if d is not None:
                        push((d, ctx))
                continue
            elif t is ast.For or t is ast.AsyncFor or t is ast.While:
                assert isinstance(node, (ast.For, ast.AsyncFor, ast.While))
                loop = ctx
                if t is ast.While or not _bounded(node.iter):  # type: ignore[union-attr]
                    loop |= IN_LOOP
                if t is ast.While and func is not None:
                    self._while(node, func)  # type: ignore[arg-type]
                for child in reversed([*node.body, *node.orelse]):
                    push((child, loop))
                if t is ast.For:
                    self._iterated.add(id(node.iter))  # type: ignore[union-attr]
                push((node.test if t is ast.While else node.iter, ctx))  # type: ignore[union-attr]
                if t is not ast.While:
                    push((node.target, ctx))  # type: ignore[union-attr]
                continue
            elif isinstance(node, _COMPREHENSIONS):
                gens = node.generators
                loop = ctx | (IN_LOOP if any(not _bounded(g.iter) for g in gens) else 0)
                elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
                for elt in elts:
                    push((elt, loop))
                for gen in reversed(gens):
                    for cond in gen.ifs:
                        push((cond, loop))
                    if not gen.is_async:
                        self._iterated.add(id(gen.iter))
                    push((gen.iter, ctx))
                continue
            elif t is ast.Try or t is ast.TryStar:
                assert isinstance(node, (ast.Try, ast.TryStar))
                if func is not None:
                    self._try(node, func)
                for child in reversed(node.finalbody):
                    push((child, ctx | IN_FINALLY))
                for handler in reversed(node.handlers):
                    bit = IN_CANCEL_HANDLER if _catches_cancellation(handler) else 0
                    for child in reversed(handler.body):
                        push((child, ctx | bit))
                    if handler.type is not None:
                        push((handler.type, ctx))
                for child in reversed([*node.body, *node.orelse]):
                    push((child, ctx))
                continue
            elif t is ast.Assign:
                assert isinstance(node, ast.Assign)
                value = _expr(node.value)
                if value is None and isinstance(node.value, (ast.Subscript, ast.BinOp)):
                    # A type alias: DbSession = Annotated[Session, Depends(get_db)].
                    value = _ann(node.value)
                for target in node.targets:
                    self._bind(target, value, scope, node.value)
                if (
                    len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Call)
                ):
                    self._stored[id(node.value)] = node.targets[0].id
            elif t is ast.AnnAssign:
                assert isinstance(node, ast.AnnAssign)
                if _last_name(node.annotation) == "TypeAlias" and node.value is not None:
                    ann = _ann(node.value)
                else:
                    ann = _param_type(node.annotation, node.value)
                if ann is None and node.value is not None:
                    ann = _expr(node.value)
                elif ann is not None and node.value is None and scope.kind == "class":
                    # A declaration (`helper: HelperProtocol`): what __init__ assigns is more precise.
                    ann = ("decl", ann)
                self._bind(node.target, ann, scope, node.value)
            elif sys.version_info >= (3, 12) and t is ast.TypeAlias:  # type X = ... (PEP 695)
                self._bind(node.name, _ann(node.value), scope, None)  # type: ignore[attr-defined]
            elif t is ast.NamedExpr:
                assert isinstance(node, ast.NamedExpr)
                self._bind(node.target, _expr(node.value), scope, node.value)
            elif t is ast.With or t is ast.AsyncWith:
                assert isinstance(node, (ast.With, ast.AsyncWith))
                inner = ctx
                for item in node.items:
                    ce = item.context_expr
                    ctx_expr = _expr(ce)
                    if item.optional_vars is not None:
                        self._bind(item.optional_vars, ctx_expr, scope, None)
                    if isinstance(ce, ast.Call):
                        if _last_name(ce.func) in TIMEOUT_SCOPES:
                            inner |= IN_TIMEOUT
                        if any(_is_true(kw) for kw in ce.keywords if kw.arg == "shield"):
                            inner |= SHIELDED
                    if t is ast.With and func is not None and ctx_expr is not None:
                        func["calls"].append(
                            (
                                ("a", ctx_expr, "__enter__"),
                                ce.lineno,
                                ce.col_offset,
                                ce.end_lineno or ce.lineno,
                                ce.end_col_offset or 0,
                                WITH_ENTER | ctx,
                                (),
                                None,
                                (),
                                {},
                            )
                        )
                for child in reversed(node.body):
                    push((child, inner))
                for item in reversed(node.items):
                    push((item.context_expr, ctx))
                continue
            elif t is ast.Import:
                assert isinstance(node, ast.Import)
                for alias in node.names:
                    if alias.asname:
                        self._bind_name(alias.asname, ("q", alias.name), scope)
                    else:
                        top = alias.name.split(".", 1)[0]
                        self._bind_name(top, ("q", top), scope)
                continue
            elif t is ast.ImportFrom:
                assert isinstance(node, ast.ImportFrom)
                base = self._import_base(node)
                for alias in node.names:
                    if alias.name == "*":
                        if scope.kind == "module" and base:
                            self.star.append(base)
                        continue
                    qualified = f"{base}.{alias.name}" if base else alias.name
                    self._bind_name(alias.asname or alias.name, ("q", qualified), scope)
                continue
            elif (t is ast.Yield or t is ast.YieldFrom) and func is not None:
                func["gen"] = True
                if t is ast.YieldFrom:
                    self._iterated.add(id(node.value))  # type: ignore[attr-defined]
                assert isinstance(node, (ast.Yield, ast.YieldFrom))
                if t is ast.Yield and "_yield" not in func and node.value is not None:
                    value = _expr(node.value)
                    if value is not None:
                        func["_yield"] = value
            elif t is ast.Return and func is not None:
                assert isinstance(node, ast.Return)
                if "_return" not in func and node.value is not None:
                    value = _expr(node.value)
                    if value is not None:
                        func["_return"] = value
            nodes = list(ast.iter_child_nodes(node))
            nodes.reverse()
            for sub in nodes:
                push((sub, ctx))

    def _try(self, node: ast.Try | ast.TryStar, func: dict[str, Any]) -> None:
        """Except handlers around awaits, for the cancellation rules."""
        awaits = [n for n in _own_nodes(node.body) if isinstance(n, ast.Await)]
        if not awaits:
            return
        # Awaiting only task/future objects (`await task`) is how one waits for a task one
        # cancelled; awaiting a call starts new work whose cancellation must propagate.
        awaits_call = any(isinstance(a.value, ast.Call) for a in awaits)
        for handler in node.handlers:
            if not _catches_cancellation(handler):
                continue
            types = (
                None
                if handler.type is None
                else [
                    e
                    for e in (
                        _expr(x)
                        for x in (
                            handler.type.elts
                            if isinstance(handler.type, ast.Tuple)
                            else [handler.type]
                        )
                    )
                    if e is not None
                ]
            )
            reraises = any(isinstance(n, ast.Raise) for n in _own_nodes(handler.body))
            end = handler.type if handler.type is not None else handler
            func["handlers"].append(
                (
                    handler.lineno,
                    handler.col_offset,
                    end.end_lineno or handler.lineno,
                    end.end_col_offset or 0,
                    types,
                    reraises,
                    awaits_call,
                )
            )

    def _while(self, node: ast.While, func: dict[str, Any]) -> None:
        """Polling loops (LS403) and producer loops that never yield to the loop (LS503)."""
        own = _own_nodes(node.body)
        awaits = [n for n in own if isinstance(n, ast.Await)]
        forever = isinstance(node.test, ast.Constant) and bool(node.test.value)
        if forever and any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in own):
            exits = any(isinstance(n, (ast.Break, ast.Return)) for n in own)
            disconnect = any(
                isinstance(n, ast.Attribute) and n.attr == "is_disconnected" for n in own
            )
            has_await = bool(awaits) or any(
                isinstance(n, (ast.AsyncFor, ast.AsyncWith)) for n in own
            )
            func["streams"].append((node.lineno, node.col_offset, has_await, exits, disconnect))
        if len(awaits) != 1 or not isinstance(awaits[0].value, ast.Call):
            return
        sleep = awaits[0].value
        exits = False
        for stmt in node.body:
            if isinstance(stmt, ast.Expr) and stmt.value is awaits[0]:
                continue
            if isinstance(stmt, ast.If) and all(
                isinstance(s, (ast.Break, ast.Return, ast.Raise, ast.Pass, ast.Continue))
                for s in [*stmt.body, *stmt.orelse]
            ):
                exits = True
                continue
            if isinstance(stmt, ast.Pass):
                continue
            return  # the loop does work of its own: a periodic task, not a wait
        callee = _expr(sleep.func)
        if callee is not None and (exits or not forever):
            func["polls"].append((node.lineno, node.col_offset, callee))

    def _import_base(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        parts = self.module.split(".")
        if not self.is_package:
            parts = parts[:-1]
        if node.level > 1:
            parts = parts[: len(parts) - (node.level - 1)] if node.level - 1 <= len(parts) else []
        base = ".".join(parts)
        if node.module:
            base = f"{base}.{node.module}" if base else node.module
        return base

    def _bind_name(self, name: str, value: Expr | None, scope: _Scope) -> None:
        if value is not None and name not in scope.bindings:
            scope.bindings[name] = value

    def _bind(
        self, target: ast.AST, value: Expr | None, scope: _Scope, node: ast.expr | None
    ) -> None:
        if isinstance(target, (ast.Tuple, ast.List)) and value is not None:
            # reader, writer = await asyncio.open_connection(...): element i of the result.
            if not any(isinstance(e, ast.Starred) for e in target.elts):
                for i, element in enumerate(target.elts):
                    self._bind(element, ("item", value, i), scope, None)
        elif isinstance(target, ast.Name):
            self._bind_name(target.id, value, scope)
            if scope.kind == "module" and isinstance(node, ast.Call):
                for kw in node.keywords:
                    if (
                        kw.arg == "prefix"
                        and isinstance(kw.value, ast.Constant)
                        and isinstance(kw.value.value, str)
                    ):
                        self.prefixes[target.id] = kw.value.value
        elif (
            isinstance(target, ast.Attribute)
            and target.attr == "total_tokens"
            and isinstance(node, ast.Constant)
            and isinstance(node.value, int)
        ):
            self.tokens.append(node.value)  # anyio's thread limiter, sized by the app
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and scope.func is not None
            and scope.class_qual is not None
            and scope.func["ptypes"].get(target.value.id) == ("self",)
            and value is not None
        ):
            attrs = self.classes[scope.class_qual]["attrs"]
            if target.attr not in attrs or attrs[target.attr][0] == "decl":
                # Remember the method the value was computed in: it is resolved in that scope.
                attrs[target.attr] = ("scoped", scope.qual, value)

    def _call(self, node: ast.Call, scope: _Scope, flags: int) -> None:
        func = node.func
        callee = _expr(func)
        if node.args and _last_name(func) in _CONSUMERS:
            self._iterated.add(id(node.args[0]))
        if id(node) in self._iterated:
            flags |= ITERATED
        if scope.func is not None and callee is not None:
            argrefs: list[tuple[int, str]] = []
            for pos, arg in enumerate(node.args):
                name = _callable_ref(arg)
                if name is not None:
                    argrefs.append((pos, name))
            scope.func["calls"].append(
                (
                    callee,
                    node.lineno,
                    node.col_offset,
                    node.end_lineno or node.lineno,
                    node.end_col_offset or 0,
                    flags,
                    tuple(argrefs),
                    self._stored.pop(id(node), None),
                    tuple(_arg_marker(a) for a in node.args),
                    {kw.arg: _arg_marker(kw.value) for kw in node.keywords if kw.arg},
                )
            )
        self._patterns(node, scope)

    def _patterns(self, node: ast.Call, scope: _Scope) -> None:
        """Route registrations, router includes and roles (dependency, lifespan, ...)."""
        func = node.func
        name = _last_name(func)
        for kw in node.keywords:
            if kw.arg == "lifespan":
                self._role("lifespan", kw.value, scope)
        if name in ("Depends", "Security") and node.args:
            self._role("dependency", node.args[0], scope)
        elif name in ("StreamingResponse", "EventSourceResponse") and node.args:
            source = node.args[0]
            self._role(
                "stream source", source.func if isinstance(source, ast.Call) else source, scope
            )
        elif isinstance(func, ast.Attribute):
            if name in REGISTER_METHODS and len(node.args) >= 2:
                method = REGISTER_METHODS[name] or _methods_kw(node) or "GET"
                path = _const_str(node.args[0])
                endpoint = _expr(node.args[1])
                if path is not None and endpoint is not None:
                    self.registrations.append(
                        (method, path, _expr(func.value), endpoint, scope.qual)
                    )
            elif name == "include_router" and node.args:
                router = _expr(node.args[0])
                prefix = ""
                for kw in node.keywords:
                    if kw.arg == "prefix":
                        prefix = _const_str(kw.value) or ""
                if router is not None:
                    self.includes.append((_expr(func.value), router, prefix, scope.qual))
            elif name == "add_exception_handler" and len(node.args) >= 2:
                self._role("exception handler", node.args[1], scope)
            elif name == "add_task" and node.args:
                self._role("background task", node.args[0], scope)
            elif name == "add_event_handler" and len(node.args) >= 2:
                self._role("startup/shutdown handler", node.args[1], scope)
        elif name in ROUTE_CLASSES and len(node.args) >= 2:
            path = _const_str(node.args[0])
            endpoint = _expr(node.args[1])
            method = ROUTE_CLASSES[name] or _methods_kw(node) or "GET"
            if path is not None and endpoint is not None:
                self.registrations.append((method, path, None, endpoint, scope.qual))
        if isinstance(func, ast.Call) and node.args:
            # app.get("/path")(handler): a decorator applied by hand.
            route = _route_from_decorators([func])
            endpoint = _expr(node.args[0])
            if route is not None and endpoint is not None:
                self.registrations.append((route[0], route[1], route[2], endpoint, scope.qual))

    def _decorator_role(self, dec: ast.expr, qual: str, scope: _Scope) -> None:
        name = _last_name(dec.func if isinstance(dec, ast.Call) else dec)
        role = {
            "exception_handler": "exception handler",
            "middleware": "middleware",
            "on_event": "startup/shutdown handler",
        }.get(name)
        if role is not None:
            self.roles.append((role, ("f", qual), scope.qual))

    def _role(self, role: str, node: ast.expr, scope: _Scope) -> None:
        target = _expr(node)
        if target is not None:
            self.roles.append((role, target, scope.qual))


# -- expression helpers --------------------------------------------------------------------------


def _expr(node: ast.AST | None) -> Expr | None:
    t = type(node)
    if t is ast.Name:
        return ("n", node.id)  # type: ignore[union-attr]
    if t is ast.Attribute:
        base = _expr(node.value)  # type: ignore[union-attr]
        return None if base is None else ("a", base, node.attr)  # type: ignore[union-attr]
    if t is ast.Call:
        assert isinstance(node, ast.Call)
        if isinstance(node.func, ast.Name) and node.func.id == "super":
            return ("super",)
        callee = _expr(node.func)
        return None if callee is None else ("c", callee)
    if t is ast.Await:
        return _expr(node.value)  # type: ignore[union-attr]
    if t is ast.NamedExpr:
        return _expr(node.value)  # type: ignore[union-attr]
    if t is ast.BinOp and isinstance(node.op, ast.Div):  # type: ignore[union-attr]
        left = _expr(node.left)  # type: ignore[union-attr]
        return None if left is None else ("div", left)
    if t is ast.IfExp:
        return _expr(node.body)  # type: ignore[union-attr]
    return None


def _function_record(name: str, *, is_async: bool, line: int, col: int) -> dict[str, Any]:
    return {
        "name": name,
        "async": is_async,
        "gen": False,
        "line": line,
        "col": col,
        "parent": None,
        "cls": None,
        "kind": "function",
        "params": [],
        "ptypes": {},
        "returns": None,
        "locals": {},
        "calls": [],
        "loads": {},
        "handlers": [],
        "polls": [],
        "streams": [],
        "decorators": [],
        "route": None,
    }


def _arg_marker(node: ast.expr) -> tuple[Any, ...]:
    """A call argument as data: ("c", constant), ("s",) for *args, or ("e", expr | None)."""
    if isinstance(node, ast.Constant) and isinstance(
        node.value, (type(None), bool, int, float, str)
    ):
        return ("c", node.value)
    if isinstance(node, ast.Starred):
        value = node.value
        if isinstance(value, _COMPREHENSIONS):
            bounded = all(_bounded(g.iter) for g in value.generators)
            # Coroutines made right here (`*[fetch(x) for x in xs]`), not tasks already running.
            creates = isinstance(getattr(value, "elt", None), ast.Call)
            return ("s", bounded, creates)
        return ("s", _bounded(value), False)
    return ("e", _expr(node))


def _bounded(iterable: ast.expr) -> bool:
    """A literal collection or ``range(<constants>)``: a loop of known, small size."""
    if isinstance(iterable, (ast.List, ast.Tuple, ast.Set)):
        return not any(isinstance(e, ast.Starred) for e in iterable.elts)
    if isinstance(iterable, ast.Call) and _last_name(iterable.func) == "range":
        # range(3), range(WORKERS): literals and module constants (UPPER_CASE by convention).
        return all(
            isinstance(a, ast.Constant) or (_last_name(a).isupper() and _last_name(a) != "")
            for a in iterable.args
        )
    return False


def _catches_cancellation(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(_last_name(t) in CANCEL_NAMES for t in types)


def _is_true(kw: ast.keyword) -> bool:
    return isinstance(kw.value, ast.Constant) and kw.value.value is True


def _own_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """Every node under ``body`` that runs in this function (not in nested defs or lambdas)."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def _callable_ref(node: ast.expr) -> str | None:
    """The parameter name a call argument hands on as a callable: ``fn`` or ``partial(fn, ...)``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call) and _last_name(node.func) == "partial" and node.args:
        first = node.args[0]
        if isinstance(first, ast.Name):
            return first.id
    return None


def _last_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _last_name(node.func)
    return ""


def _const_str(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _methods_kw(node: ast.Call) -> str:
    for kw in node.keywords:
        if kw.arg == "methods" and isinstance(kw.value, (ast.List, ast.Tuple, ast.Set)):
            methods = [m.upper() for m in (_const_str(e) for e in kw.value.elts) if m]
            return ",".join(methods)
    return ""


def _route_from_decorators(decorators: list[ast.expr]) -> tuple[str, str, Expr | None] | None:
    for dec in decorators:
        if not (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)):
            continue
        method = ROUTE_DECORATORS.get(dec.func.attr)
        if method is None:
            continue
        arg = dec.args[0] if dec.args else None
        for kw in dec.keywords:
            if kw.arg == "path":
                arg = kw.value
        if arg is None:
            continue
        path = _const_str(arg)
        if path is None and isinstance(arg, (ast.Name, ast.Attribute, ast.JoinedStr)):
            path = f"<{ast.unparse(arg)}>"  # a path from settings: shown as written
        if path is None or not (path.startswith(("/", "<")) or path == ""):
            continue
        return (method or _methods_kw(dec) or "GET", path, _expr(dec.func.value))
    return None


def _param_type(annotation: ast.expr | None, default: ast.expr | None) -> Expr | None:
    if annotation is not None:
        t = _ann(annotation)
        if t is not None:
            return t
    if (
        isinstance(default, ast.Call)
        and _last_name(default.func) in ("Depends", "Security")
        and default.args
    ):
        dep = _expr(default.args[0])
        if dep is not None:
            return ("c", dep)
    return None


def _ann(node: ast.expr, iterable: bool = False) -> Expr | None:
    """The type an annotation names, as ("i", type) (an instance of it)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            parsed = ast.parse(node.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            return None
        return _ann(parsed, iterable)
    if isinstance(node, (ast.Name, ast.Attribute)):
        if iterable:
            return None
        base = _expr(node)
        return None if base is None else ("i", base)
    if isinstance(node, ast.Subscript):
        name = _last_name(node.value)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if name in _TRANSPARENT_GENERICS and items:
            return _ann(items[0], iterable)
        if name == "Union":
            return _single_union(items, iterable)
        if iterable and name in _ITER_GENERICS and items:
            return _ann(items[0])
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _single_union([node.left, node.right], iterable)
    return None


def _single_union(items: list[ast.expr], iterable: bool) -> Expr | None:
    """``X | None`` is X; of a real union the first member is taken (``Session | AsyncSession``)."""
    for item in items:
        if isinstance(item, ast.Constant) and item.value is None:
            continue
        if isinstance(item, ast.BinOp) and isinstance(item.op, ast.BitOr):
            return _single_union([item.left, item.right], iterable)
        return _ann(item, iterable)
    return None
