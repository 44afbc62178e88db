"""Planning: which utils, domains, functions and call edges exist, and where mistakes go.

Everything is drawn from one ``random.Random(seed)``, shared with the renderers, so the order of
draws is part of the output: the same seed gives the same tree.
"""

from __future__ import annotations

import random

from .emit import Expressions, Module
from .spec import (
    CLASS_ONLY,
    LEAF_KINDS,
    MISTAKE_WEIGHTS,
    PACKAGE,
    ROUTE_ONLY,
    Decoy,
    Domain,
    Fn,
    Planted,
    UtilModule,
)
from .words import (
    ASYNC_VERBS,
    BLOCK_VERBS,
    FIELD_POOL,
    NOUNS,
    OBJS,
    PARAM_SHAPES,
    PURE_VERBS,
    RETURN_TYPES,
    UTIL_THEMES,
    camel,
    plural,
    singular,
)


class Generator(Expressions):
    """The plan of one tree, and the rng and records (planted, decoys) its renderers share."""

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
