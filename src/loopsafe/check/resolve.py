"""Project-wide name resolution over the per-file indexes, like a (small) type checker would do it.

A resolved symbol is a tuple:

    ("mod", module)               a project module
    ("func", module, qual)        a project function or method
    ("class", module, qual)       a project class
    ("inst", module, qual)        an instance of a project class
    ("super", module, qual)       ``super()`` inside a method of class ``qual``
    ("ext", "pkg.name")           something outside the project (canonical qualified name)
    ("extinst", "pkg.Type")       an instance of an external type
    ("exttuple", (types, ...))    a tuple of instances of external types

Every lookup is memoised, so resolving the same expression in the same scope costs one dict hit.
"""

from __future__ import annotations

import builtins
from typing import Any

from loopsafe.check.catalogue import Catalogue

Sym = tuple[Any, ...]
_BUILTINS = frozenset(dir(builtins))
_MAX_DEPTH = 40


class Resolver:
    """Resolves symbolic expressions from ``index.py`` against every module of the project."""

    def __init__(
        self, modules: dict[str, dict[str, Any]], catalogue: Catalogue, aliases: dict[str, str]
    ) -> None:
        self.modules = modules
        self.aliases = aliases  # other names a module is imported by (src layout, namespace dirs)
        self.catalogue = catalogue
        self._memo: dict[tuple[str, str | None, Any], Sym | None] = {}
        self._qual_memo: dict[str, Sym | None] = {}
        self._active: set[tuple[str, str | None, Any]] = set()
        self._mro_memo: dict[tuple[str, str], list[tuple[str, str, str | None]]] = {}

    # -- entry points -------------------------------------------------------------------------

    def resolve(self, module: str, scope: str | None, expr: Any) -> Sym | None:
        """Resolve ``expr`` as written in function ``scope`` (None: module level) of ``module``."""
        key = (module, scope, expr)
        memo = self._memo
        if key in memo:
            return memo[key]
        if key in self._active or len(self._active) > _MAX_DEPTH:
            return None  # a cycle (x = x.y) or absurd depth: give up quietly
        self._active.add(key)
        try:
            result = self._resolve(module, scope, expr)
        finally:
            self._active.discard(key)
        memo[key] = result
        return result

    def resolve_qual(self, name: str) -> Sym | None:
        """Resolve an absolute dotted name: into the project when it names a project module."""
        memo = self._qual_memo
        if name in memo:
            return memo[name]
        memo[name] = None  # guards import cycles between modules re-exporting each other
        parts = name.split(".")
        result: Sym | None = None
        for i in range(len(parts), 0, -1):
            mod = self.module_name(".".join(parts[:i]))
            if mod is not None:
                sym: Sym | None = ("mod", mod)
                for attr in parts[i:]:
                    sym = self.attribute(sym, attr) if sym is not None else None
                result = sym
                break
        else:
            result = ("ext", self.catalogue.canonical(name))
        memo[name] = result
        return result

    def module_name(self, name: str) -> str | None:
        """The project module imported as ``name``, or None."""
        if name in self.modules:
            return name
        return self.aliases.get(name)

    # -- resolution -----------------------------------------------------------------------------

    def _resolve(self, module: str, scope: str | None, expr: Any) -> Sym | None:
        kind = expr[0]
        if kind == "n":
            return self.lookup(module, scope, expr[1])
        if kind == "a":
            base = self.resolve(module, scope, expr[1])
            return None if base is None else self.attribute(base, expr[2])
        if kind == "c":
            callee = self.resolve(module, scope, expr[1])
            return None if callee is None else self.call_result(callee)
        if kind == "i":
            return self.instance_of(self.resolve(module, scope, expr[1]))
        if kind == "q":
            return self.resolve_qual(expr[1])
        if kind == "f":
            return ("func", module, expr[1])
        if kind == "k":
            return ("class", module, expr[1])
        if kind in ("self", "cls", "super"):
            cls = self._enclosing_class(module, scope)
            if cls is None:
                return None
            return ({"self": "inst", "cls": "class", "super": "super"}[kind], module, cls)
        if kind == "decl":
            return self.resolve(module, scope, expr[1])
        if kind == "scoped":
            return self.resolve(module, expr[1], expr[2])
        if kind == "item":
            base = self.resolve(module, scope, expr[1])
            if base is not None and base[0] == "exttuple" and expr[2] < len(base[1]):
                return ("extinst", base[1][expr[2]])
            return None
        if kind == "div":
            left = self.resolve(module, scope, expr[1])
            if left is not None and left[0] == "extinst" and left[1].startswith("pathlib."):
                return left
            return None
        return None

    def lookup(self, module: str, scope: str | None, name: str) -> Sym | None:
        """A bare name: function scopes outwards, then the module, then builtins."""
        summary = self.modules[module]
        functions = summary["functions"]
        while scope is not None:
            fn = functions.get(scope)
            if fn is None:
                break
            if name in fn["params"]:
                ptype = fn["ptypes"].get(name)
                return None if ptype is None else self.resolve(module, scope, ptype)
            value = fn["locals"].get(name)
            if value is not None:
                return self.resolve(module, scope, value)
            scope = fn["parent"]
        return self.module_member(module, name) or (
            ("ext", f"builtins.{name}") if name in _BUILTINS else None
        )

    def module_member(self, module: str, name: str) -> Sym | None:
        summary = self.modules[module]
        value = summary["symbols"].get(name)
        if value is not None:
            return self.resolve(module, None, value)
        sub = self.module_name(f"{module}.{name}")
        if sub is not None:
            return ("mod", sub)
        for star in summary["star"]:
            # Only project modules: what an external ``import *`` binds is unknown here.
            if star in self.modules and star != module:
                found = self.module_member(star, name)
                if found is not None:
                    return found
        return None

    def attribute(self, base: Sym, attr: str) -> Sym | None:
        kind = base[0]
        if kind == "mod":
            return self.module_member(base[1], attr)
        if kind in ("class", "inst", "super"):
            return self.class_member(
                base[1], base[2], attr, instance=kind != "class", skip_self=kind == "super"
            )
        if kind == "ext":
            return ("ext", self.catalogue.canonical(f"{base[1]}.{attr}"))
        if kind == "extinst":
            member = f"{base[1]}.{attr}"
            typed = self.catalogue.attributes.get(member)
            if typed is not None:
                return ("extinst", self.catalogue.canonical(typed))
            return ("ext", member)
        return None

    def class_member(
        self, module: str, cls: str, attr: str, *, instance: bool, skip_self: bool = False
    ) -> Sym | None:
        for mod, qual, ext in self.mro(module, cls):
            if skip_self and mod == module and qual == cls:
                continue
            if ext is not None:
                return self.attribute(("extinst", ext) if instance else ("ext", ext), attr)
            info = self.modules[mod]["classes"][qual]
            method = info["methods"].get(attr)
            if method is not None:
                fn = self.modules[mod]["functions"].get(method)
                if instance and fn is not None and fn["kind"] == "property":
                    return self.call_result(("func", mod, method))
                return ("func", mod, method)
            value = info["attrs"].get(attr)
            if value is not None:
                return self.resolve(mod, info["scope"], value)
            nested = f"{qual}.{attr}"
            if nested in self.modules[mod]["classes"]:
                return ("class", mod, nested)
        return None

    def mro(self, module: str, cls: str) -> list[tuple[str, str, str | None]]:
        """Linearised bases: project classes as (module, qual, None), an external base as (.., .., name)."""
        cached = self._mro_memo.get((module, cls))
        if cached is not None:
            return cached
        order: list[tuple[str, str, str | None]] = []
        seen: set[tuple[str, str]] = set()
        stack = [(module, cls)]
        while stack and len(order) < 64:
            mod, qual = stack.pop(0)
            if (mod, qual) in seen:
                continue
            seen.add((mod, qual))
            info = self.modules[mod]["classes"].get(qual)
            if info is None:
                continue
            order.append((mod, qual, None))
            for base_expr in info["bases"]:
                base = self.resolve(mod, info["scope"], base_expr)
                if base is None:
                    continue
                if base[0] == "class":
                    stack.append((base[1], base[2]))
                elif base[0] == "ext" and base[1] not in ("builtins.object", "typing.Generic"):
                    order.append(("", "", base[1]))
        self._mro_memo[(module, cls)] = order
        return order

    def call_result(self, callee: Sym) -> Sym | None:
        kind = callee[0]
        if kind == "class":
            return ("inst", callee[1], callee[2])
        if kind == "func":
            fn = self.modules[callee[1]]["functions"].get(callee[2])
            if fn is None or fn["returns"] is None:
                return None
            return self.resolve(callee[1], callee[2], fn["returns"])
        if kind == "inst":
            call = self.class_member(callee[1], callee[2], "__call__", instance=True)
            return self.call_result(call) if call is not None and call[0] == "func" else None
        if kind == "ext":
            name = callee[1]
            typed = self.catalogue.returns.get(name)
            if typed is not None:
                if typed.startswith("("):  # a tuple: "(asyncio.StreamReader, asyncio.StreamWriter)"
                    items = typed.strip("()").split(",")
                    return ("exttuple", tuple(self.catalogue.canonical(t.strip()) for t in items))
                return ("extinst", self.catalogue.canonical(typed))
            if name.rpartition(".")[2][:1].isupper():
                return ("extinst", name)
            return None
        if kind == "extinst":
            typed = self.catalogue.returns.get(f"{callee[1]}.__call__")
            return ("extinst", self.catalogue.canonical(typed)) if typed is not None else None
        return None

    def instance_of(self, sym: Sym | None) -> Sym | None:
        if sym is None:
            return None
        if sym[0] in ("inst", "extinst"):
            return sym  # a type alias, bound to the instance type it names
        if sym[0] == "class":
            return ("inst", sym[1], sym[2])
        if sym[0] == "ext":
            return ("extinst", sym[1])
        return None

    def _enclosing_class(self, module: str, scope: str | None) -> str | None:
        functions = self.modules[module]["functions"]
        while scope is not None:
            fn = functions.get(scope)
            if fn is None:
                return None
            if fn["cls"] is not None:
                return str(fn["cls"])
            scope = fn["parent"]
        return None
