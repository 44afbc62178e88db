"""The project's call graph: what each call resolves to, which code runs on the event loop, and the
shortest chain from an ``async def`` through sync project code to a blocking call.

Every ``async def`` body runs on the event loop, whoever calls it. Sync functions run there only when
called from such a body, so they are reached through call edges, never taken as roots: sync ``def``
routes and dependencies (FastAPI runs them in its thread pool), functions handed to an offload
(``asyncio.to_thread(fn)`` passes ``fn`` without calling it) and import-time code are never entered.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from loopsafe.check.catalogue import BlockingEntry, Catalogue
from loopsafe.check.index import AWAITED, ITERATED, MODULE_FUNCTION
from loopsafe.check.resolve import Resolver, Sym

FuncKey = tuple[str, str]  # (module, qualname)
# Which blocking call a chain should show when a function has several: the network and the
# database first, incidental file I/O (a debug log) last.
_PRIORITY = {
    c: i
    for i, c in enumerate(
        ("db", "http", "sdk", "mail", "subprocess", "socket", "sleep", "lock", "cpu", "loop",
         "upload", "file", "console")
    )
}  # fmt: skip
Call = tuple[Any, ...]  # (callee, line, col, end_line, end_col, flags, argrefs), see index.py


@dataclass(frozen=True, slots=True)
class Blocking:
    """A call that resolves to a blocking catalogue entry."""

    name: str
    entry: BlockingEntry


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a chain: ``call`` inside function ``caller`` goes to ``target``."""

    caller: FuncKey
    call: Call
    target: FuncKey | Blocking


class ProjectGraph:
    """Lazily resolved call graph over the indexed modules."""

    def __init__(
        self,
        modules: dict[str, dict[str, Any]],
        paths: dict[str, str],
        catalogue: Catalogue,
        aliases: dict[str, str] | None = None,
    ) -> None:
        self.modules = modules
        self.paths = paths
        self.catalogue = catalogue
        self.resolver = Resolver(modules, catalogue, aliases or {})
        self._targets: dict[FuncKey, list[tuple[Call, FuncKey | Blocking]]] = {}
        self._offload_arg: dict[FuncKey, int | None] = {}
        self._children: dict[FuncKey, list[FuncKey]] | None = None
        self._chains: dict[FuncKey, Hop] | None = None
        self._labels: tuple[dict[FuncKey, str], dict[FuncKey, str]] | None = None
        self._display_prefix = _common_top_package(modules)

    # -- functions ------------------------------------------------------------------------------

    def function(self, key: FuncKey) -> dict[str, Any]:
        fn: dict[str, Any] = self.modules[key[0]]["functions"][key[1]]
        return fn

    def functions(self) -> Iterator[tuple[FuncKey, dict[str, Any]]]:
        """Every function and method of the project, in a stable order."""
        for module in sorted(self.modules):
            for qual, fn in self.modules[module]["functions"].items():
                yield (module, qual), fn

    def callee_name(self, key: FuncKey, call: Call) -> str | None:
        """The canonical qualified name of an external callee (``asyncio.create_task``), or None."""
        sym = self.resolver.resolve(key[0], key[1], call[0])
        if sym is None:
            return None
        if sym[0] == "ext":
            return str(sym[1])
        if sym[0] == "extinst":
            return f"{sym[1]}.__call__"
        return None

    def callee_function(self, key: FuncKey, call: Call) -> FuncKey | None:
        """The project function a call runs, or None."""
        sym = self.resolver.resolve(key[0], key[1], call[0])
        if sym is not None and sym[0] == "func":
            return (sym[1], sym[2])
        return None

    def resolve_name(self, key: FuncKey, expr: Any) -> str | None:
        """The canonical qualified name of an external thing an expression names."""
        sym = self.resolver.resolve(key[0], key[1], expr)
        return str(sym[1]) if sym is not None and sym[0] == "ext" else None

    def role(self, key: FuncKey) -> str | None:
        """ "route", "dependency", "middleware", ... when FastAPI calls this function, else None."""
        routes, roles = self._route_labels()
        if key in routes:
            return "route"
        if key in roles:
            return roles[key]
        fn = self.function(key)
        if fn["cls"] is not None:
            cls = self.modules[key[0]]["classes"].get(fn["cls"], {})
            if fn["name"] == "dispatch" and "BaseHTTPMiddleware" in cls.get("base_names", ()):
                return "middleware"
            if fn["name"] == "__call__" and fn["params"][1:4] == ["scope", "receive", "send"]:
                return "middleware"
        return None

    def async_functions(self) -> Iterator[FuncKey]:
        for module in sorted(self.modules):
            for qual, fn in self.modules[module]["functions"].items():
                if fn["async"]:
                    yield (module, qual)

    def targets(self, key: FuncKey) -> list[tuple[Call, FuncKey | Blocking]]:
        """Each call of function ``key`` that runs synchronously, with what it resolves to."""
        cached = self._targets.get(key)
        if cached is not None:
            return cached
        module, qual = key
        result: list[tuple[Call, FuncKey | Blocking]] = []
        for call in self.function(key)["calls"]:
            if call[5] & AWAITED:
                continue  # an awaited call yields to the loop; a sync callee would fail at runtime
            target = self._call_target(module, qual, call)
            if target is not None:
                result.append((call, target))
        self._targets[key] = result
        return result

    def _call_target(self, module: str, qual: str, call: Call) -> FuncKey | Blocking | None:
        sym = self.resolver.resolve(module, qual, call[0])
        if sym is None:
            return None
        kind = sym[0]
        if kind == "ext":
            return self._blocking(sym[1], module, qual, call)
        if kind == "extinst":
            return self._blocking(f"{sym[1]}.__call__", module, qual, call)
        if kind == "class":
            init = self.resolver.class_member(sym[1], sym[2], "__init__", instance=True)
            if init is not None and init[0] == "func":
                return self._sync_func(init, call)
            ext_base = next((ext for _, _, ext in self.resolver.mro(sym[1], sym[2]) if ext), None)
            return self._blocking(ext_base, module, qual, call) if ext_base is not None else None
        if kind == "inst":
            method = self.resolver.class_member(sym[1], sym[2], "__call__", instance=True)
            if method is not None and method[0] == "func":
                return self._sync_func(method, call)
            return None
        if kind == "func":
            return self._sync_func(sym, call)
        return None

    def _blocking(self, name: str, module: str, qual: str, call: Call) -> Blocking | None:
        entry = self.catalogue.blocking(name)
        if entry is None:
            return None
        # `executor.shutdown(wait=False)`, `Image.open(io.BytesIO(...))` return at once.
        kwargs = call[9] if len(call) > 9 else {}
        if any(kwargs.get(k) == ("c", v) for k, v in entry.unless_kwargs):
            return None
        args = call[8] if len(call) > 8 else ()
        if entry.unless_arg_types and args and args[0][0] == "e" and args[0][1] is not None:
            arg = self.resolver.resolve(module, qual, args[0][1])
            if arg is not None and arg[0] == "extinst" and arg[1] in entry.unless_arg_types:
                return None
        return Blocking(name, entry)

    def _sync_func(self, sym: Sym, call: Call) -> FuncKey | None:
        key: FuncKey = (sym[1], sym[2])
        fn = self.modules[key[0]]["functions"].get(key[1])
        if fn is None or fn["async"] or self._offloaded(key, fn):
            return None
        # Calling a generator function runs none of its body: it runs where it is iterated
        # (Starlette iterates a sync generator handed to StreamingResponse in a worker thread).
        if fn["gen"] and not call[5] & ITERATED:
            return None
        return key

    # -- offloads -------------------------------------------------------------------------------

    def _offloaded(self, key: FuncKey, fn: dict[str, Any]) -> bool:
        """A function wrapped by an offload decorator runs in a worker, not on the loop."""
        for dec in fn["decorators"]:
            sym = self.resolver.resolve(key[0], fn["parent"], dec)
            if sym is not None and self._offload_position(sym) is not None:
                return True
        return False

    def _offload_position(self, sym: Sym) -> int | None:
        if sym[0] == "ext":
            return self.catalogue.offloads.get(sym[1])
        if sym[0] == "func":
            return self.offload_arg((sym[1], sym[2]))
        return None

    def offload_arg(self, key: FuncKey) -> int | None:
        """Position of the parameter a project function hands to an offload, or None.

        ``def run_blocking(fn, *args): return asyncio.to_thread(fn, *args)`` and decorators that wrap
        their argument so are the project's own offloads.
        """
        if key in self._offload_arg:
            return self._offload_arg[key]
        self._offload_arg[key] = None  # guards recursion between wrappers
        fn = self.modules[key[0]]["functions"].get(key[1])
        if fn is None or not fn["params"]:
            return None
        params = fn["params"]
        found: int | None = None
        for inner in [key, *self._descendants(key)]:
            for call in self.function(inner)["calls"]:
                for pos, name in call[6]:
                    if name not in params:
                        continue
                    sym = self.resolver.resolve(inner[0], inner[1], call[0])
                    if sym is not None and self._offload_position(sym) == pos:
                        found = params.index(name)
                        break
                if found is not None:
                    break
            if found is not None:
                break
        self._offload_arg[key] = found
        return found

    def _descendants(self, key: FuncKey) -> list[FuncKey]:
        if self._children is None:
            children: dict[FuncKey, list[FuncKey]] = {}
            for module, summary in self.modules.items():
                for qual, fn in summary["functions"].items():
                    if fn["parent"] is not None:
                        children.setdefault((module, fn["parent"]), []).append((module, qual))
            self._children = children
        out: list[FuncKey] = []
        stack = list(self._children.get(key, ()))
        while stack:
            child = stack.pop()
            out.append(child)
            stack.extend(self._children.get(child, ()))
        return out

    # -- chains -----------------------------------------------------------------------------------

    def chain_from(self, key: FuncKey) -> list[Hop]:
        """Shortest chain of hops from sync function ``key`` to a blocking call (empty if none)."""
        if self._chains is None:
            self._chains = self._compute_chains()
        hops: list[Hop] = []
        seen: set[FuncKey] = set()
        current = key
        while current in self._chains and current not in seen:
            seen.add(current)
            hop = self._chains[current]
            hops.append(hop)
            if isinstance(hop.target, Blocking):
                return hops
            current = hop.target
        return []

    def _compute_chains(self) -> dict[FuncKey, Hop]:
        # Forward: every sync function reachable from an async def. Backward: BFS from the
        # functions that block directly, so each gets its shortest chain.
        reachable: list[FuncKey] = []
        seen: set[FuncKey] = set()
        stack: list[FuncKey] = []
        for root in self.async_functions():
            for _, target in self.targets(root):
                if not isinstance(target, Blocking) and target not in seen:
                    seen.add(target)
                    stack.append(target)
        while stack:
            key = stack.pop()
            reachable.append(key)
            for _, target in self.targets(key):
                if not isinstance(target, Blocking) and target not in seen:
                    seen.add(target)
                    stack.append(target)
        reachable.sort()
        chains: dict[FuncKey, Hop] = {}
        callers: dict[FuncKey, list[tuple[FuncKey, Call]]] = {}
        queue: deque[FuncKey] = deque()
        sinks: list[tuple[int, FuncKey]] = []
        for key in reachable:
            best: tuple[int, Hop] | None = None
            for call, target in self.targets(key):
                if isinstance(target, Blocking):
                    rank = _PRIORITY.get(target.entry.category, len(_PRIORITY))
                    if best is None or rank < best[0]:
                        best = (rank, Hop(key, call, target))
                else:
                    callers.setdefault(target, []).append((key, call))
            if best is not None:
                chains[key] = best[1]
                sinks.append((best[0], key))
        # Equal-length chains: the one ending in the most telling blocking call wins.
        queue.extend(key for _, key in sorted(sinks))
        while queue:
            key = queue.popleft()
            for caller, call in callers.get(key, ()):
                if caller not in chains:
                    chains[caller] = Hop(caller, call, key)
                    queue.append(caller)
        return chains

    # -- labels -----------------------------------------------------------------------------------

    def display(self, key: FuncKey) -> str:
        """``services.users.load_user``: module and qualname, less the package all modules share."""
        module = key[0].partition("#")[0]
        prefix = self._display_prefix
        if prefix and (module == prefix or module.startswith(prefix + ".")):
            module = module[len(prefix) + 1 :]
        qual = key[1].replace(".<locals>.", ".")
        return f"{module}.{qual}" if module else qual

    def context(self, key: FuncKey) -> str:
        """How a user recognises the code that runs on the loop: its route, role or name."""
        routes, roles = self._route_labels()
        if key in routes:
            return routes[key]
        if key[1] == MODULE_FUNCTION:
            return f"module `{self.display((key[0], '')).rstrip('.') or key[0]}`"
        fn = self.function(key)
        if key in roles:
            return f"{roles[key]} `{self.display(key)}`"
        if fn["cls"] is not None:
            cls = self.modules[key[0]]["classes"].get(fn["cls"], {})
            if fn["name"] == "dispatch" and "BaseHTTPMiddleware" in cls.get("base_names", ()):
                return f"middleware `{self.display(key)}`"
            if fn["name"] == "__call__" and fn["params"][1:4] == ["scope", "receive", "send"]:
                return f"ASGI middleware `{self.display(key)}`"
        return f"`{'async def' if fn['async'] else 'def'} {self.display(key)}`"

    def _route_labels(self) -> tuple[dict[FuncKey, str], dict[FuncKey, str]]:
        if self._labels is not None:
            return self._labels
        routes: dict[FuncKey, str] = {}
        roles: dict[FuncKey, str] = {}
        included_in: dict[tuple[str, str], tuple[tuple[str, str] | None, str]] = {}
        for module, summary in self.modules.items():
            for receiver, router, prefix, scope in summary["includes"]:
                rid = self._locate(module, scope, router)
                if rid is not None and rid not in included_in:
                    parent = self._locate(module, scope, receiver) if receiver else None
                    included_in[rid] = (parent, prefix)

        def full_prefix(rid: tuple[str, str] | None, depth: int = 0) -> str:
            if rid is None or depth > 16:
                return ""
            own: str = self.modules[rid[0]]["prefixes"].get(rid[1], "")
            parent, include_prefix = included_in.get(rid, (None, ""))
            return full_prefix(parent, depth + 1) + include_prefix + own

        def add_route(
            key: FuncKey, method: str, path: str, receiver: Any, module: str, scope: str | None
        ) -> None:
            rid = self._locate(module, scope, receiver) if receiver else None
            routes.setdefault(key, f"{method} {full_prefix(rid) + path or '/'}")

        for module, summary in self.modules.items():
            for qual, fn in summary["functions"].items():
                if fn["route"] is not None:
                    method, path, receiver = fn["route"]
                    add_route((module, qual), method, path, receiver, module, fn["parent"])
            for method, path, receiver, endpoint, scope in summary["registrations"]:
                sym = self.resolver.resolve(module, scope or None, endpoint)
                if sym is not None and sym[0] == "func":
                    add_route((sym[1], sym[2]), method, path, receiver, module, scope or None)
            for role, target, scope in summary["roles"]:
                sym = self.resolver.resolve(module, scope or None, target)
                if sym is None:
                    continue
                if sym[0] == "func":
                    roles.setdefault((sym[1], sym[2]), role)
                elif sym[0] == "class":
                    for name in ("dispatch", "__call__"):
                        method_sym = self.resolver.class_member(sym[1], sym[2], name, instance=True)
                        if method_sym is not None and method_sym[0] == "func":
                            roles.setdefault((method_sym[1], method_sym[2]), role)
        self._labels = (routes, roles)
        return self._labels

    def _locate(
        self, module: str, scope: str | None, expr: Any, depth: int = 0
    ) -> tuple[str, str] | None:
        """The module-level variable an expression names (a router or app), following imports."""
        if depth > 8 or not isinstance(expr, tuple):
            return None
        if expr[0] == "n":
            value = self.modules[module]["symbols"].get(expr[1])
            if value is not None and value[0] == "q":
                return self._locate_qual(value[1], depth)
            return (module, expr[1])
        if expr[0] == "a":
            base = self.resolver.resolve(module, scope, expr[1])
            if base is not None and base[0] == "mod":
                value = self.modules[base[1]]["symbols"].get(expr[2])
                if value is not None and value[0] == "q":
                    return self._locate_qual(value[1], depth)
                return (base[1], expr[2])
        return None

    def _locate_qual(self, name: str, depth: int) -> tuple[str, str] | None:
        module, _, attr = name.rpartition(".")
        module = self.resolver.module_name(module) or ""
        if not module:
            return None
        return self._locate(module, None, ("n", attr), depth + 1)

    def path(self, key: FuncKey) -> str:
        return self.paths[key[0]]


def _common_top_package(modules: dict[str, Any]) -> str:
    tops = {m.partition("#")[0].split(".", 1)[0] for m in modules}
    if len(tops) == 1 and len(modules) > 1:
        return tops.pop()
    return ""
