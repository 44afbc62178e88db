#!/usr/bin/env python3
"""Benchmark: how fast ``loopsafe check`` is on a ~100,000-line FastAPI codebase.

The script first generates, deterministically from a seed, a synthetic but realistic FastAPI
project (routers, services, repositories, schemas, models, ``deps.py``, ``clients.py``, ``core/``,
``utils/``) with blocking mistakes planted at a known rate and a lot of correct async code around
them. It then times, each as a subprocess on the same tree:

* ``loopsafe check TREE`` cold (``TREE/.loopsafe_cache`` deleted first) and warm (run again);
* ``ruff check --select ASYNC --no-cache TREE`` and ruff again with its cache;
* ``flake8 --select ASYNC TREE`` (the flake8-async plugin).

For each it reports the median wall time over ``--repeat`` runs, the peak RSS, and what it printed,
matched against the planted mistakes. ``--write-docs`` updates the ``## check speed`` section of
``docs/benchmarks.md``.

Run it from the repository root with the project's virtualenv::

    python benchmarks/check_speed.py --write-docs

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
SECTION_TITLE = "## check speed"
TREE_MARKER = ".loopsafe-bench-tree"
PACKAGE = "app"
STDLIB = frozenset(sys.stdlib_module_names)

TARGET_COLD_S = 3.0
TARGET_WARM_S = 0.3
TARGET_RSS_MB = 500.0

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

# fmt: off
NOUNS = [
    "user", "order", "invoice", "product", "payment", "shipment", "customer", "account",
    "report", "notification", "subscription", "inventory", "warehouse", "coupon", "review",
    "ticket", "audit_log", "webhook", "export", "catalog", "tenant", "team", "project", "task",
    "comment", "attachment", "device", "location", "message", "refund", "discount", "supplier",
    "contract", "quote", "lead", "campaign", "survey", "feedback", "booking", "room", "event",
    "venue", "course", "lesson", "enrollment", "grade", "vehicle", "route", "driver", "delivery",
    "parcel", "carrier", "claim", "policy", "member", "role", "permission", "api_key",
    "integration", "schedule", "shift", "timesheet", "expense", "budget", "ledger",
    "transaction", "wallet", "transfer", "card", "merchant", "store", "cart", "wishlist", "price",
    "tax_rate", "currency", "region", "country", "language", "article", "tag", "media",
    "playlist", "album", "track", "artist", "license", "asset", "job", "batch", "pipeline",
    "dataset", "metric", "alert", "incident", "deployment", "release", "feature_flag",
    "experiment", "segment", "cohort", "profile", "preference", "consent", "document",
    "template", "signature", "folder", "share", "invite", "payout", "dispute", "promotion",
]
# fmt: on

# fmt: off
UTIL_THEMES = [
    "text", "dates", "files", "http", "retry", "pagination", "crypto", "formatting", "templates",
    "storage", "email", "csv_export", "pdf", "images", "geo", "money", "validation", "ids",
    "cache_keys", "flags", "metrics", "tracing", "rate_limit", "shell", "archive", "uploads",
    "signing", "serialization", "locale", "backup", "reports", "queues", "search", "thumbnails",
    "sitemaps", "markdown", "barcodes", "phone", "addresses", "diffing",
]
# fmt: on

# fmt: off
PURE_VERBS = [
    "normalize", "format", "compute", "build", "parse", "validate", "merge", "summarize",
    "serialize", "score", "render", "clean", "split", "group", "rank", "filter", "coerce",
    "mask", "diff", "estimate", "classify", "collapse", "dedupe", "flatten",
]
# fmt: on
# fmt: off
BLOCK_VERBS = [
    "fetch", "download", "load", "read", "sync", "export", "push", "publish", "upload",
    "archive", "poll", "import", "refresh", "reconcile", "backfill", "snapshot", "notify",
    "dispatch", "generate", "persist", "mirror", "replicate",
]
# fmt: on
# fmt: off
ASYNC_VERBS = [
    "get", "load", "fetch", "refresh", "sync", "collect", "resolve", "process", "handle",
    "enrich", "prepare", "finalize", "dispatch", "schedule", "check", "verify", "aggregate",
    "stream", "warm", "apply",
]
# fmt: on
# fmt: off
OBJS = [
    "payload", "summary", "totals", "labels", "snapshot", "report", "metadata", "history",
    "status", "preview", "digest", "manifest", "batch", "feed", "rates", "records", "details",
    "stats", "settings_view", "overview", "changes", "checksum", "quota", "usage", "timeline",
]
# fmt: on
# fmt: off
WORDS = [
    "primary", "default", "archive", "pending", "nightly", "eu-west", "internal", "partner",
    "legacy", "beta", "mobile", "web", "batch", "priority", "standard",
]
# fmt: on

PARAM_SHAPES: list[list[tuple[str, str, str | None]]] = [
    [("item_id", "int", None)],
    [("name", "str", None)],
    [("payload", "dict[str, Any]", None)],
    [("values", "list[int]", None)],
    [("item_id", "int", None), ("payload", "dict[str, Any]", None)],
    [("name", "str", None), ("limit", "int", "10")],
    [("path", "str", None)],
    [("url", "str", None), ("payload", "dict[str, Any]", None)],
    [("values", "list[int]", None), ("factor", "float", "1.0")],
    [("item_id", "int", None), ("name", "str", None)],
    [],
]
SIMPLE_TYPES = frozenset({"int", "str", "float", "bool", "dict[str, Any]", "list[int]"})
RETURN_TYPES = ["str", "int", "float", "bool", "dict[str, Any]", "list[int]", "None"]

# Field specs for ORM models and schemas: name, python type, column type, sqlalchemy names.
FIELD_POOL: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("title", "str", "String(200)", ("String",)),
    ("description", "str | None", "Text, nullable=True", ("Text",)),
    ("status", "str", 'String(32), default="active"', ("String",)),
    ("email", "str", "String(255), index=True", ("String",)),
    ("amount", "Decimal", "Numeric(12, 2)", ("Numeric",)),
    ("quantity", "int", "Integer, default=0", ("Integer",)),
    ("is_active", "bool", "Boolean, default=True", ("Boolean",)),
    ("priority", "int", "Integer, default=0", ("Integer",)),
    ("external_ref", "str | None", "String(64), nullable=True", ("String",)),
    ("notes", "str | None", "Text, nullable=True", ("Text",)),
    ("score", "float", "Float, default=0.0", ("Float",)),
    ("tenant_id", "int", "Integer, index=True", ("Integer",)),
    ("expires_at", "datetime | None", "DateTime(timezone=True), nullable=True", ("DateTime",)),
    ("code", "str", "String(40), unique=True", ("String",)),
    ("country_code", "str", "String(2)", ("String",)),
    ("currency", "str", 'String(3), default="EUR"', ("String",)),
    ("version", "int", "Integer, default=1", ("Integer",)),
]

# Planted mistakes: kind -> weight. "slot" restricts where a kind can be planted.
MISTAKE_WEIGHTS: dict[str, int] = {
    "sleep": 10,
    "requests": 9,
    "httpx_sync": 2,
    "urlopen": 2,
    "session_http": 5,
    "open": 10,
    "subprocess": 4,
    "upload_file": 3,
    "sync_db_param": 10,
    "sync_db_repo": 9,
    "sync_db_sessionlocal": 5,
    "method_chain": 3,
    "chain": 28,
}
ROUTE_ONLY = frozenset({"upload_file", "sync_db_param", "sync_db_repo"})
CLASS_ONLY = frozenset({"method_chain"})
LEAF_KINDS = ["sleep", "requests", "session_http", "open", "open_write", "subprocess", "db"]


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def singular(word: str) -> str:
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 4:
        return word[:-1]
    return word


def plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun == "media":
        return noun
    return noun + "s"


# --------------------------------------------------------------------------------------------
# Plan model
# --------------------------------------------------------------------------------------------


@dataclass
class Site:
    """A line in a generated file (line numbers are fixed up once the module header is known)."""

    path: str
    line: int


@dataclass(eq=False)
class Fn:
    module: str
    name: str
    is_async: bool
    params: list[tuple[str, str, str | None]]
    returns: str
    role: str  # pure | mid | leaf | db | repo | async | route | method
    leaf_kind: str | None = None
    callees: list[Fn] = field(default_factory=list)
    blocks: bool = False
    depth: int = 0
    owner: str | None = None  # class name for methods
    leaf_site: Site | None = None  # the direct blocking call (leaf) or the blocking call-out (mid)
    order: tuple[int, int] = (0, 0)  # (layer, index): a function may only call earlier layers
    mistake: str | None = None  # planted kind, async functions only
    target: Fn | None = None  # blocking callee for chain-like planted mistakes
    domain: Domain | None = None


@dataclass(eq=False)
class Domain:
    index: int
    name: str
    plural: str
    cls: str
    fields: list[tuple[str, str, str, tuple[str, ...]]]
    repo: list[Fn] = field(default_factory=list)
    service_sync: list[Fn] = field(default_factory=list)
    service_db: list[Fn] = field(default_factory=list)
    service_async: list[Fn] = field(default_factory=list)
    service_class: list[Fn] = field(default_factory=list)
    routes: list[Fn] = field(default_factory=list)


@dataclass(eq=False)
class UtilModule:
    index: int
    theme: str
    dotted: str
    sync: list[Fn] = field(default_factory=list)
    async_fns: list[Fn] = field(default_factory=list)


@dataclass
class Planted:
    kind: str
    function: str
    site: Site
    depth: int
    path_sites: list[Site] = field(default_factory=list)  # call-outs along the chain, then leaf
    extra: list[Site] = field(default_factory=list)  # other lines the mistake's statements span

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "function": self.function,
            "path": self.site.path,
            "line": self.site.line,
            "depth": self.depth,
            "chain": [[s.path, s.line] for s in self.path_sites],
            "extra": [s.line for s in self.extra],
        }


@dataclass
class Decoy:
    kind: str
    site: Site


# --------------------------------------------------------------------------------------------
# Module text builder
# --------------------------------------------------------------------------------------------


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


def literal(rng: random.Random, typ: str, hint: str = "") -> str:
    if typ == "int":
        return str(rng.randint(1, 250))
    if typ == "float":
        return rng.choice(["0.1", "0.25", "0.5", "1.5", "2.0"])
    if typ == "bool":
        return rng.choice(["True", "False"])
    if typ == "dict[str, Any]":
        return f'{{"source": "{rng.choice(WORDS)}"}}'
    if typ == "list[int]":
        return "[" + ", ".join(str(rng.randint(1, 99)) for _ in range(rng.randint(2, 4))) + "]"
    if hint == "url":
        return f'"https://api.example.com/v1/{rng.choice(WORDS)}"'
    if hint == "path":
        return f'"/var/lib/app/{rng.choice(WORDS)}.json"'
    return f'"{rng.choice(WORDS)}"'


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------


class Generator:
    def __init__(self, seed: int, domains: int, mistakes: int) -> None:
        self.rng = random.Random(seed)
        self.n_domains = domains
        self.n_mistakes = mistakes
        self.domains: list[Domain] = []
        self.utils: list[UtilModule] = []
        self.planted: list[Planted] = []
        self.decoys: list[Decoy] = []
        self.modules: list[Module] = []
        self.taken: dict[str, set[str]] = {}

    # ---- planning -------------------------------------------------------------------------

    def _name(self, module: str, parts: list[list[str]], fallback: str) -> str:
        taken = self.taken.setdefault(module, set())
        for _ in range(20):
            name = "_".join(self.rng.choice(p) for p in parts)
            if name not in taken:
                taken.add(name)
                return name
        n = 2
        while f"{fallback}_{n}" in taken:
            n += 1
        taken.add(f"{fallback}_{n}")
        return f"{fallback}_{n}"

    def _sync_fn(self, module: str, noun: str, role: str, leaf_kind: str | None = None) -> Fn:
        verbs = BLOCK_VERBS if role in ("leaf", "mid") else PURE_VERBS
        name = self._name(module, [verbs, [noun], OBJS], f"{verbs[0]}_{noun}")
        params = list(self.rng.choice(PARAM_SHAPES))
        returns = self.rng.choice(RETURN_TYPES)
        if role == "pure" and returns == "None":
            returns = "dict[str, Any]"
        return Fn(module, name, False, params, returns, role, leaf_kind=leaf_kind)

    def _async_fn(self, module: str, noun: str, role: str = "async") -> Fn:
        name = self._name(module, [ASYNC_VERBS, [noun], OBJS], f"get_{noun}")
        params = list(self.rng.choice(PARAM_SHAPES))
        returns = self.rng.choice(["dict[str, Any]", "dict[str, Any]", "int", "list[int]", "str"])
        return Fn(module, name, True, params, returns, role)

    @staticmethod
    def _settle(fn: Fn) -> None:
        depths = [c.depth for c in fn.callees if c.blocks]
        if fn.leaf_kind is not None:
            fn.blocks, fn.depth = True, 1
        elif depths:
            fn.blocks, fn.depth = True, 1 + min(depths)

    def _pick_mid_callees(self, pool: list[Fn], blocking: bool) -> list[Fn]:
        calm = [f for f in pool if not f.blocks]
        chosen = self.rng.sample(calm, k=min(len(calm), self.rng.randint(1, 2)))
        if blocking:
            hot = [f for f in pool if f.blocks and f.role in ("leaf", "mid")]
            if hot:
                # prefer deeper callees a little, so that 4- and 5-deep chains exist
                deep = [f for f in hot if f.depth >= 2]
                source = deep if deep and self.rng.random() < 0.55 else hot
                chosen.insert(self.rng.randrange(len(chosen) + 1), self.rng.choice(source))
        return chosen

    def plan(self) -> None:
        rng = self.rng
        nouns = list(NOUNS)
        rng.shuffle(nouns)
        if nouns.index("user") >= self.n_domains:  # deps.py needs the user model
            nouns.remove("user")
            nouns.insert(rng.randrange(min(self.n_domains, len(nouns))), "user")
        while len(nouns) < self.n_domains:
            nouns += [f"{n}_v{len(nouns) // len(NOUNS) + 1}" for n in NOUNS]
        n_utils = max(8, min(len(UTIL_THEMES), self.n_domains // 4))
        themes = list(UTIL_THEMES)
        rng.shuffle(themes)

        # utils: pure helpers, blocking leaves, a few mids over earlier utils, async helpers
        util_pool: list[Fn] = []
        for k, theme in enumerate(themes[:n_utils]):
            um = UtilModule(k, theme, f"{PACKAGE}.utils.{theme}")
            noun = singular(theme)
            for _ in range(rng.randint(6, 9)):
                um.sync.append(self._sync_fn(um.dotted, noun, "pure"))
            for _ in range(rng.randint(1, 3)):
                fn = self._sync_fn(um.dotted, noun, "leaf", rng.choice(LEAF_KINDS))
                um.sync.append(fn)
            for f in um.sync:
                self._settle(f)
            for _ in range(rng.randint(0, 2)):
                pool = util_pool + um.sync
                fn = self._sync_fn(um.dotted, noun, "mid")
                fn.callees = self._pick_mid_callees(pool, rng.random() < 0.5)
                self._settle(fn)
                um.sync.append(fn)
            for _ in range(rng.randint(1, 2)):
                um.async_fns.append(self._async_fn(um.dotted, noun))
            for f in um.sync + um.async_fns:
                f.order = (0, k)
            util_pool += um.sync
            self.utils.append(um)

        service_pool: list[Fn] = []
        for i in range(self.n_domains):
            noun = nouns[i]
            fields = rng.sample(FIELD_POOL, k=rng.randint(4, 8))
            fields.sort(key=FIELD_POOL.index)
            d = Domain(
                i,
                noun,
                plural(noun),
                camel(noun),
                [("name", "str", "String(120)", ("String",)), *fields],
            )
            repo_mod = f"{PACKAGE}.repositories.{noun}"
            repo_methods: list[tuple[str, list[tuple[str, str, str | None]], str]] = [
                ("get", [("item_id", "int", None)], f"{d.cls} | None"),
                ("list", [("limit", "int", "50")], f"list[{d.cls}]"),
                ("count", [], "int"),
                ("search", [("term", "str", None)], f"list[{d.cls}]"),
                ("exists", [("item_id", "int", None)], "bool"),
            ]
            for mname, params, returns in repo_methods:
                fn = Fn(
                    repo_mod,
                    mname,
                    False,
                    params,
                    returns,
                    "repo",
                    leaf_kind="db",
                    owner=f"{d.cls}Repository",
                )
                fn.domain = d
                self._settle(fn)
                d.repo.append(fn)
            svc = f"{PACKAGE}.services.{noun}"
            for _ in range(rng.randint(4, 6)):
                fn = self._sync_fn(svc, noun, "pure")
                d.service_sync.append(fn)
            for _ in range(rng.randint(1, 2)):
                name = self._name(
                    svc,
                    [
                        ["list", "count", "find", "load"],
                        ["recent", "stale", "open", "flagged"],
                        [d.plural],
                    ],
                    f"load_{d.plural}",
                )
                fn = Fn(
                    svc,
                    name,
                    False,
                    [("db", "Session", None), ("limit", "int", "20")],
                    "dict[str, Any]",
                    "db",
                )
                fn.callees = [rng.choice(d.repo)]
                fn.domain = d
                self._settle(fn)
                d.service_db.append(fn)
            pool = util_pool + service_pool
            for _ in range(rng.randint(3, 5)):
                fn = self._sync_fn(svc, noun, "mid")
                fn.callees = self._pick_mid_callees(pool, rng.random() < 0.45)
                self._settle(fn)
                d.service_sync.append(fn)
            for _ in range(rng.randint(7, 10)):
                fn = self._async_fn(svc, noun)
                fn.domain = d
                d.service_async.append(fn)
            if rng.random() < 0.35:
                for mname in ("get_or_404", "rename", "overrides"):
                    fn = Fn(
                        svc, mname, True, [], "dict[str, Any]", "method", owner=f"{d.cls}Service"
                    )
                    fn.domain = d
                    d.service_class.append(fn)
            for f in d.repo + d.service_sync + d.service_db + d.service_async + d.service_class:
                f.order = (1, i)
            service_pool += d.service_sync
            self.domains.append(d)

        for d in self.domains:
            self._plan_routes(d)
        self._plan_mistakes()

    def _plan_routes(self, d: Domain) -> None:
        rng = self.rng
        mod = f"{PACKAGE}.routers.{d.name}"
        crud = [
            ("get", "", f"list_{d.plural}"),
            ("get", "/{item_id}", f"get_{d.name}"),
            ("post", "", f"create_{d.name}"),
            ("patch", "/{item_id}", f"update_{d.name}"),
            ("delete", "/{item_id}", f"delete_{d.name}"),
        ]
        for method, path, name in crud:
            fn = Fn(mod, name, rng.random() < 0.7, [], "", "route", order=(2, d.index))
            fn.domain = d
            fn.owner = f"{method} {path}"
            fn.leaf_kind = None
            fn.params = [("crud", method, path)]
            self.taken.setdefault(mod, set()).add(name)
            d.routes.append(fn)
        actions = [
            "export",
            "sync",
            "stats",
            "refresh",
            "preview",
            "report",
            "archive",
            "import",
            "reindex",
            "webhook",
            "upload",
            "history",
            "notify",
            "summary",
        ]
        for action in rng.sample(actions, k=rng.randint(8, 11)):
            name = f"{action}_{d.plural}" if rng.random() < 0.5 else f"{action}_{d.name}"
            if name in self.taken.setdefault(mod, set()):
                continue
            self.taken[mod].add(name)
            is_async = rng.random() < 0.72 or action in ("upload", "webhook")
            fn = Fn(
                mod,
                name,
                is_async,
                [("action", action, None)],
                "dict[str, Any]",
                "route",
                order=(2, d.index),
            )
            fn.domain = d
            fn.owner = (
                f"post /{action}"
                if action in ("upload", "webhook", "import", "notify", "sync")
                else f"get /{action}"
            )
            d.routes.append(fn)

    def _plan_mistakes(self) -> None:
        """Pick ``n_mistakes`` async functions and a planted mistake for each.

        The kind is drawn first (by ``MISTAKE_WEIGHTS``), then a free slot that can hold it.
        """
        rng = self.rng
        slots: list[Fn] = []
        for um in self.utils:
            slots += um.async_fns
        for d in self.domains:
            slots += d.service_async
            slots += [m for m in d.service_class if m.name == "overrides"]
            slots += [r for r in d.routes if r.is_async and r.params[0][0] == "action"]
        rng.shuffle(slots)
        hot: dict[int, list[Fn]] = {}
        for f in [f for um in self.utils for f in um.sync] + [
            f for d in self.domains for f in d.service_sync
        ]:
            if f.blocks:
                hot.setdefault(f.depth, []).append(f)

        def fits(kind: str, fn: Fn) -> bool:
            if fn.mistake is not None:
                return False
            if kind in CLASS_ONLY or fn.role == "method":
                return kind in CLASS_ONLY and fn.role == "method"
            if kind in ROUTE_ONLY and fn.role != "route":
                return False
            if kind == "upload_file":
                return fn.params[0][1] == "upload"
            if kind == "chain":
                return any(f.order <= fn.order for f in hot.get(1, []))
            return True

        kinds = list(MISTAKE_WEIGHTS)
        weights = [MISTAKE_WEIGHTS[k] for k in kinds]
        planted = 0
        while planted < min(self.n_mistakes, len(slots)):
            kind = rng.choices(kinds, weights)[0]
            start = rng.randrange(len(slots))
            fn = next((f for f in slots[start:] + slots[:start] if fits(kind, f)), None)
            if fn is None:
                continue
            fn.mistake = kind
            planted += 1
            if kind == "chain":
                want = rng.choices([1, 2, 3, 4, 5], [25, 25, 20, 15, 15])[0]
                visible = {k: [f for f in v if f.order <= fn.order] for k, v in hot.items()}
                depth = min((k for k, v in visible.items() if v), key=lambda x: abs(x - want))
                fn.target = rng.choice(visible[depth])
            elif kind == "sync_db_repo":
                dom = fn.domain
                assert dom is not None
                fn.target = rng.choice(dom.repo + dom.service_db)

    # ---- rendering helpers ----------------------------------------------------------------

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


class Body:
    """Writes statements of one function body into a module, tracking local names."""

    def __init__(
        self, gen: Generator, mod: Module, scope: Scope, indent: int, noun: str, is_async: bool
    ) -> None:
        self.gen = gen
        self.mod = mod
        self.scope = scope
        self.indent = indent
        self.noun = noun
        self.is_async = is_async
        self.rng = gen.rng

    def line(self, text: str, extra: int = 0) -> int:
        return self.mod.emit(text, self.indent + extra)

    def decoy(self, kind: str, line: int) -> None:
        self.gen.decoys.append(Decoy(kind, self.mod.site(line)))

    # ---- fillers usable in sync and async code ----

    def f_log(self) -> None:
        self.mod.use_logger()
        v = self.scope.get(self.rng, "int") or self.scope.get(self.rng, "str")
        if v:
            self.line(f'logger.debug("{self.noun}: handling %s", {v})')
        else:
            self.line(f'logger.debug("{self.noun}: start")')

    def f_dict(self) -> None:
        name = self.scope.fresh(
            self.rng.choice(["record", "context", "meta", "envelope"]), "dict[str, Any]"
        )
        i = self.gen.arg(self.scope, "int")
        s = self.gen.arg(self.scope, "str")
        self.line(f'{name} = {{"kind": "{self.noun}", "id": {i}, "source": {s}, "tags": []}}')

    def f_listcomp(self) -> None:
        src = self.scope.get(self.rng, "list[int]")
        if src is None:
            src = self.scope.fresh("values", "list[int]")
            self.line(f"{src} = list(range({self.rng.randint(3, 12)}))")
        name = self.scope.fresh(self.rng.choice(["filtered", "weights", "selected"]), "list[int]")
        self.line(
            f"{name} = [value * {self.rng.randint(2, 5)} for value in {src} if value > {self.rng.randint(0, 3)}]"
        )

    def f_guard(self) -> None:
        v = self.scope.get(self.rng, "str") or self.scope.get(self.rng, "list[int]")
        if v is None:
            self.f_fstr()
            return
        self.line(f"if not {v}:")
        self.line(f'raise ValueError("{self.noun}: {v} must not be empty")', 1)

    def f_arith(self) -> None:
        src = self.scope.get(self.rng, "list[int]")
        if src is not None:
            name = self.scope.fresh(self.rng.choice(["average", "ratio", "mean_value"]), "float")
            self.line(f"{name} = sum({src}) / max(len({src}), 1)")
        else:
            i = self.gen.arg(self.scope, "int")
            name = self.scope.fresh(self.rng.choice(["offset", "bucket", "shard"]), "int")
            self.line(
                f"{name} = ({i} - 1) * {self.rng.randint(10, 50)} % {self.rng.randint(7, 64)}"
            )

    def f_fstr(self) -> None:
        i = self.gen.arg(self.scope, "int")
        name = self.scope.fresh(self.rng.choice(["label", "slug", "key_name"]), "str")
        self.line(f'{name} = f"{self.noun}-{{{i}:06d}}"')

    def f_json(self) -> None:
        self.mod.imports.plain("json")
        d = self.gen.arg(self.scope, "dict[str, Any]")
        name = self.scope.fresh("encoded", "str")
        self.line(f"{name} = json.dumps({d}, sort_keys=True, default=str)")

    def f_hash(self) -> None:
        self.mod.imports.plain("hashlib")
        s = self.gen.arg(self.scope, "str")
        name = self.scope.fresh("digest", "str")
        self.line(f"{name} = hashlib.sha256({s}.encode()).hexdigest()")

    def f_loop(self) -> None:
        src = self.scope.get(self.rng, "list[int]") or literal(self.rng, "list[int]")
        self.mod.use_logger()
        self.line(f"for position, value in enumerate({src}):")
        self.line("if value < 0:", 1)
        self.line(f'logger.warning("{self.noun}: negative value at %d", position)', 2)
        self.line("break", 2)

    def f_timer(self) -> None:
        self.mod.imports.plain("time")
        name = self.scope.fresh("started", "float")
        self.line(f"{name} = time.monotonic()")
        self.decoy("time_monotonic", len(self.mod.body))

    def f_try(self) -> None:
        s = self.gen.arg(self.scope, "str")
        name = self.scope.fresh("parsed", "int")
        self.line("try:")
        self.line(f"{name} = int({s})", 1)
        self.line("except ValueError:")
        self.line(f"{name} = 0", 1)

    def f_now(self) -> None:
        self.mod.imports.from_("datetime", "UTC")
        self.mod.imports.from_("datetime", "datetime")
        name = self.scope.fresh("now", "datetime")
        self.line(f"{name} = datetime.now(UTC)")

    def filler(self) -> None:
        options: list[Callable[[], None]] = [
            self.f_log, self.f_dict, self.f_listcomp, self.f_guard, self.f_arith, self.f_fstr,
            self.f_json, self.f_hash, self.f_loop, self.f_timer, self.f_try, self.f_now,
        ]  # fmt: skip
        if self.is_async:
            options += [
                self.a_http,
                self.a_httpx,
                self.a_cache,
                self.a_retry,
                self.a_aiofiles,
                self.a_sleep,
            ]
        self.rng.choice(options)()

    # ---- async-only fillers (all correct) ----

    def a_http(self) -> None:
        self.mod.imports.from_(f"{PACKAGE}.clients", "http_client")
        i = self.gen.arg(self.scope, "int")
        resp = self.scope.fresh("response", "Response")
        ln = self.line(f'{resp} = await http_client.get(f"/{plural(self.noun)}/{{{i}}}")')
        self.decoy("async_http", ln)
        self.line(f"{resp}.raise_for_status()")
        name = self.scope.fresh("remote", "dict[str, Any]")
        self.line(f"{name} = {resp}.json()")

    def a_httpx(self) -> None:
        self.mod.imports.plain("httpx")
        self.mod.imports.from_(f"{PACKAGE}.core.config", "settings")
        d = self.gen.arg(self.scope, "dict[str, Any]")
        client = self.scope.fresh("client", "AsyncClient")
        reply = self.scope.fresh("reply", "Response")
        self.line(f"async with httpx.AsyncClient(timeout=5.0) as {client}:")
        ln = self.line(
            f'{reply} = await {client}.post(f"{{settings.api_base_url}}/{self.noun}/events", json={d})',
            1,
        )
        self.decoy("async_http", ln)
        self.line(f"{reply}.raise_for_status()", 1)

    def a_cache(self) -> None:
        self.mod.imports.from_(f"{PACKAGE}.clients", "cache")
        self.mod.use_logger()
        i = self.gen.arg(self.scope, "int")
        key = self.scope.fresh("cache_key", "str")
        self.line(f'{key} = f"{self.noun}:{{{i}}}"')
        hit = self.scope.fresh("cached", "bytes")
        ln = self.line(f"{hit} = await cache.get({key})")
        self.decoy("async_cache", ln)
        self.line(f"if {hit} is not None:")
        self.line(f'logger.debug("cache hit for %s", {key})', 1)

    def a_retry(self) -> None:
        self.mod.imports.plain("asyncio")
        self.mod.imports.plain("httpx")
        self.mod.imports.from_(f"{PACKAGE}.clients", "http_client")
        probe = self.scope.fresh("probe", "Response")
        self.line("for attempt in range(3):")
        self.line("try:", 1)
        self.line(f'{probe} = await http_client.get("/{self.noun}/health")', 2)
        self.line(f"{probe}.raise_for_status()", 2)
        self.line("break", 2)
        self.line("except httpx.HTTPError:", 1)
        ln = self.line("await asyncio.sleep(0.2 * (attempt + 1))", 2)
        self.decoy("asyncio_sleep", ln)

    def a_aiofiles(self) -> None:
        self.mod.imports.plain("aiofiles")
        p = self.gen.arg(self.scope, "str", "path")
        handle = self.scope.fresh("handle", "AsyncFile")
        content = self.scope.fresh("content", "str")
        ln = self.line(f'async with aiofiles.open({p}, encoding="utf-8") as {handle}:')
        self.decoy("aiofiles", ln)
        self.line(f"{content} = await {handle}.read()", 1)

    def a_sleep(self) -> None:
        self.mod.imports.plain("asyncio")
        ln = self.line(f"await asyncio.sleep({self.rng.choice(['0.05', '0.1', '0.25'])})")
        self.decoy("asyncio_sleep", ln)

    # ---- calls ----

    def var_for(self, fn: Fn) -> str:
        base = fn.name.rsplit("_", 1)[-1] if fn.role != "repo" else "found"
        if base in ("view", "usage", "stats", "changes", "quota"):
            base = "result"
        return base

    def call_sync(self, fn: Fn, decoy: str | None = None) -> int:
        ref = self.mod.ref(fn, self.rng)
        expr = f"{ref}({', '.join(self.gen.call_args(self.scope, fn))})"
        if fn.returns == "None":
            ln = self.line(expr)
        else:
            name = self.scope.fresh(self.var_for(fn), fn.returns)
            ln = self.line(f"{name} = {expr}")
        if decoy is not None:
            self.decoy(decoy, ln)
        return ln

    def await_async(self, fn: Fn) -> int:
        ref = self.mod.ref(fn, self.rng)
        args = ", ".join(self.gen.call_args(self.scope, fn))
        name = self.scope.fresh(self.var_for(fn), fn.returns)
        return self.line(f"{name} = await {ref}({args})")

    def offload(self, fn: Fn) -> int:
        ref = self.mod.ref(fn, self.rng)
        args = self.gen.call_args(self.scope, fn, positional_only=True)
        name = self.scope.fresh(self.var_for(fn), fn.returns)
        how = self.rng.choices(
            ["to_thread", "threadpool", "executor", "anyio", "nested"], [45, 25, 12, 8, 10]
        )[0]
        if how == "to_thread":
            self.mod.imports.plain("asyncio")
            ln = self.line(f"{name} = await asyncio.to_thread({', '.join([ref, *args])})")
        elif how == "threadpool":
            self.mod.imports.from_("starlette.concurrency", "run_in_threadpool")
            ln = self.line(f"{name} = await run_in_threadpool({', '.join([ref, *args])})")
        elif how == "executor":
            self.mod.imports.plain("asyncio")
            loop = self.scope.fresh("loop", "Loop")
            self.line(f"{loop} = asyncio.get_running_loop()")
            ln = self.line(
                f"{name} = await {loop}.run_in_executor(None, {', '.join([ref, *args])})"
            )
        elif how == "anyio":
            self.mod.imports.plain("anyio.to_thread")
            ln = self.line(f"{name} = await anyio.to_thread.run_sync({', '.join([ref, *args])})")
        else:
            self.mod.imports.plain("asyncio")
            inner = "_work" if "_work" not in self.scope.used else f"_work_{len(self.scope.used)}"
            self.scope.used.add(inner)
            ret = fn.returns if fn.returns != "None" else "None"
            if self.gen.uses_any(ret):
                self.mod.imports.from_("typing", "Any")
            self.line(f"def {inner}() -> {ret}:")
            call = self.mod.ref(fn, self.rng) + f"({', '.join(args)})"
            ln = self.line(f"return {call}" if ret != "None" else call, 1)
            self.decoy("offload_nested", ln)
            self.line("")
            ln = self.line(f"{name} = await asyncio.to_thread({inner})")
        self.decoy("offload", ln)
        return ln

    # ---- blocking statements: return the line of the blocking call ----

    def blocking(self, kind: str) -> int:
        rng = self.rng
        if kind == "sleep":
            self.mod.imports.plain("time")
            if rng.random() < 0.4:
                self.line(f"for attempt in range({rng.randint(2, 5)}):")
                self.line(
                    f'logger.info("{self.noun}: waiting for upstream, attempt %d", attempt)', 1
                )
                self.mod.use_logger()
                return self.line(f"time.sleep({rng.choice(['0.5', '1', '2'])} * (attempt + 1))", 1)
            return self.line(f"time.sleep({rng.choice(['0.2', '0.5', '1', '3'])})")
        if kind in ("requests", "httpx_sync", "urlopen", "session_http"):
            url = "url"
            if "url" not in self.scope.used:
                self.mod.imports.from_(f"{PACKAGE}.core.config", "settings")
                url = self.scope.fresh("endpoint", "str")
                self.line(
                    f'{url} = f"{{settings.api_base_url}}/{plural(self.noun)}/{rng.choice(OBJS)}"'
                )
            resp = self.scope.fresh("resp", "Response")
            if kind == "urlopen":
                self.mod.imports.plain("urllib.request")
                body = self.scope.fresh("raw", "bytes")
                ln = self.line(f"with urllib.request.urlopen({url}, timeout=10) as {resp}:")
                self.line(f"{body} = {resp}.read()", 1)
                return ln
            if kind == "requests":
                self.mod.imports.plain("requests")
                if rng.random() < 0.6:
                    ln = self.line(f"{resp} = requests.get({url}, timeout=10)")
                else:
                    d = self.gen.arg(self.scope, "dict[str, Any]")
                    ln = self.line(f"{resp} = requests.post({url}, json={d}, timeout=10)")
            elif kind == "httpx_sync":
                self.mod.imports.plain("httpx")
                ln = self.line(f"{resp} = httpx.get({url}, timeout=10.0)")
            else:
                self.mod.imports.from_(f"{PACKAGE}.clients", "legacy_http")
                ln = self.line(
                    f"{resp} = legacy_http.{rng.choice(['get', 'get', 'post'])}({url}, timeout=10)"
                )
            self.line(f"{resp}.raise_for_status()")
            data = self.scope.fresh("data", "dict[str, Any]")
            self.line(f"{data} = {resp}.json()")
            return ln
        if kind in ("open", "open_write"):
            p = "path"
            if "path" not in self.scope.used:
                self.mod.imports.from_(f"{PACKAGE}.core.config", "settings")
                p = self.scope.fresh("target", "str")
                self.line(f'{p} = f"{{settings.data_dir}}/{self.noun}/{rng.choice(OBJS)}.json"')
            fh = self.scope.fresh("fh", "IO")
            if kind == "open_write" or rng.random() < 0.25:
                self.mod.imports.plain("json")
                d = self.gen.arg(self.scope, "dict[str, Any]")
                ln = self.line(f'with open({p}, "w", encoding="utf-8") as {fh}:')
                self.line(f"json.dump({d}, {fh})", 1)
                return ln
            content = self.scope.fresh("content", "str")
            ln = self.line(f'with open({p}, encoding="utf-8") as {fh}:')
            self.line(f"{content} = {fh}.read()", 1)
            return ln
        if kind == "subprocess":
            self.mod.imports.plain("subprocess")
            cmd = rng.choice(
                [
                    '["pg_dump", "--schema-only", "app"]',
                    '["gzip", "-9", "/tmp/export.csv"]',
                    '["convert", "in.png", "out.webp"]',
                    '["git", "rev-parse", "HEAD"]',
                ]
            )
            done = self.scope.fresh("completed", "CompletedProcess")
            return self.line(f"{done} = subprocess.run({cmd}, check=True, capture_output=True)")
        if kind == "db":
            self.mod.imports.from_(f"{PACKAGE}.clients", "SessionLocal")
            self.mod.imports.from_("sqlalchemy", "text")
            sess = self.scope.fresh("db_session", "Session")
            total = self.scope.fresh("total", "int")
            self.line(f"with SessionLocal() as {sess}:")
            return self.line(
                f'{total} = {sess}.execute(text("SELECT count(*) FROM {plural(self.noun)}")).scalar_one()',
                1,
            )
        raise ValueError(kind)


def _fill(
    gen: Generator, body: Body, steps: list[Callable[[], object]], lo: int, hi: int
) -> list[Callable[[], object]]:
    for _ in range(gen.rng.randint(lo, hi)):
        steps.append(body.filler)
    return steps


class Renderer:
    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.rng = gen.rng

    # ---- sync helpers (utils and services) ----

    def sync_fn(self, mod: Module, fn: Fn, noun: str) -> None:
        gen = self.gen
        mod.gap()
        params = gen.render_params(mod, fn.params)
        if gen.uses_any(fn.returns):
            mod.imports.from_("typing", "Any")
        for ln in gen.signature(f"def {fn.name}", params, fn.returns):
            mod.emit(ln)
        mod.emit(f'"""{self.docline(fn, noun)}"""', 1)
        scope = Scope(fn.params)
        body = Body(gen, mod, scope, 1, noun, False)
        steps: list[Callable[[], object]] = _fill(gen, body, [], 2, 5)
        for callee in fn.callees:
            steps.insert(self.rng.randrange(len(steps) + 1), self._sync_call_step(body, fn, callee))
        if fn.leaf_kind is not None and fn.role == "leaf":
            steps.insert(self.rng.randrange(1, len(steps) + 1), self._leaf_step(body, fn))
        for step in steps:
            step()
        if fn.returns != "None":
            mod.emit(f"return {gen.return_expr(scope, fn.returns, noun)}", 1)

    def _sync_call_step(self, body: Body, fn: Fn, callee: Fn) -> Callable[[], object]:
        def step() -> None:
            ln = body.call_sync(callee)
            if callee.blocks and fn.leaf_site is None:
                fn.leaf_site = body.mod.site(ln)
            elif not callee.blocks:
                body.decoy("sync_call_in_sync", ln)

        return step

    def _leaf_step(self, body: Body, fn: Fn) -> Callable[[], object]:
        def step() -> None:
            assert fn.leaf_kind is not None
            if fn.leaf_kind == "sleep":
                body.mod.use_logger()
            fn.leaf_site = body.mod.site(body.blocking(fn.leaf_kind))

        return step

    @staticmethod
    def docline(fn: Fn, noun: str) -> str:
        words = fn.name.replace("_", " ")
        return f"{words[0].upper()}{words[1:]} for the {noun.replace('_', ' ')} domain."

    # ---- async functions: correct code plus an optional planted mistake ----

    def async_body(
        self,
        mod: Module,
        fn: Fn,
        body: Body,
        sync_pool: list[Fn],
        async_pool: list[Fn],
        *,
        session: str | None,
        db: str | None,
        repo_cls: str | None,
        upload: str | None = None,
        lo: int = 3,
        hi: int = 6,
    ) -> None:
        gen, rng = self.gen, self.rng
        steps: list[Callable[[], object]] = _fill(gen, body, [], lo, hi)
        calm = [f for f in sync_pool if not f.blocks]
        hot = [f for f in sync_pool if f.blocks and f.role != "db"]
        for callee in rng.sample(calm, k=min(len(calm), rng.randint(0, 2))):
            steps.append(partial(body.call_sync, callee, "sync_call_in_async"))
        async_pool = [
            f
            for f in async_pool
            if all(t in SIMPLE_TYPES or t in body.scope.by_type for _, t, _ in f.params)
        ]
        if async_pool:
            for callee in rng.sample(async_pool, k=min(len(async_pool), rng.randint(0, 2))):
                steps.append(partial(body.await_async, callee))
        if hot and rng.random() < 0.35:
            victim = rng.choice(hot)
            steps.append(lambda: body.offload(victim))
        if session is not None and repo_cls is not None and rng.random() < 0.7:
            steps.append(lambda: self._async_repo_step(mod, body, session, repo_cls))
        rng.shuffle(steps)
        if fn.mistake is not None:
            steps.insert(
                rng.randrange(len(steps) + 1), lambda: self._mistake_step(mod, fn, body, db, upload)
            )
        for step in steps:
            step()

    def _async_repo_step(self, mod: Module, body: Body, session: str, repo_cls: str) -> None:
        mod.imports.from_(
            mod.dotted.replace(".services.", ".repositories.").replace(
                ".routers.", ".repositories."
            ),
            f"Async{repo_cls}",
        )
        repo = body.scope.fresh("repo", "Repo")
        body.line(f"{repo} = Async{repo_cls}({session})")
        i = self.gen.arg(body.scope, "int")
        found = body.scope.fresh("found", "Model")
        ln = body.line(f"{found} = await {repo}.{self.rng.choice(['get', 'exists'])}({i})")
        body.decoy("async_db", ln)

    def _mistake_step(
        self, mod: Module, fn: Fn, body: Body, db: str | None, upload: str | None
    ) -> None:
        kind = fn.mistake
        assert kind is not None
        qual = f"{fn.module}.{fn.owner + '.' if fn.owner and fn.role == 'method' else ''}{fn.name}"
        chain: list[Site] = []
        depth = 0
        first = len(mod.body) + 1
        if kind in (
            "sleep",
            "requests",
            "httpx_sync",
            "urlopen",
            "session_http",
            "open",
            "subprocess",
        ):
            if kind == "sleep":
                mod.use_logger()
            ln = body.blocking(kind)
        elif kind == "sync_db_sessionlocal":
            d = fn.domain
            noun = d.name if d else body.noun
            cls = d.cls if d else None
            mod.imports.from_(f"{PACKAGE}.clients", "SessionLocal")
            mod.imports.from_("sqlalchemy", "select")
            sess = body.scope.fresh("db", "Session")
            body.line(f"with SessionLocal() as {sess}:")
            if cls is not None:
                mod.imports.from_(f"{PACKAGE}.models.{noun}", cls)
                rows = body.scope.fresh("rows", "list")
                ln = body.line(
                    f"{rows} = {sess}.execute(select({cls}).limit(50)).scalars().all()", 1
                )
            else:
                mod.imports.from_("sqlalchemy", "text")
                ln = body.line(f'{sess}.execute(text("VACUUM ANALYZE"))', 1)
        elif kind == "sync_db_param":
            d = fn.domain
            assert d is not None and db is not None
            mod.imports.from_(f"{PACKAGE}.models.{d.name}", d.cls)
            i = self.gen.arg(body.scope, "int")
            rows = body.scope.fresh("rows", "list")
            variant = self.rng.random()
            if variant < 0.8:
                mod.imports.from_("sqlalchemy", "select")
            if variant < 0.6:
                ln = body.line(
                    f"{rows} = {db}.execute(select({d.cls}).where({d.cls}.id == {i})).scalars().all()"
                )
            elif variant < 0.8:
                ln = body.line(
                    f"{rows} = {db}.scalars(select({d.cls}).order_by({d.cls}.id.desc()).limit(20)).all()"
                )
            else:
                obj = body.scope.fresh("obj", "Model")
                ln = body.line(f"{obj} = {db}.get({d.cls}, {i})")
        elif kind == "sync_db_repo":
            target = fn.target
            assert target is not None and db is not None and fn.domain is not None
            d = fn.domain
            if target.role == "repo":
                mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"{d.cls}Repository")
                args = self.gen.call_args(body.scope, target)
                repo = body.scope.fresh("sync_repo", "Repo")
                body.line(f"{repo} = {d.cls}Repository({db})")
                found = body.scope.fresh("found", "Model")
                ln = body.line(f"{found} = {repo}.{target.name}({', '.join(args)})")
                depth = 1
            else:
                ref = mod.ref(target, self.rng)
                found = body.scope.fresh("loaded", "dict[str, Any]")
                ln = body.line(f"{found} = {ref}({db})")
                depth = 2
                assert target.leaf_site is not None
                chain.append(target.leaf_site)
                target = target.callees[0]
            assert target.leaf_site is not None
            chain.append(target.leaf_site)
        elif kind == "upload_file":
            assert upload is not None
            data = body.scope.fresh("contents", "bytes")
            ln = body.line(f"{data} = {upload}.file.read()")
        elif kind == "method_chain":
            result = body.scope.fresh("overrides", "dict[str, Any]")
            ln = body.line(f"{result} = self._read_overrides()")
            depth = 1
            chain.append(Site(mod.path, -1))  # filled by the class renderer
        elif kind == "chain":
            target = fn.target
            assert target is not None
            ln = body.call_sync(target)
            depth = target.depth
            node: Fn | None = target
            while node is not None:
                assert node.leaf_site is not None, node.name
                chain.append(node.leaf_site)
                nxt = [c for c in node.callees if c.blocks]
                node = nxt[0] if node.leaf_kind is None and nxt else None
        else:
            raise ValueError(kind)
        site = mod.site(ln)
        extra = [mod.site(n) for n in range(first, len(mod.body) + 1) if n != ln]
        self.gen.planted.append(Planted(kind, qual, site, depth, chain, extra))

    # ---- modules ----

    def utils_module(self, um: UtilModule, earlier_async: list[Fn]) -> Module:
        mod = Module(
            um.dotted, f"{um.theme.replace('_', ' ').capitalize()} helpers shared across services."
        )
        noun = um.theme
        for fn in um.sync:
            self.sync_fn(mod, fn, noun)
        for fn in um.async_fns:
            self.async_fn(mod, fn, noun, [f for f in um.sync], earlier_async)
        return mod

    def async_fn(
        self,
        mod: Module,
        fn: Fn,
        noun: str,
        sync_pool: list[Fn],
        async_pool: list[Fn],
        session: bool = False,
        repo_cls: str | None = None,
    ) -> None:
        gen = self.gen
        mod.gap()
        params = list(fn.params)
        if session:
            params = [("session", "AsyncSession", None), *params]
            mod.imports.from_("sqlalchemy.ext.asyncio", "AsyncSession")
        rendered = gen.render_params(mod, params)
        if gen.uses_any(fn.returns):
            mod.imports.from_("typing", "Any")
        for ln in gen.signature(f"async def {fn.name}", rendered, fn.returns):
            mod.emit(ln)
        mod.emit(f'"""{self.docline(fn, noun)}"""', 1)
        scope = Scope(params)
        body = Body(gen, mod, scope, 1, noun, True)
        self.async_body(
            mod,
            fn,
            body,
            sync_pool,
            async_pool,
            session="session" if session else None,
            db=None,
            repo_cls=repo_cls,
        )
        mod.emit(f"return {gen.return_expr(scope, fn.returns, noun)}", 1)

    def model_module(self, d: Domain) -> Module:
        mod = Module(f"{PACKAGE}.models.{d.name}", f"ORM model for {d.plural.replace('_', ' ')}.")
        mod.imports.from_("sqlalchemy.orm", "Mapped")
        mod.imports.from_("sqlalchemy.orm", "mapped_column")
        mod.imports.from_(f"{PACKAGE}.core.db", "Base")
        mod.imports.from_("sqlalchemy", "func")
        mod.imports.from_("sqlalchemy", "DateTime")
        mod.imports.from_("sqlalchemy", "Integer")
        mod.imports.from_("datetime", "datetime")
        mod.gap()
        mod.emit(f"class {d.cls}(Base):")
        mod.emit(f'__tablename__ = "{d.plural}"', 1)
        mod.emit()
        mod.emit("id: Mapped[int] = mapped_column(Integer, primary_key=True)", 1)
        for name, typ, col, sa_names in d.fields:
            for n in sa_names:
                mod.imports.from_("sqlalchemy", n)
            if "Decimal" in typ:
                mod.imports.from_("decimal", "Decimal")
            mod.emit(f"{name}: Mapped[{typ}] = mapped_column({col})", 1)
        mod.emit(
            "created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())",
            1,
        )
        mod.emit(
            "updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), onupdate=func.now())",
            1,
        )
        mod.emit()
        mod.emit("def __repr__(self) -> str:", 1)
        mod.emit(f'return f"<{d.cls} id={{self.id}} name={{self.name!r}}>"', 2)
        return mod

    def schema_module(self, d: Domain) -> Module:
        mod = Module(
            f"{PACKAGE}.schemas.{d.name}",
            f"Request and response bodies for {d.plural.replace('_', ' ')}.",
        )
        mod.imports.from_("pydantic", "BaseModel")
        mod.imports.from_("pydantic", "ConfigDict")
        mod.imports.from_("pydantic", "Field")
        mod.imports.from_("pydantic", "field_validator")
        mod.imports.from_("datetime", "datetime")
        for _, typ, _, _ in d.fields:
            if "Decimal" in typ:
                mod.imports.from_("decimal", "Decimal")
        mod.gap()
        mod.emit(f"class {d.cls}Base(BaseModel):")
        for name, typ, _, _ in d.fields:
            if typ == "str":
                mod.emit(
                    f"{name}: str = Field(..., min_length=1, max_length={self.rng.choice([40, 120, 200])})",
                    1,
                )
            elif typ.endswith("| None"):
                mod.emit(f"{name}: {typ} = None", 1)
            elif typ == "int":
                mod.emit(f"{name}: int = Field(default=0, ge=0)", 1)
            elif typ == "bool":
                mod.emit(f"{name}: bool = True", 1)
            elif typ == "float":
                mod.emit(f"{name}: float = 0.0", 1)
            else:
                mod.emit(f"{name}: {typ}", 1)
        mod.emit()
        mod.emit('@field_validator("name")', 1)
        mod.emit("@classmethod", 1)
        mod.emit("def _strip_name(cls, value: str) -> str:", 1)
        mod.emit("value = value.strip()", 2)
        mod.emit("if not value:", 2)
        mod.emit('raise ValueError("name must not be blank")', 3)
        mod.emit("return value", 2)
        mod.gap()
        mod.emit(f"class {d.cls}Create({d.cls}Base):")
        mod.emit(f'"""Body of ``POST /{d.plural}``."""', 1)
        mod.gap()
        mod.emit(f"class {d.cls}Update(BaseModel):")
        for name, typ, _, _ in d.fields:
            base = typ.replace(" | None", "")
            mod.emit(f"{name}: {base} | None = None", 1)
        mod.gap()
        mod.emit(f"class {d.cls}Read({d.cls}Base):")
        mod.emit("model_config = ConfigDict(from_attributes=True)", 1)
        mod.emit()
        mod.emit("id: int", 1)
        mod.emit("created_at: datetime", 1)
        mod.emit("updated_at: datetime | None = None", 1)
        mod.gap()
        mod.emit(f"class {d.cls}Page(BaseModel):")
        mod.emit(f"items: list[{d.cls}Read]", 1)
        mod.emit("total: int", 1)
        mod.emit("page: int = 1", 1)
        mod.emit("size: int = 20", 1)
        mod.gap()
        mod.emit(f"class {d.cls}Stats(BaseModel):")
        mod.emit("total: int = 0", 1)
        mod.emit("active: int = 0", 1)
        mod.emit("ratio: float = 0.0", 1)
        mod.emit("breakdown: dict[str, int] = Field(default_factory=dict)", 1)
        mod.gap()
        mod.imports.from_("typing", "Literal")
        mod.emit(f"class {d.cls}ExportRequest(BaseModel):")
        mod.emit('format: Literal["csv", "json", "xlsx"] = "csv"', 1)
        mod.emit("include_archived: bool = False", 1)
        mod.emit("since: datetime | None = None", 1)
        return mod

    def repo_module(self, d: Domain) -> Module:
        mod = Module(
            f"{PACKAGE}.repositories.{d.name}", f"Data access for {d.plural.replace('_', ' ')}."
        )
        cls = d.cls
        mod.imports.from_("sqlalchemy", "func")
        mod.imports.from_("sqlalchemy", "select")
        mod.imports.from_("sqlalchemy", "delete", "sa_delete")
        mod.imports.from_("datetime", "datetime")
        mod.imports.from_("sqlalchemy.orm", "Session")
        mod.imports.from_("sqlalchemy.ext.asyncio", "AsyncSession")
        mod.imports.from_(f"{PACKAGE}.models.{d.name}", cls)
        mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Create")
        mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Update")
        strf = "name"
        by = {f.name: f for f in d.repo}
        for prefix, aw, sess_t in (("", "", "Session"), ("Async", "await ", "AsyncSession")):
            asy = "async " if aw else ""
            mod.gap()
            mod.emit(f"class {prefix}{cls}Repository:")
            mod.emit(f'"""{"Async" if aw else "Sync"} queries over ``{d.plural}``."""', 1)
            mod.emit()
            mod.emit(f"def __init__(self, session: {sess_t}) -> None:", 1)
            mod.emit("self.session = session", 2)

            def method(
                sig: str, lines: list[str], key: str | None, asy: str = asy, aw: str = aw
            ) -> None:
                mod.emit()
                mod.emit(f"{asy}def {sig}:", 1)
                first = None
                for text in lines:
                    ln = mod.emit(text, 2)
                    if first is None and "self.session." in text:
                        first = ln
                if key is not None and first is not None:
                    if aw:
                        self.gen.decoys.append(Decoy("async_db", mod.site(first)))
                    else:
                        by[key].leaf_site = mod.site(first)

            method(
                f"get(self, item_id: int) -> {cls} | None",
                [f"return {aw}self.session.get({cls}, item_id)"],
                "get",
            )
            method(
                f"get_by_{strf}(self, value: str) -> {cls} | None",
                [
                    f"stmt = select({cls}).where({cls}.{strf} == value)",
                    f"result = {aw}self.session.execute(stmt)",
                    "return result.scalar_one_or_none()",
                ],
                None,
            )
            method(
                f"list(self, limit: int = 50, offset: int = 0) -> list[{cls}]",
                [
                    f"stmt = select({cls}).order_by({cls}.id.desc()).offset(offset).limit(limit)",
                    f"result = {aw}self.session.execute(stmt)",
                    "return list(result.scalars().all())",
                ],
                "list",
            )
            method(
                "count(self) -> int",
                [
                    f"stmt = select(func.count()).select_from({cls})",
                    f"result = {aw}self.session.execute(stmt)",
                    "return int(result.scalar_one())",
                ],
                "count",
            )
            method(
                f"search(self, term: str) -> list[{cls}]",
                [
                    f'stmt = select({cls}).where({cls}.{strf}.ilike(f"%{{term}}%")).limit(25)',
                    f"result = {aw}self.session.execute(stmt)",
                    "return list(result.scalars())",
                ],
                "search",
            )
            method(
                "exists(self, item_id: int) -> bool",
                [
                    f"stmt = select({cls}.id).where({cls}.id == item_id)",
                    f"result = {aw}self.session.execute(stmt)",
                    "return result.first() is not None",
                ],
                "exists",
            )
            method(
                f"list_since(self, since: datetime, limit: int = 100) -> list[{cls}]",
                [
                    "stmt = (",
                    f"    select({cls})",
                    f"    .where({cls}.created_at >= since)",
                    f"    .order_by({cls}.created_at)",
                    "    .limit(limit)",
                    ")",
                    f"result = {aw}self.session.execute(stmt)",
                    "return list(result.scalars())",
                ],
                None,
            )
            method(
                "delete_many(self, ids: list[int]) -> int",
                [
                    "if not ids:",
                    "    return 0",
                    f"stmt = sa_delete({cls}).where({cls}.id.in_(ids))",
                    f"result = {aw}self.session.execute(stmt)",
                    f"{aw}self.session.commit()",
                    "return int(result.rowcount or 0)",
                ],
                None,
            )
            method(
                f"create(self, data: {cls}Create) -> {cls}",
                [
                    f"obj = {cls}(**data.model_dump())",
                    "self.session.add(obj)",
                    f"{aw}self.session.commit()",
                    f"{aw}self.session.refresh(obj)",
                    "return obj",
                ],
                None,
            )
            method(
                f"update(self, obj: {cls}, data: {cls}Update) -> {cls}",
                [
                    "for key, value in data.model_dump(exclude_unset=True).items():",
                    "    setattr(obj, key, value)",
                    f"{aw}self.session.commit()",
                    f"{aw}self.session.refresh(obj)",
                    "return obj",
                ],
                None,
            )
            method(
                f"delete(self, obj: {cls}) -> None",
                [f"{aw}self.session.delete(obj)", f"{aw}self.session.commit()"],
                None,
            )
        return mod

    def service_module(self, d: Domain, sync_pool: list[Fn], async_pool: list[Fn]) -> Module:
        mod = Module(
            f"{PACKAGE}.services.{d.name}", f"Business logic for {d.plural.replace('_', ' ')}."
        )
        noun = d.name
        for fn in d.service_sync:
            self.sync_fn(mod, fn, noun)
        for fn in d.service_db:
            mod.gap()
            mod.imports.from_("sqlalchemy.orm", "Session")
            mod.imports.from_("typing", "Any")
            mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"{d.cls}Repository")
            mod.emit(f"def {fn.name}(db: Session, limit: int = 20) -> dict[str, Any]:")
            mod.emit('"""Synchronous query helper, for sync routes and workers."""', 1)
            repo_fn = fn.callees[0]
            args = {
                "get": "limit",
                "list": "limit=limit",
                "count": "",
                "search": f'"{self.rng.choice(WORDS)}"',
                "exists": "limit",
            }[repo_fn.name]
            mod.emit(f"repo = {d.cls}Repository(db)", 1)
            ln = mod.emit(f"found = repo.{repo_fn.name}({args})", 1)
            fn.leaf_site = mod.site(ln)
            mod.emit(f'return {{"kind": "{noun}", "found": found, "limit": limit}}', 1)
        own_async: list[Fn] = []
        for fn in d.service_async:
            session = self.rng.random() < 0.55
            pool = [f for f in sync_pool if f.role != "db"] + d.service_sync
            self.async_fn(
                mod,
                fn,
                noun,
                pool,
                async_pool + own_async,
                session=session,
                repo_cls=f"{d.cls}Repository" if session else None,
            )
            if session:
                fn.params = [("session", "AsyncSession", None), *fn.params]
            own_async.append(fn)
        if d.service_class:
            self.service_class(mod, d, sync_pool)
        return mod

    def service_class(self, mod: Module, d: Domain, sync_pool: list[Fn]) -> None:
        cls, noun = d.cls, d.name
        mod.imports.from_("sqlalchemy.ext.asyncio", "AsyncSession")
        mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"Async{cls}Repository")
        mod.imports.from_(f"{PACKAGE}.models.{d.name}", cls)
        mod.imports.from_(f"{PACKAGE}.core.config", "settings")
        mod.imports.from_("typing", "Any")
        mod.imports.plain("json")
        mod.imports.plain("asyncio")
        mod.gap()
        mod.emit(f"class {cls}Service:")
        mod.emit(
            f'"""Use-cases for {d.plural.replace("_", " ")}, bound to one request\'s session."""', 1
        )
        mod.emit()
        mod.emit("def __init__(self, session: AsyncSession) -> None:", 1)
        mod.emit("self.session = session", 2)
        mod.emit(f"self.repo = Async{cls}Repository(session)", 2)
        mod.emit()
        mod.emit(f"async def get_or_404(self, item_id: int) -> {cls}:", 1)
        mod.emit("obj = await self.repo.get(item_id)", 2)
        mod.emit("if obj is None:", 2)
        mod.emit(f'raise LookupError(f"{noun} {{item_id}} not found")', 3)
        mod.emit("return obj", 2)
        mod.emit()
        mod.emit(f"async def rename(self, item_id: int, name: str) -> {cls}:", 1)
        mod.emit("obj = await self.get_or_404(item_id)", 2)
        mod.emit("obj.name = name.strip()", 2)
        mod.emit("await self.session.commit()", 2)
        mod.emit("await self.session.refresh(obj)", 2)
        mod.emit("return obj", 2)
        mod.emit()
        mod.emit("def _read_overrides(self) -> dict[str, Any]:", 1)
        mod.emit(
            f'with open(f"{{settings.data_dir}}/{noun}/overrides.json", encoding="utf-8") as fh:', 2
        )
        leaf = mod.site(len(mod.body))
        mod.emit("return dict(json.load(fh))", 3)
        mod.emit()
        overrides = next(m for m in d.service_class if m.name == "overrides")
        mod.emit("async def overrides(self) -> dict[str, Any]:", 1)
        scope = Scope([])
        body = Body(self.gen, mod, scope, 2, noun, True)
        before = len(self.gen.planted)
        if overrides.mistake is None:
            body.filler()
            ln = body.line("overrides = await asyncio.to_thread(self._read_overrides)")
            body.decoy("offload", ln)
        else:
            self.async_body(
                mod, overrides, body, [], [], session=None, db=None, repo_cls=None, lo=1, hi=2
            )
            for p in self.gen.planted[before:]:
                p.path_sites = [leaf]
        mod.emit('overrides.setdefault("version", 1)', 2)
        mod.emit("return overrides", 2)
        mod.gap()
        mod.imports.from_(f"{PACKAGE}.deps", "AsyncDbSession")
        mod.emit(f"def get_{noun}_service(session: AsyncDbSession) -> {cls}Service:")
        mod.emit(f"return {cls}Service(session)", 1)

    def router_module(self, d: Domain, svc_sync: list[Fn], svc_async: list[Fn]) -> Module:
        gen, rng = self.gen, self.rng
        mod = Module(
            f"{PACKAGE}.routers.{d.name}", f"HTTP endpoints for {d.plural.replace('_', ' ')}."
        )
        mod.future = rng.random() < 0.3
        cls, noun = d.cls, d.name
        mod.imports.from_("fastapi", "APIRouter")
        mod.imports.from_("typing", "Annotated")
        mod.imports.from_("typing", "Any")
        tag = d.plural.replace("_", "-")
        mod.gap()
        mod.emit(f'router = APIRouter(prefix="/{tag}", tags=["{tag}"])')
        id_name = f"{noun}_id"
        for fn in d.routes:
            mod.gap()
            method, _, path = fn.owner.partition(" ") if fn.owner else ("get", "", "")
            if fn.params and fn.params[0][0] == "crud":
                self.crud_route(mod, d, fn, fn.params[0][1], fn.params[0][2] or "", id_name)
                continue
            action = fn.params[0][1]
            params: list[str] = []
            db_name: str | None = None
            session: str | None = None
            upload: str | None = None
            scope = Scope([])
            if fn.is_async and fn.mistake in ("sync_db_param", "sync_db_repo"):
                db_name = "db"
                style = rng.random()
                if style < 0.5:
                    mod.imports.from_(f"{PACKAGE}.deps", "DbSession")
                    params.append("db: DbSession")
                elif style < 0.8:
                    mod.imports.from_("fastapi", "Depends")
                    mod.imports.from_("sqlalchemy.orm", "Session")
                    mod.imports.from_(f"{PACKAGE}.deps", "get_db")
                    params.append("db: Annotated[Session, Depends(get_db)]")
                else:
                    mod.imports.from_("fastapi", "Depends")
                    mod.imports.from_("sqlalchemy.orm", "Session")
                    mod.imports.from_(f"{PACKAGE}.deps", "get_db")
                    params.append("db: Session = Depends(get_db)")
            elif fn.is_async:
                mod.imports.from_(f"{PACKAGE}.deps", "AsyncDbSession")
                mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"Async{cls}Repository")
                params.append("session: AsyncDbSession")
                session = "session"
                scope.add("session", "AsyncSession")
            else:
                mod.imports.from_(f"{PACKAGE}.deps", "DbSession")
                params.append("db: DbSession")
                db_name = "db"
            if action == "upload":
                mod.imports.from_("fastapi", "UploadFile")
                params.insert(0, "file: UploadFile")
                upload = "file"
            if rng.random() < 0.5:
                mod.imports.from_(f"{PACKAGE}.deps", "CurrentUser")
                params.append("current_user: CurrentUser")
                scope.add("current_user.id", "int")
            if action in ("export", "report", "notify", "archive") and fn.is_async:
                mod.imports.from_("fastapi", "BackgroundTasks")
                params.append("background_tasks: BackgroundTasks")
            if rng.random() < 0.6:
                mod.imports.from_("fastapi", "Query")
                params.append(
                    f"limit: Annotated[int, Query(ge=1, le=500)] = {rng.choice([20, 50, 100])}"
                )
                scope.add("limit", "int")
            if rng.random() < 0.4:
                mod.imports.from_("fastapi", "Query")
                params.append("q: Annotated[str | None, Query(max_length=64)] = None")
            if rng.random() < 0.25:
                mod.imports.from_("fastapi", "Header")
                params.append("x_request_id: Annotated[str | None, Header()] = None")
            params.sort(key=lambda p: "=" in p)
            deco = f'@router.{method}("{path}")'
            mod.emit(deco)
            prefix = f"{'async ' if fn.is_async else ''}def {fn.name}"
            for text in gen.signature(prefix, params, "dict[str, Any]"):
                mod.emit(text)
            mod.emit(f'"""{action.capitalize()} {d.plural.replace("_", " ")}."""', 1)
            body = Body(gen, mod, scope, 1, noun, fn.is_async)
            if fn.is_async:
                if upload and fn.mistake != "upload_file":
                    data = scope.fresh("contents", "bytes")
                    ln = body.line(f"{data} = await {upload}.read()")
                    body.decoy("upload_async_read", ln)
                if "background_tasks: BackgroundTasks" in params and svc_sync:
                    hot = [f for f in svc_sync if f.blocks and f.role != "db"] or svc_sync
                    task = rng.choice(hot)
                    ref = mod.ref(task, rng)
                    args = gen.call_args(scope, task, positional_only=True)
                    ln = body.line(f"background_tasks.add_task({', '.join([ref, *args])})")
                    body.decoy("background_task", ln)
                self.async_body(
                    mod, fn, body, svc_sync, svc_async,
                    session=session, db=db_name, repo_cls=f"{cls}Repository", upload=upload, lo=3, hi=5,
                )  # fmt: skip
            else:
                assert db_name is not None
                self.sync_route_body(body, d, svc_sync, db_name, upload)
            mod.emit(f"return {gen.return_expr(scope, 'dict[str, Any]', noun)}", 1)
        return mod

    def sync_route_body(
        self, body: Body, d: Domain, svc_sync: list[Fn], db_name: str, upload: str | None
    ) -> None:
        """A ``def`` route: FastAPI runs it in its threadpool, so blocking here is correct."""
        rng, mod, scope = self.rng, body.mod, body.scope
        steps: list[Callable[[], object]] = _fill(self.gen, body, [], 1, 3)
        hot = [f for f in svc_sync if f.blocks and f.role != "db"]
        for callee in rng.sample(hot, k=min(len(hot), rng.randint(1, 2))):
            steps.append(partial(body.call_sync, callee, "sync_route_blocking"))

        def db_step(dbf: Fn) -> None:
            name = scope.fresh("loaded", "dict[str, Any]")
            ln = body.line(f"{name} = {mod.ref(dbf, rng)}({db_name})")
            body.decoy("sync_route_blocking", ln)

        def upload_step(upload: str) -> None:
            raw = scope.fresh("raw", "bytes")
            body.decoy("sync_route_blocking", body.line(f"{raw} = {upload}.file.read()"))

        if d.service_db and rng.random() < 0.6:
            chosen = rng.choice(d.service_db)
            steps.append(lambda: db_step(chosen))
        if upload:
            steps.append(lambda: upload_step(upload))
        rng.shuffle(steps)
        for step in steps:
            step()

    def crud_route(
        self, mod: Module, d: Domain, fn: Fn, method: str, path: str, id_name: str
    ) -> None:
        cls, noun = d.cls, d.name
        path = path.replace("{item_id}", "{" + id_name + "}")
        asy = fn.is_async
        aw = "await " if asy else ""
        if asy:
            mod.imports.from_(f"{PACKAGE}.deps", "AsyncDbSession")
            mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"Async{cls}Repository")
            sess = "session: AsyncDbSession"
            repo = f"Async{cls}Repository(session)"
        else:
            mod.imports.from_(f"{PACKAGE}.deps", "DbSession")
            mod.imports.from_(f"{PACKAGE}.repositories.{d.name}", f"{cls}Repository")
            sess = "db: DbSession"
            repo = f"{cls}Repository(db)"
        kw = "async def" if asy else "def"
        mod.imports.from_("fastapi", "HTTPException")
        mod.imports.from_("fastapi", "Path")
        mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Read")
        id_param = f"{id_name}: Annotated[int, Path(ge=1)]"

        def load(indent: int = 1) -> None:
            mod.emit(f"obj = {aw}repo.get({id_name})", indent)
            mod.emit("if obj is None:", indent)
            mod.emit(
                f'raise HTTPException(status_code=404, detail="{noun.replace("_", " ")} not found")',
                indent + 1,
            )

        def head(deco: str, params: list[str], returns: str) -> None:
            mod.emit(deco)
            for ln in self.gen.signature(f"{kw} {fn.name}", params, returns):
                mod.emit(ln)

        ln: int
        if method == "get" and not path:
            mod.imports.from_("fastapi", "Query")
            mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Page")
            head(
                f'@router.get("", response_model={cls}Page)',
                [
                    sess,
                    "page: Annotated[int, Query(ge=1)] = 1",
                    "size: Annotated[int, Query(ge=1, le=100)] = 20",
                ],
                f"{cls}Page",
            )
            mod.emit(f"repo = {repo}", 1)
            ln = mod.emit(f"items = {aw}repo.list(limit=size, offset=(page - 1) * size)", 1)
            mod.emit(f"total = {aw}repo.count()", 1)
            mod.emit(f"return {cls}Page(", 1)
            mod.emit(f"items=[{cls}Read.model_validate(item) for item in items],", 2)
            mod.emit("total=total,", 2)
            mod.emit("page=page,", 2)
            mod.emit("size=size,", 2)
            mod.emit(")", 1)
        elif method == "get":
            head(f'@router.get("{path}", response_model={cls}Read)', [id_param, sess], f"{cls}Read")
            mod.emit(f"repo = {repo}", 1)
            ln = len(mod.body) + 1
            load()
            mod.emit(f"return {cls}Read.model_validate(obj)", 1)
        elif method == "post":
            mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Create")
            mod.imports.from_(f"{PACKAGE}.deps", "CurrentUser")
            head(
                f'@router.post("", response_model={cls}Read, status_code=201)',
                [f"payload: {cls}Create", sess, "current_user: CurrentUser"],
                f"{cls}Read",
            )
            mod.use_logger()
            mod.emit(f"repo = {repo}", 1)
            ln = mod.emit(f"obj = {aw}repo.create(payload)", 1)
            mod.emit(f'logger.info("user %s created {noun} %s", current_user.id, obj.id)', 1)
            mod.emit(f"return {cls}Read.model_validate(obj)", 1)
        elif method == "patch":
            mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Update")
            head(
                f'@router.patch("{path}", response_model={cls}Read)',
                [id_param, f"payload: {cls}Update", sess],
                f"{cls}Read",
            )
            mod.emit(f"repo = {repo}", 1)
            ln = len(mod.body) + 1
            load()
            mod.emit(f"obj = {aw}repo.update(obj, payload)", 1)
            mod.emit(f"return {cls}Read.model_validate(obj)", 1)
        else:
            mod.imports.from_(f"{PACKAGE}.deps", "require_admin")
            mod.imports.from_("fastapi", "Depends")
            head(
                f'@router.delete("{path}", status_code=204, dependencies=[Depends(require_admin)])',
                [id_param, sess],
                "None",
            )
            mod.emit(f"repo = {repo}", 1)
            ln = len(mod.body) + 1
            load()
            mod.emit(f"{aw}repo.delete(obj)", 1)
        self.gen.decoys.append(Decoy("async_db" if asy else "sync_route_blocking", mod.site(ln)))


# --------------------------------------------------------------------------------------------
# Fixed modules: core/, deps.py, clients.py, main.py
# --------------------------------------------------------------------------------------------

CONFIG_PY = '''
class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env", extra="ignore")

    environment: str = "development"
    api_base_url: str = "https://api.example.com/v1"
    database_url: str = "postgresql+psycopg://app:app@localhost/app"
    async_database_url: str = "postgresql+asyncpg://app:app@localhost/app"
    redis_url: str = "redis://localhost:6379/0"
    data_dir: str = "/var/lib/app"
    secret_key: str = "change-me"
    access_token_minutes: int = 30
    cors_origins: list[str] = ["http://localhost:3000"]


def _read_version() -> str:
    """Read the release version shipped next to the package (runs once, at import)."""
    with open(VERSION_FILE, encoding="utf-8") as fh:
        return fh.read().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()


settings = get_settings()
APP_VERSION = _read_version() if VERSION_FILE.exists() else "0.0.0"
'''

DB_PY = '''
class Base(DeclarativeBase):
    """Declarative base for every ORM model."""
'''

SECURITY_PY = '''
pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    """CPU-heavy on purpose; call it off the event loop."""
    return pwd_context.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return pwd_context.verify(password, hashed)


def create_access_token(subject: str, minutes: int | None = None) -> str:
    expires = datetime.now(UTC) + timedelta(minutes=minutes or settings.access_token_minutes)
    return jwt.encode({"sub": subject, "exp": expires}, settings.secret_key, algorithm=ALGORITHM)


def decode_token(token: str) -> dict[str, Any]:
    try:
        return dict(jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM]))
    except JWTError as exc:
        raise ValueError("invalid token") from exc
'''

LOGGING_PY = """
def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
"""

EXCEPTIONS_PY = """
class DomainError(Exception):
    status_code = 400


class NotFoundError(DomainError):
    status_code = 404


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "status_code", 400)
    return JSONResponse({"detail": str(exc), "path": request.url.path}, status_code=status)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error_handler)
"""

MIDDLEWARE_PY = """
class TimingMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        response = await call_next(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.headers["x-request-id"] = request_id
        response.headers["server-timing"] = f"app;dur={elapsed_ms:.1f}"
        return response
"""

EVENTS_PY = """
@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    logger.info("starting %s", settings.environment)
    await cache.ping()
    yield
    await http_client.aclose()
    await cache.aclose()
    await async_engine.dispose()
"""

CLIENTS_PY = """
http_client = httpx.AsyncClient(base_url=settings.api_base_url, timeout=10.0)
legacy_http = requests.Session()
legacy_http.headers.update({"user-agent": "acme-platform/1.0"})

engine = create_engine(settings.database_url, pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)

async_engine = create_async_engine(settings.async_database_url, pool_size=10)
AsyncSessionLocal = async_sessionmaker(async_engine, expire_on_commit=False)

cache = aioredis.from_url(settings.redis_url, decode_responses=False)
"""

DEPS_PY = """
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def get_async_db() -> AsyncIterator[AsyncSession]:
    async with AsyncSessionLocal() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db)]
AsyncDbSession = Annotated[AsyncSession, Depends(get_async_db)]


async def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)],
    session: AsyncDbSession,
) -> User:
    try:
        claims = decode_token(token)
    except ValueError as exc:
        raise HTTPException(status_code=401, detail="invalid credentials") from exc
    user = await session.get(User, int(claims["sub"]))
    if user is None or not user.is_active:
        raise HTTPException(status_code=401, detail="inactive user")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def require_admin(user: CurrentUser) -> User:
    if user.status != "admin":
        raise HTTPException(status_code=403, detail="admin only")
    return user


def get_settings_dep() -> Settings:
    return get_settings()
"""


def fixed_modules(gen: Generator) -> list[Module]:
    mods: list[Module] = []

    def make(
        dotted: str,
        doc: str,
        text: str,
        imports: list[tuple[str, str | None]],
        logger: bool = False,
    ) -> Module:
        mod = Module(dotted, doc)
        for module, name in imports:
            if name is None:
                mod.imports.plain(module)
            else:
                mod.imports.from_(module, name)
        if logger:
            mod.use_logger()
        mod.block(text)
        mods.append(mod)
        return mod

    cfg = make(
        f"{PACKAGE}.core.config",
        "Application settings, read once from the environment.",
        CONFIG_PY,
        [
            ("functools", "lru_cache"),
            ("pathlib", "Path"),
            ("pydantic_settings", "BaseSettings"),
            ("pydantic_settings", "SettingsConfigDict"),
        ],
    )
    cfg.body[0:0] = ['VERSION_FILE = Path(__file__).resolve().parent.parent / "VERSION"', "", ""]
    open_line = next(i for i, t in enumerate(cfg.body, 1) if "with open(VERSION_FILE" in t)
    gen.decoys.append(Decoy("import_time_open", cfg.site(open_line)))
    make(
        f"{PACKAGE}.core.db",
        "SQLAlchemy declarative base.",
        DB_PY,
        [("sqlalchemy.orm", "DeclarativeBase")],
    )
    make(
        f"{PACKAGE}.core.security",
        "Password hashing and access tokens.",
        SECURITY_PY,
        [
            ("datetime", "UTC"),
            ("datetime", "datetime"),
            ("datetime", "timedelta"),
            ("typing", "Any"),
            ("jose", "JWTError"),
            ("jose", "jwt"),
            ("passlib.context", "CryptContext"),
            (f"{PACKAGE}.core.config", "settings"),
        ],
    )
    make(f"{PACKAGE}.core.logging", "Logging setup.", LOGGING_PY, [("logging", None)])
    make(
        f"{PACKAGE}.core.exceptions",
        "Domain errors and their HTTP mapping.",
        EXCEPTIONS_PY,
        [("fastapi", "FastAPI"), ("fastapi", "Request"), ("fastapi.responses", "JSONResponse")],
    )
    make(
        f"{PACKAGE}.core.middleware",
        "Request timing and request ids.",
        MIDDLEWARE_PY,
        [
            ("time", None),
            ("uuid", None),
            ("starlette.middleware.base", "BaseHTTPMiddleware"),
            ("starlette.middleware.base", "RequestResponseEndpoint"),
            ("starlette.requests", "Request"),
            ("starlette.responses", "Response"),
        ],
    )
    make(
        f"{PACKAGE}.core.events",
        "Application lifespan: open and close shared clients.",
        EVENTS_PY,
        [
            ("collections.abc", "AsyncIterator"),
            ("contextlib", "asynccontextmanager"),
            ("fastapi", "FastAPI"),
            (f"{PACKAGE}.clients", "async_engine"),
            (f"{PACKAGE}.clients", "cache"),
            (f"{PACKAGE}.clients", "http_client"),
            (f"{PACKAGE}.core.config", "settings"),
        ],
        logger=True,
    )
    make(
        f"{PACKAGE}.clients",
        "Process-wide clients, created once at import time.",
        CLIENTS_PY,
        [
            ("httpx", None),
            ("requests", None),
            ("sqlalchemy", "create_engine"),
            ("sqlalchemy.ext.asyncio", "async_sessionmaker"),
            ("sqlalchemy.ext.asyncio", "create_async_engine"),
            ("sqlalchemy.orm", "sessionmaker"),
            (f"{PACKAGE}.core.config", "settings"),
        ],
    )
    mods[-1].imports.plain("redis.asyncio", "aioredis")
    make(
        f"{PACKAGE}.deps",
        "FastAPI dependencies shared by the routers.",
        DEPS_PY,
        [
            ("collections.abc", "AsyncIterator"),
            ("collections.abc", "Iterator"),
            ("typing", "Annotated"),
            ("fastapi", "Depends"),
            ("fastapi", "HTTPException"),
            ("fastapi.security", "OAuth2PasswordBearer"),
            ("sqlalchemy.ext.asyncio", "AsyncSession"),
            ("sqlalchemy.orm", "Session"),
            (f"{PACKAGE}.clients", "AsyncSessionLocal"),
            (f"{PACKAGE}.clients", "SessionLocal"),
            (f"{PACKAGE}.core.config", "Settings"),
            (f"{PACKAGE}.core.config", "get_settings"),
            (f"{PACKAGE}.core.security", "decode_token"),
            (f"{PACKAGE}.models.user", "User"),
        ],
    )
    return mods


# --------------------------------------------------------------------------------------------
# Tree generation
# --------------------------------------------------------------------------------------------

PYPROJECT = """\
[project]
name = "acme-platform"
version = "0.1.0"
description = "Synthetic FastAPI service generated by loopsafe's benchmarks/check_speed.py"
requires-python = ">=3.11"
dependencies = [
    "fastapi>=0.110",
    "sqlalchemy>=2.0",
    "pydantic>=2.6",
    "pydantic-settings>=2.2",
    "httpx>=0.27",
    "requests>=2.31",
    "redis>=5.0",
    "aiofiles>=23.2",
    "anyio>=4.3",
    "python-jose>=3.3",
    "passlib[bcrypt]>=1.7",
]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.ruff]
line-length = 100
target-version = "py311"
"""


@dataclass
class Tree:
    root: Path
    files: int
    modules: int
    lines: int
    planted: list[Planted]
    decoys: list[Decoy]
    seed: int
    domains: int


def render_tree(seed: int, n_domains: int, n_mistakes: int) -> tuple[dict[str, str], Generator]:
    gen = Generator(seed, n_domains, n_mistakes)
    gen.plan()
    r = Renderer(gen)
    mods: list[Module] = []
    # the user model is needed by deps.py: make sure a "user" domain exists
    if not any(d.name == "user" for d in gen.domains):
        gen.domains[0].name, gen.domains[0].cls, gen.domains[0].plural = "user", "User", "users"
    for d in gen.domains:
        if d.name == "user" and not any(f[0] == "is_active" for f in d.fields):
            d.fields.append(("is_active", "bool", "Boolean, default=True", ("Boolean",)))
        if d.name == "user" and not any(f[0] == "status" for f in d.fields):
            d.fields.append(("status", "str", 'String(32), default="active"', ("String",)))
    util_async: list[Fn] = []
    for um in gen.utils:
        mods.append(r.utils_module(um, list(util_async)))
        util_async += um.async_fns
    for d in gen.domains:
        mods.append(r.model_module(d))
        mods.append(r.schema_module(d))
        mods.append(r.repo_module(d))
    util_sync = [f for um in gen.utils for f in um.sync]
    svc_sync: list[Fn] = []
    svc_async: list[Fn] = []
    for d in gen.domains:
        mods.append(r.service_module(d, util_sync + svc_sync, util_async + svc_async))
        svc_sync += d.service_sync + d.service_db
        svc_async += d.service_async
    for d in gen.domains:
        own = d.service_sync + d.service_db
        others = [f for f in svc_sync if f.domain is not d and f.role != "db"]
        sync_pool = (
            own + gen.rng.sample(others, k=min(len(others), 6)) + gen.rng.sample(util_sync, k=6)
        )
        async_pool = d.service_async + gen.rng.sample(svc_async, k=min(len(svc_async), 4))
        mods.append(r.router_module(d, sync_pool, async_pool))
    mods += fixed_modules(gen)
    # app/main.py
    main = Module(f"{PACKAGE}.main", "ASGI entry point: ``uvicorn app.main:app``.")
    main.imports.from_("fastapi", "FastAPI")
    main.imports.from_("fastapi.middleware.cors", "CORSMiddleware")
    main.imports.from_(f"{PACKAGE}.core.config", "APP_VERSION")
    main.imports.from_(f"{PACKAGE}.core.config", "settings")
    main.imports.from_(f"{PACKAGE}.core.events", "lifespan")
    main.imports.from_(f"{PACKAGE}.core.exceptions", "install")
    main.imports.from_(f"{PACKAGE}.core.middleware", "TimingMiddleware")
    for d in gen.domains:
        main.imports.from_(f"{PACKAGE}.routers", d.name, f"{d.name}_router")
    main.gap()
    main.emit('app = FastAPI(title="acme-platform", version=APP_VERSION, lifespan=lifespan)')
    main.emit("app.add_middleware(TimingMiddleware)")
    main.emit(
        "app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=['*'])"
    )
    main.emit("install(app)")
    main.emit()
    for d in gen.domains:
        main.emit(f'app.include_router({d.name}_router.router, prefix="/api/v1")')
    main.emit()
    main.emit()
    main.emit('@app.get("/healthz")')
    main.emit("async def healthz() -> dict[str, str]:")
    main.emit('return {"status": "ok", "version": APP_VERSION}', 1)
    mods.append(main)
    files: dict[str, str] = {}
    packages = sorted({m.dotted.rsplit(".", 1)[0] for m in mods} | {PACKAGE})
    for pkg in packages:
        init = Module(pkg, f"The ``{pkg}`` package.", package=True)
        init.future = False
        files[init.path] = init.render()
    for m in mods:
        files[m.path] = m.render()
    # method_chain: the leaf site was recorded by the class renderer
    return files, gen


def count_lines(files: dict[str, str]) -> int:
    return sum(text.count("\n") for text in files.values())


def generate(out: Path, seed: int, target_lines: int) -> Tree:
    """Render the tree, calibrating the number of domains to land near ``target_lines``."""
    n_mistakes = max(1, round(target_lines / 300))
    n_domains = max(4, round(target_lines / 960))
    files, gen = render_tree(seed, n_domains, n_mistakes)
    lines = count_lines(files)
    for _ in range(2):
        if abs(lines - target_lines) <= target_lines * 0.015:
            break
        n_domains = max(4, round(n_domains * target_lines / lines))
        files, gen = render_tree(seed, n_domains, n_mistakes)
        lines = count_lines(files)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / TREE_MARKER).write_text("generated by benchmarks/check_speed.py; safe to delete\n")
    (out / "pyproject.toml").write_text(PYPROJECT)
    (out / "VERSION").write_text("1.4.2\n")
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    planted = [p for p in gen.planted]
    manifest = {
        "seed": seed,
        "lines": lines,
        "modules": len(files),
        "planted": [p.to_json() for p in planted],
        "decoys": [[d.kind, d.site.path, d.site.line] for d in gen.decoys],
    }
    (out / "planted.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return Tree(out, len(files), len(files), lines, planted, gen.decoys, seed, len(gen.domains))


def verify_tree(tree: Tree) -> list[str]:
    """Parse every generated file and check each planted site is where the manifest says."""
    problems: list[str] = []
    texts: dict[str, list[str]] = {}
    for path in sorted(tree.root.rglob("*.py")):
        rel = path.relative_to(tree.root).as_posix()
        text = path.read_text()
        texts[rel] = text.splitlines()
        try:
            ast.parse(text, filename=rel)
        except SyntaxError as exc:
            problems.append(f"{rel}:{exc.lineno}: {exc.msg}")
    markers = (
        "time.sleep",
        "requests.",
        "httpx.get",
        "urlopen",
        "legacy_http.",
        "open(",
        "subprocess.run",
        ".file.read()",
        "execute(",
        "scalars(",
        ".get(",
        "repo.",
        "self._read_overrides()",
    )
    for p in tree.planted:
        lines = texts.get(p.site.path)
        if lines is None or not 0 < p.site.line <= len(lines):
            problems.append(f"planted {p.kind} at {p.site.path}:{p.site.line}: no such line")
            continue
        text = lines[p.site.line - 1]
        if p.kind not in ("chain", "sync_db_repo") and not any(m in text for m in markers):
            problems.append(f"planted {p.kind} at {p.site.path}:{p.site.line}: {text.strip()!r}")
    return problems


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------

# Runs one command and writes its wall time, peak RSS and exit code as JSON. It is a fresh, small
# interpreter so that the child's peak RSS is not inflated by this (large) process: Linux carries
# the parent's high-water mark through fork and exec into ru_maxrss.
LAUNCHER = """
import json, os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
except OSError as exc:
    print(f"cannot run {argv[0]}: {exc}", file=sys.stderr)
    sys.exit(3)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(out, "w") as fh:
    code = os.waitstatus_to_exitcode(status)
    json.dump({"wall": wall, "maxrss_kb": usage.ru_maxrss, "code": code}, fh)
"""


@dataclass
class Run:
    wall: float
    maxrss_kb: int
    tree_rss_kb: int
    code: int
    stdout: str
    stderr: str


class TreeRss:
    """Samples the summed RSS of every descendant of a process (not the process itself)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _children(pid: int) -> list[int]:
        out: list[int] = []
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    out += [int(c) for c in fh.read().split()]
        except OSError:
            pass
        return out

    def _loop(self) -> None:
        while not self._stop.is_set():
            total = 0
            todo = self._children(self.pid)
            while todo:
                pid = todo.pop()
                todo += self._children(pid)
                try:
                    with open(f"/proc/{pid}/statm") as fh:
                        total += int(fh.read().split()[1]) * self._page_kb
                except (OSError, IndexError, ValueError):
                    continue
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(self.interval)


def run_once(argv: list[str], cwd: Path) -> Run:
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        stats = Path(tmp) / "run.json"
        launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(stats), *argv]
        proc = subprocess.Popen(launcher, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd)
        sampler = TreeRss(proc.pid)
        sampler.start()
        proc.wait()
        sampler.stop()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        if not stats.exists():
            return Run(
                float("nan"), 0, 0, 127, stdout, stderr or f"launcher exit {proc.returncode}"
            )
        data = json.loads(stats.read_text())
        return Run(
            float(data["wall"]),
            int(data["maxrss_kb"]),
            sampler.peak_kb,
            int(data["code"]),
            stdout,
            stderr,
        )


def find_tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def tool_version(exe: str | None, *args: str) -> str:
    if exe is None:
        return "not installed"
    try:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = (done.stdout or done.stderr).strip()
    return " ".join(text.split()) if text else f"unknown (exit {done.returncode})"


# `path:line[:col]: CODE message` at the start of a line (ruff concise, flake8, loopsafe text).
LOCATION = re.compile(
    r"^(?P<path>[^\s:][^:\n]*?\.py):(?P<line>\d+)(?::\d+)?:?\s*(?P<code>[A-Z]+\d+)?"
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    code: str


def findings_of(text: str, root: Path) -> list[Finding]:
    """Every output line that starts with a location (indented trace lines are skipped)."""
    found: list[Finding] = []
    prefix = str(root).rstrip("/") + "/"
    for raw in text.splitlines():
        m = LOCATION.match(raw)
        if not m:
            continue
        path = m.group("path")
        if path.startswith(prefix):
            path = path[len(prefix) :]
        elif path.startswith("./"):
            path = path[2:]
        found.append(Finding(path, int(m.group("line")), m.group("code") or "?"))
    return found


@dataclass
class Case:
    label: str
    argv: list[str] | None
    before: Callable[[], None] | None = None
    prime: bool = False
    runs: list[Run] = field(default_factory=list)
    error: str | None = None


@dataclass
class Score:
    findings: int
    hit: set[int]  # ids of planted mistakes reported on their site line
    chain_only: set[int]  # reported only somewhere down the chain
    secondary: int  # findings on another line of a planted mistake's own statements
    decoy_hits: Counter[str]
    other: list[Finding]


def score(tree: Tree, found: list[Finding]) -> Score:
    sites = {(p.site.path, p.site.line): p for p in tree.planted}
    along: dict[tuple[str, int], list[Planted]] = {}
    own: set[tuple[str, int]] = set()
    for p in tree.planted:
        for s in p.path_sites:
            along.setdefault((s.path, s.line), []).append(p)
        own.update((s.path, s.line) for s in p.extra)
    decoys = {(d.site.path, d.site.line): d.kind for d in tree.decoys}
    hit: set[int] = set()
    chain_only: set[int] = set()
    decoy_hits: Counter[str] = Counter()
    secondary = 0
    other: list[Finding] = []
    for f in found:
        loc = (f.path, f.line)
        if loc in sites:
            hit.add(id(sites[loc]))
        elif loc in own:
            secondary += 1
        elif loc in along:
            chain_only.update(id(p) for p in along[loc])
        else:
            if loc in decoys:
                decoy_hits[decoys[loc]] += 1
            other.append(f)
    return Score(len(found), hit, chain_only - hit, secondary, decoy_hits, other)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def build_cases(root: Path) -> tuple[list[Case], dict[str, str]]:
    loopsafe = find_tool("loopsafe")
    ruff = find_tool("ruff")
    flake8 = find_tool("flake8")
    versions = {
        "loopsafe": tool_version(loopsafe, "--version"),
        "ruff": tool_version(ruff, "--version"),
        "flake8": tool_version(flake8, "--version"),
    }

    def wipe_loopsafe_cache() -> None:
        shutil.rmtree(root / ".loopsafe_cache", ignore_errors=True)

    ruff_args = ["check", "--select", "ASYNC", "--output-format", "concise"]
    cases = [
        Case(
            "`loopsafe check` cold",
            [loopsafe, "check", str(root)] if loopsafe else None,
            before=wipe_loopsafe_cache,
        ),
        Case("`loopsafe check` warm", [loopsafe, "check", str(root)] if loopsafe else None),
        Case(
            "`ruff check --select ASYNC --no-cache`",
            [ruff, *ruff_args, "--no-cache", str(root)] if ruff else None,
            prime=True,  # also brings the tree into the page cache
        ),
        Case(
            "`ruff check --select ASYNC` (warm cache)",
            [ruff, *ruff_args, str(root)] if ruff else None,
            prime=True,
        ),
        Case(
            "`flake8 --select ASYNC` (flake8-async)",
            [flake8, "--select", "ASYNC", str(root)] if flake8 else None,
        ),
    ]
    return cases, versions


def run_cases(cases: list[Case], root: Path, repeat: int, slow: float) -> None:
    """Time every case ``repeat`` times, round-robin; a case slower than ``slow`` s runs once."""

    def attempt(case: Case) -> Run | None:
        assert case.argv is not None
        if case.before is not None:
            case.before()
        run = run_once(case.argv, root)
        if run.code not in (0, 1):
            tail = (run.stderr.strip() or run.stdout.strip())[-1500:]
            case.error = f"exit {run.code}: {tail}"
            return None
        return run

    for case in cases:
        if case.argv is not None and case.prime:
            attempt(case)
    for _ in range(repeat):
        for case in cases:
            if case.argv is None or case.error is not None:
                continue
            if case.runs and case.runs[0].wall > slow:
                continue
            run = attempt(case)
            if run is not None:
                case.runs.append(run)
            print(f"  {case.label}: {f'{run.wall:.2f} s' if run else case.error}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for raw in Path("/proc/cpuinfo").read_text().splitlines():
            if raw.startswith("model name"):
                cpu = raw.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError):
        for raw in Path("/proc/meminfo").read_text().splitlines():
            if raw.startswith("MemTotal:"):
                ram = f"{int(raw.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    try:
        nproc = str(len(os.sched_getaffinity(0)))
    except AttributeError:
        nproc = str(os.cpu_count())
    return {
        "nproc": nproc,
        "cpu": cpu,
        "ram": ram,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
    }


def mb(kb: int) -> str:
    return f"{kb / 1024:.0f}"


def codes(findings: list[Finding]) -> str:
    counts = Counter(f.code for f in findings)
    return ", ".join(f"{c} x{n}" for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class Report:
    markdown: str
    data: dict[str, object]
    notes: list[str]


def speed_table(
    tree: Tree, cases: list[Case]
) -> tuple[list[str], dict[str, object], dict[str, Score]]:
    n = len(tree.planted)
    rows = [
        "| command | runs | median wall (s) | min-max (s) | max RSS (MB) | tree RSS (MB) "
        f"| exit | findings printed | planted hit (of {n}) | other findings |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    raw: dict[str, object] = {}
    scores: dict[str, Score] = {}
    for case in cases:
        if case.argv is None:
            rows.append(f"| {case.label} | 0 | not installed | | | | | | | |")
            continue
        if not case.runs:
            error = (case.error or "no run").splitlines()[0][:120].replace("|", "\\|")
            rows.append(f"| {case.label} | 0 | failed ({error}) | | | | | | | |")
            continue
        walls = [r.wall for r in case.runs]
        last = case.runs[-1]
        found = findings_of(last.stdout, tree.root)
        sc = score(tree, found)
        scores[case.label] = sc
        hit = f"{len(sc.hit)}" + (
            f" (+{len(sc.chain_only)} down the chain)" if sc.chain_only else ""
        )
        flag = " ⚠" if case.error else ""
        rows.append(
            f"| {case.label}{flag} | {len(walls)} | {median(walls):.2f} | {min(walls):.2f}-{max(walls):.2f} "
            f"| {mb(max(r.maxrss_kb for r in case.runs))} | {mb(max(r.tree_rss_kb for r in case.runs))} "
            f"| {last.code} | {sc.findings} | {hit} | {len(sc.other)} |"
        )
        raw[case.label] = {
            "argv": case.argv,
            "walls": walls,
            "maxrss_kb": [r.maxrss_kb for r in case.runs],
            "tree_rss_kb": [r.tree_rss_kb for r in case.runs],
            "exit": [r.code for r in case.runs],
            "findings": sc.findings,
            "output_lines": len(last.stdout.splitlines()),
            "planted_hit": len(sc.hit),
            "chain_only": len(sc.chain_only),
            "secondary": sc.secondary,
            "decoy_hits": dict(sc.decoy_hits),
            "other": [[f.path, f.line, f.code] for f in sc.other],
            "same_output_every_run": len({r.stdout for r in case.runs}) == 1,
            "error": case.error,
        }
    return rows, raw, scores


def recall_table(tree: Tree, scores: dict[str, Score]) -> list[str]:
    labels = list(scores)
    short = [label.split("`")[1].split()[0] if "`" in label else label for label in labels]
    seen: dict[str, int] = {}
    for i, s in enumerate(short):  # one column per tool: keep the first (cold / no-cache) case
        seen.setdefault(s, i)
    columns = [(short[i], scores[labels[i]]) for i in sorted(seen.values())]
    rows = [
        "| planted mistake | planted | " + " | ".join(name for name, _ in columns) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in columns) + " |",
    ]
    kinds = Counter(p.kind for p in tree.planted)
    for kind, count in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        cells = []
        for _, sc in columns:
            cells.append(str(sum(1 for p in tree.planted if p.kind == kind and id(p) in sc.hit)))
        rows.append(
            f"| {MISTAKE_DESCRIPTIONS.get(kind, kind)} | {count} | " + " | ".join(cells) + " |"
        )
    total = [str(len(sc.hit)) for _, sc in columns]
    rows.append(
        f"| **all** | **{len(tree.planted)}** | " + " | ".join(f"**{t}**" for t in total) + " |"
    )
    return rows


MISTAKE_DESCRIPTIONS = {
    "sleep": "`time.sleep()` in `async def`",
    "requests": "`requests.get/post()` in `async def`",
    "httpx_sync": "`httpx.get()` (sync) in `async def`",
    "urlopen": "`urllib.request.urlopen()` in `async def`",
    "session_http": "`requests.Session` singleton from `clients.py`",
    "open": "`open()` in `async def`",
    "subprocess": "`subprocess.run()` in `async def`",
    "upload_file": "`UploadFile.file.read()` in `async def`",
    "sync_db_param": "sync `Session` dependency used in `async def` route",
    "sync_db_repo": "sync repository / query helper in `async def` route",
    "sync_db_sessionlocal": "`with SessionLocal() as db: db.execute()` in `async def`",
    "method_chain": "`self._sync_method()` that opens a file",
    "chain": "sync helper chain (1-5 calls deep, across modules)",
}


def targets(cases: list[Case]) -> list[str]:
    by = {c.label: c for c in cases}
    cold = by.get("`loopsafe check` cold")
    warm = by.get("`loopsafe check` warm")
    out: list[str] = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    for name, case, limit in (("cold run", cold, TARGET_COLD_S), ("warm run", warm, TARGET_WARM_S)):
        if case and case.runs:
            v = median([r.wall for r in case.runs])
            out.append(f"- {name} ≤ {limit:g} s: {v:.2f} s, {verdict(v <= limit)}")
        else:
            out.append(f"- {name} ≤ {limit:g} s: not measured (loopsafe missing or failed)")
    runs = [r for c in (cold, warm) if c for r in c.runs]
    if runs:
        peak = max(max(r.maxrss_kb, r.tree_rss_kb) for r in runs) / 1024
        out.append(
            f"- memory ≤ {TARGET_RSS_MB:g} MB: {peak:.0f} MB peak, {verdict(peak <= TARGET_RSS_MB)}"
        )
    else:
        out.append(f"- memory ≤ {TARGET_RSS_MB:g} MB: not measured")
    return out


def planted_summary(tree: Tree) -> str:
    depths = Counter(p.depth for p in tree.planted if p.kind == "chain")
    depth_text = ", ".join(f"{n}x{d}" for d, n in sorted(depths.items()))
    return (
        f"{len(tree.planted)} planted blocking mistakes (one per {tree.lines // max(1, len(tree.planted))} "
        f"lines; chains of depth 1-5: {depth_text})"
    )


def report(
    tree: Tree, cases: list[Case], versions: dict[str, str], repeat: int, slow: float
) -> Report:
    info = machine_info()
    rows, raw, scores = speed_table(tree, cases)
    decoy_total = Counter(d.kind for d in tree.decoys)
    notes: list[str] = []
    by = {c.label: c for c in cases}
    cold, warm = by.get("`loopsafe check` cold"), by.get("`loopsafe check` warm")
    if cold and warm and cold.runs and warm.runs:
        outputs = {r.stdout for r in cold.runs + warm.runs}
        if len(outputs) > 1:
            notes.append("loopsafe printed different output across its cold and warm runs")
    for label, sc in scores.items():
        if "loopsafe" in label and label.endswith("cold"):
            notes += missed_notes(tree, sc)
        if sc.other:
            notes.append(f"{label}: other findings by code: {codes(sc.other)}")
        if sc.decoy_hits:
            notes.append(f"{label}: findings on deliberately correct code: {dict(sc.decoy_hits)}")
    md = [
        SECTION_TITLE,
        "",
        f"How long `loopsafe check` takes on a generated FastAPI codebase of {tree.lines:,} lines in "
        f"{tree.files} Python files (seed {tree.seed}: {tree.domains} domains, each with a router, "
        "service, repository, schema and ORM model module, plus `core/`, `utils/`, `deps.py`, "
        "`clients.py` and a `pyproject.toml`), next to ruff's and flake8-async's `ASYNC` rules on "
        f"the same tree. The tree holds {planted_summary(tree)}, among "
        f"{len(tree.decoys):,} marked spots of correct code that a checker could mistake for "
        "blocking (offloaded calls, sync routes, background tasks, async clients, sync helpers "
        "that do not block).",
        "",
        "Reproduce from the repository root, with the project's virtualenv active:",
        "",
        "```sh",
        "python benchmarks/check_speed.py --write-docs",
        "```",
        "",
        f"Each command is a fresh subprocess, run {repeat} times round-robin (a command slower than "
        f"{slow:g} s is run once), on a tree already in the page cache. *Cold* deletes "
        "`TREE/.loopsafe_cache` first; *warm* is the next run with nothing changed. *max RSS* is "
        "the peak of the largest single process (`wait4`; a ~10 MB floor comes from the launcher); "
        "*tree RSS* is the sampled peak of the summed RSS of the process and its children (flake8 "
        "forks a worker per core). *planted hit* counts planted mistakes reported on the exact "
        "line where the `async def` blocks (the blocking call, or its call into the blocking "
        "helper). *other findings* are reported lines that are neither a planted mistake nor "
        "another line of the same statement (such as the `fh.read()` under a planted `open()`).",
        "",
        *rows,
        "",
        "Planted mistakes found, by kind (exact line):",
        "",
        *recall_table(tree, scores),
        "",
        "Targets on this machine:",
        "",
        *targets(cases),
        "",
    ]
    if notes:
        md += ["Notes:", "", *[f"- {n}" for n in notes], ""]
    md += [
        "Machine:",
        "",
        f"- CPU: {info['cpu']}, nproc {info['nproc']}",
        f"- RAM: {info['ram']}",
        f"- Python: {info['python']} ({info['os']})",
        f"- loopsafe: {versions['loopsafe']}",
        f"- ruff: {versions['ruff']}",
        f"- flake8: {versions['flake8']}",
        "",
    ]
    data: dict[str, object] = {
        "tree": {
            "lines": tree.lines,
            "files": tree.files,
            "seed": tree.seed,
            "domains": tree.domains,
            "planted": len(tree.planted),
            "decoys": dict(decoy_total),
        },
        "machine": info,
        "versions": versions,
        "cases": raw,
    }
    return Report("\n".join(md), data, notes)


def missed_notes(tree: Tree, sc: Score) -> list[str]:
    """One note per kind of planted mistake that loopsafe missed, with an example line."""
    by_kind: dict[str, list[Planted]] = {}
    for p in tree.planted:
        if id(p) not in sc.hit:
            by_kind.setdefault(p.kind, []).append(p)
    notes = []
    for kind, missed in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        p = missed[0]
        try:
            lines = (tree.root / p.site.path).read_text().splitlines()
            text = lines[p.site.line - 1].strip()
        except (OSError, IndexError):
            lines, text = [], "?"
        where = ""
        for back in range(p.site.line - 2, max(-1, p.site.line - 40), -1):
            m = re.search(r"\bdb: ([^,()]*(?:\([^)]*\))?[^,]*)", lines[back])
            if m:
                where = f" with parameter `db: {m.group(1).rstrip(',')}`"
                break
            if lines[back].lstrip().startswith("async def"):
                break
        notes.append(
            f"loopsafe missed {len(missed)} of the {MISTAKE_DESCRIPTIONS.get(kind, kind)} "
            f"mistakes, e.g. `{p.site.path}:{p.site.line}`: `{text}`{where}"
        )
    return notes


def misses(tree: Tree, sc: Score, limit: int = 25) -> list[str]:
    out = []
    for p in tree.planted:
        if id(p) not in sc.hit:
            out.append(f"{p.site.path}:{p.site.line} {p.kind} in {p.function}")
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


def write_docs(section: str, path: Path) -> None:
    if path.exists():
        text = path.read_text()
    else:
        text = (
            "# Benchmarks\n\n"
            "Each section below is written by a script in `benchmarks/`; rerun the script to "
            "refresh its section. See `benchmarks/README.md`.\n\n"
        )
    pattern = re.compile(rf"^{re.escape(SECTION_TITLE)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip() + "\n\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section.rstrip() + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, help="generate the tree here (and keep it) instead of a temp dir"
    )
    parser.add_argument("--lines", type=int, default=100_000, help="approximate size of the tree")
    parser.add_argument("--seed", type=int, default=20240611, help="generator seed")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per command")
    parser.add_argument(
        "--slow", type=float, default=60.0, help="run a command slower than this (s) once"
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="update the section in docs/benchmarks.md"
    )
    parser.add_argument("--docs", type=Path, default=DOCS_PATH, help=argparse.SUPPRESS)
    parser.add_argument(
        "--generate-only", action="store_true", help="generate and verify the tree, time nothing"
    )
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    parser.add_argument(
        "--tools",
        default="loopsafe,ruff,flake8",
        help="comma-separated subset of loopsafe,ruff,flake8",
    )
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)

    cleanup: str | None = None
    if args.out is not None:
        out = args.out.resolve()
        if out.exists() and any(out.iterdir()) and not (out / TREE_MARKER).exists():
            parser.error(
                f"{out} is not empty and was not made by this script; refusing to overwrite it"
            )
    else:
        cleanup = tempfile.mkdtemp(prefix="loopsafe-bench-")
        out = Path(cleanup) / "tree"
    try:
        started = time.perf_counter()
        tree = generate(out, args.seed, args.lines)
        problems = verify_tree(tree)
        print(
            f"generated {tree.lines:,} lines in {tree.files} .py files ({tree.domains} domains) "
            f"at {tree.root} in {time.perf_counter() - started:.1f} s; {planted_summary(tree)}",
            file=sys.stderr,
        )
        if problems:
            print("the generated tree has problems:", *problems[:20], sep="\n  ", file=sys.stderr)
            return 2
        if args.generate_only:
            return 0
        cases, versions = build_cases(tree.root)
        wanted = {t.strip() for t in args.tools.split(",")}
        cases = [c for c in cases if c.label.strip("`").split()[0] in wanted]
        run_cases(cases, tree.root, repeat, args.slow)
        result = report(tree, cases, versions, repeat, args.slow)
        print(result.markdown)
        for case in cases:
            if case.error:
                print(f"{case.label} failed: {case.argv}\n{case.error}", file=sys.stderr)
        loopsafe_score = next(
            (s for label, s in speed_table(tree, cases)[2].items() if "loopsafe" in label), None
        )
        if loopsafe_score is not None:
            missed = misses(tree, loopsafe_score)
            if missed:
                print(
                    "planted mistakes loopsafe did not report:",
                    *missed,
                    sep="\n  ",
                    file=sys.stderr,
                )
        if args.json is not None:
            args.json.write_text(json.dumps(result.data, indent=1, default=str) + "\n")
        if args.write_docs:
            write_docs(result.markdown, args.docs)
            print(f"updated {args.docs}", file=sys.stderr)
        return 0
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
