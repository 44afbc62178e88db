"""Module text builder: imports, body lines with tracked sites, local names, expressions."""

from __future__ import annotations

import random
import sys

from .spec import PACKAGE, Fn, Site
from .words import SIMPLE_TYPES, literal

STDLIB = frozenset(sys.stdlib_module_names)


class Imports:
    def __init__(self) -> None:
        self._plain: set[str] = set()
        self._from: dict[str, set[str]] = {}

    def plain(self, module: str, alias: str | None = None) -> None:
        self._plain.add(module if alias is None else f"{module} as {alias}")

    def from_(self, module: str, name: str, alias: str | None = None) -> None:
        self._from.setdefault(module, set()).add(name if alias is None else f"{name} as {alias}")

    @staticmethod
    def _section(module: str) -> int:
        top = module.split(".")[0]
        if module == "__future__":
            return 0
        if top in STDLIB:
            return 1
        if top == PACKAGE:
            return 3
        return 2

    def render(self) -> list[str]:
        sections: dict[int, list[str]] = {0: [], 1: [], 2: [], 3: []}
        for spec in sorted(self._plain):
            sections[self._section(spec.split()[0])].append(f"import {spec}")
        for module in sorted(self._from):
            names = sorted(self._from[module], key=lambda n: (n.lower(), n))
            line = f"from {module} import {', '.join(names)}"
            if len(line) > 100:
                inner = [f"    {n}," for n in names]
                sections[self._section(module)].extend([f"from {module} import (", *inner, ")"])
            else:
                sections[self._section(module)].append(line)
        out: list[str] = []
        for key in (0, 1, 2, 3):
            if sections[key]:
                if out:
                    out.append("")
                out.extend(sections[key])
        return out


class Module:
    def __init__(self, dotted: str, doc: str, *, package: bool = False) -> None:
        self.dotted = dotted
        self.path = dotted.replace(".", "/") + ("/__init__.py" if package else ".py")
        self.doc = doc
        self.imports = Imports()
        self.body: list[str] = []
        self.sites: list[Site] = []
        self.logger = False
        self.future = True
        self.bound: dict[str, str] = {}  # name bound by a from-import -> its module
        self.styles: dict[str, str] = {}  # module -> "names" | "module"

    def emit(self, text: str = "", indent: int = 0) -> int:
        self.body.append("    " * indent + text if text else "")
        return len(self.body)

    def block(self, text: str, indent: int = 0) -> None:
        for raw in text.strip("\n").splitlines():
            self.emit(raw.rstrip(), indent)

    def gap(self) -> None:
        if self.body:
            self.emit()
            self.emit()

    def site(self, line: int) -> Site:
        s = Site(self.path, line)
        self.sites.append(s)
        return s

    def use_logger(self) -> None:
        self.logger = True
        self.imports.plain("logging")

    def ref(self, fn: Fn, rng: random.Random) -> str:
        """Name to call ``fn`` by from this module, adding the import it needs."""
        if fn.module == self.dotted:
            return fn.name
        pkg, leaf = fn.module.rsplit(".", 1)
        style = self.styles.get(fn.module)
        if style is None:
            if pkg.endswith(".services"):
                style = "module" if rng.random() < 0.75 else "names"
            else:
                style = "names" if rng.random() < 0.6 else "module"
            self.styles[fn.module] = style
        if style == "names" and self.bound.get(fn.name, fn.module) == fn.module:
            self.imports.from_(fn.module, fn.name)
            self.bound[fn.name] = fn.module
            return fn.name
        suffix = "service" if pkg.endswith(".services") else "utils"
        alias = f"{leaf}_{suffix}"
        self.imports.from_(pkg, leaf, alias)
        return f"{alias}.{fn.name}"

    def render(self) -> str:
        header = [f'"""{self.doc}"""', ""]
        if self.future:
            self.imports.from_("__future__", "annotations")
        imports = self.imports.render()
        if imports:
            header += [*imports, ""]
        if self.logger:
            header += ["logger = logging.getLogger(__name__)", ""]
        body = list(self.body)
        while body and not body[0]:
            body.pop(0)
        lead = 0
        if body:
            # two blank lines between the header and a top-level def or class
            if body[0].startswith(("def ", "async def ", "class ", "@")):
                header.append("")
            lead = len(self.body) - len(body)
        offset = len(header) - lead
        for s in self.sites:
            s.line += offset
        while body and not body[-1]:
            body.pop()
        return "\n".join(header + body) + "\n"


class Scope:
    def __init__(self, params: list[tuple[str, str, str | None]]) -> None:
        self.by_type: dict[str, list[str]] = {}
        self.used: set[str] = set()
        for name, typ, _ in params:
            self.add(name, typ)

    def add(self, name: str, typ: str) -> None:
        self.used.add(name)
        self.by_type.setdefault(typ, []).append(name)

    def fresh(self, base: str, typ: str) -> str:
        name, n = base, 2
        while name in self.used:
            name, n = f"{base}_{n}", n + 1
        self.add(name, typ)
        return name

    def get(self, rng: random.Random, typ: str) -> str | None:
        names = self.by_type.get(typ)
        return rng.choice(names) if names else None


class Expressions:
    """Arguments, signatures and return expressions, drawn from the generator's rng."""

    rng: random.Random

    def arg(self, scope: Scope, typ: str, hint: str = "") -> str:
        var = scope.get(self.rng, typ)
        if var is not None and (self.rng.random() < 0.8 or typ not in SIMPLE_TYPES):
            return var
        return literal(self.rng, typ, hint)

    def call_args(self, scope: Scope, fn: Fn, *, positional_only: bool = False) -> list[str]:
        args: list[str] = []
        for name, typ, default in fn.params:
            if default is not None:
                if positional_only or self.rng.random() < 0.6:
                    continue
                args.append(f"{name}={self.arg(scope, typ, name)}")
            else:
                args.append(self.arg(scope, typ, name))
        return args

    @staticmethod
    def signature(prefix: str, params: list[str], returns: str, indent: int = 0) -> list[str]:
        head = f"{prefix}({', '.join(params)}) -> {returns}:"
        if len(head) + 4 * indent <= 100:
            return [head]
        return [f"{prefix}(", *[f"    {p}," for p in params], f") -> {returns}:"]

    @staticmethod
    def uses_any(*types: str) -> bool:
        return any("Any" in t for t in types)

    def render_params(self, mod: Module, params: list[tuple[str, str, str | None]]) -> list[str]:
        out: list[str] = []
        for name, typ, default in params:
            if "Any" in typ:
                mod.imports.from_("typing", "Any")
            out.append(f"{name}: {typ}" + (f" = {default}" if default is not None else ""))
        return out

    def return_expr(self, scope: Scope, typ: str, noun: str) -> str:
        var = scope.get(self.rng, typ)
        if var is not None:
            return var
        if typ == "dict[str, Any]":
            parts = [f'"kind": "{noun}"']
            for t, key in (
                ("int", "id"),
                ("str", "label"),
                ("float", "score"),
                ("list[int]", "values"),
            ):
                v = scope.get(self.rng, t)
                if v is not None:
                    parts.append(f'"{key}": {v}')
            return "{" + ", ".join(parts) + "}"
        if typ == "str":
            return f'"{noun}"'
        if typ == "bool":
            v = scope.get(self.rng, "int") or scope.get(self.rng, "list[int]")
            return f"bool({v})" if v else "True"
        return literal(self.rng, typ)
