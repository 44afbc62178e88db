"""The blocking catalogue: which external calls block, what they return, and what offloads them.

The data lives in ``blocking.toml`` beside this file (schema: ``docs/catalogue.md``); projects extend it
with the same tables under ``[tool.loopsafe]``.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from loopsafe._errors import ConfigError

CATEGORIES = {
    "sleep": "sleeps the thread",
    "http": "sync HTTP client",
    "db": "sync DB driver",
    "file": "file I/O",
    "subprocess": "waits for a subprocess",
    "cpu": "CPU-bound",
    "lock": "thread lock or wait",
    "socket": "blocking socket",
    "mail": "sync mail client",
    "sdk": "sync SDK client",
    "loop": "runs a second event loop",
    "console": "waits for console input",
    "upload": "sync file object of an upload",
}


@dataclass(frozen=True, slots=True)
class BlockingEntry:
    """One family of blocking calls, and the arguments with which a call of it does not block."""

    category: str
    why: str
    instead: str
    unless_kwargs: tuple[tuple[str, object], ...] = ()
    unless_arg_types: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return CATEGORIES.get(self.category, self.category)


class Catalogue:
    """Lookups over the merged catalogue; every lookup is memoised."""

    def __init__(
        self, tables: list[tuple[dict[str, Any], str]], allow: tuple[str, ...] = ()
    ) -> None:
        self._exact: dict[str, BlockingEntry] = {}
        # A glob's exclusions belong to its entry; `allow` (the user's) silences any name.
        self._globs: list[tuple[re.Pattern[str], BlockingEntry, re.Pattern[str] | None]] = []
        self._allow: set[str] = set()
        self._allow_globs: list[re.Pattern[str]] = []
        self.returns: dict[str, str] = {}
        self.attributes: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self.offloads: dict[str, int] = {}
        self.awaitables: set[str] = set()
        for data, source in tables:
            self._add(data, source)
        for name in allow:
            if "*" in name:
                self._allow_globs.append(re.compile(fnmatch.translate(name)))
            else:
                self._allow.add(name)
        self._blocking_cache: dict[str, BlockingEntry | None] = {}
        self._canonical_cache: dict[str, str] = {}

    def _add(self, data: dict[str, Any], source: str) -> None:
        for i, raw in enumerate(_list(data.get("blocking", []), f"{source} blocking")):
            where = f"{source} blocking[{i}]"
            if not isinstance(raw, dict):
                raise ConfigError(f"each entry must be a table ({where})")
            names = raw.get("names", raw.get("name"))
            if isinstance(names, str):
                names = [names]
            if (
                not isinstance(names, list)
                or not names
                or not all(isinstance(n, str) for n in names)
            ):
                raise ConfigError(f"'names' must be a non-empty list of qualified names ({where})")
            category = raw.get("category", "")
            if category not in CATEGORIES:
                known = ", ".join(sorted(CATEGORIES))
                raise ConfigError(f"unknown category {category!r} ({where}): use one of {known}")
            for key in ("why", "instead"):
                if not isinstance(raw.get(key), str) or not raw[key]:
                    raise ConfigError(f"'{key}' must be a non-empty string ({where})")
            unknown = set(raw) - {
                "names", "name", "category", "why", "instead", "exclude",
                "unless-kwargs", "unless-arg-types",
            }  # fmt: skip
            if unknown:
                raise ConfigError(f"unknown key {sorted(unknown)[0]!r} ({where})")
            unless_kwargs = raw.get("unless-kwargs", {})
            unless_types = raw.get("unless-arg-types", [])
            if not isinstance(unless_kwargs, dict) or not isinstance(unless_types, list):
                raise ConfigError(
                    f"'unless-kwargs' must be a table and 'unless-arg-types' a list ({where})"
                )
            entry = BlockingEntry(
                category,
                raw["why"],
                raw["instead"],
                tuple(sorted(unless_kwargs.items())),
                tuple(str(t) for t in unless_types),
            )
            excludes = [str(n) for n in _list(raw.get("exclude", []), f"{where} exclude")]
            exclude = (
                re.compile("|".join(f"(?:{fnmatch.translate(n)})" for n in excludes))
                if excludes
                else None
            )
            for name in names:
                if "*" in name:
                    self._globs.append((re.compile(fnmatch.translate(name)), entry, exclude))
                else:
                    self._exact[name] = entry
        for table in ("returns", "attributes", "aliases"):
            mapping = data.get(table, {})
            if not isinstance(mapping, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
            ):
                raise ConfigError(
                    f"'{table}' must map qualified names to qualified names ({source} {table})"
                )
            {"returns": self.returns, "attributes": self.attributes, "aliases": self._aliases}[
                table
            ].update(mapping)
        awaitables = data.get("awaitables", [])
        if not isinstance(awaitables, list) or not all(isinstance(n, str) for n in awaitables):
            raise ConfigError(
                f"'awaitables' must be a list of qualified names ({source} awaitables)"
            )
        self.awaitables.update(awaitables)
        for i, raw in enumerate(_list(data.get("offloads", []), f"{source} offloads")):
            if (
                not isinstance(raw, dict)
                or not isinstance(raw.get("name"), str)
                or not isinstance(raw.get("arg", 0), int)
            ):
                raise ConfigError(
                    f"an offload needs 'name' (string) and 'arg' (integer) ({source} offloads[{i}])"
                )
            self.offloads[raw["name"]] = raw.get("arg", 0)

    def canonical(self, name: str) -> str:
        """Rewrite a qualified name through ``[aliases]`` (longest prefix wins)."""
        cached = self._canonical_cache.get(name)
        if cached is not None:
            return cached
        result = name
        if self._aliases:
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                prefix = ".".join(parts[:i])
                target = self._aliases.get(prefix)
                if target is not None:
                    result = ".".join([target, *parts[i:]])
                    break
        self._canonical_cache[name] = result
        return result

    def blocking(self, name: str) -> BlockingEntry | None:
        """The entry for a canonical qualified name, or None when the call does not block."""
        if name in self._blocking_cache:
            return self._blocking_cache[name]
        entry = self._exact.get(name)
        if name in self._allow or any(p.match(name) for p in self._allow_globs):
            entry = None
        elif entry is None and not name.rpartition(".")[2].startswith("__"):
            # Globs never match dunders (``requests.Session.__enter__``); list those exactly.
            for pattern, candidate, exclude in self._globs:
                if pattern.match(name) and not (exclude is not None and exclude.match(name)):
                    entry = candidate
                    break
        self._blocking_cache[name] = entry
        return entry


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"expected an array of tables ({where})")
    return value


_BUILTIN: dict[str, Any] | None = None
_BUILTIN_TEXT: str | None = None


def builtin_text() -> str:
    """The shipped catalogue's text (part of the result cache's key)."""
    global _BUILTIN_TEXT
    if _BUILTIN_TEXT is None:
        package = resources.files(__package__)
        _BUILTIN_TEXT = "".join(
            package.joinpath(name).read_text(encoding="utf-8")
            for name in ("blocking.toml", "awaitables.toml")
        )
    return _BUILTIN_TEXT


def builtin_tables() -> dict[str, Any]:
    """The shipped catalogue, parsed once per process (awaitables.toml gives ``awaitables``)."""
    global _BUILTIN
    if _BUILTIN is None:
        tables = tomllib.loads(builtin_text())
        text = resources.files(__package__).joinpath("awaitables.toml").read_text(encoding="utf-8")
        tables["awaitables"] = tomllib.loads(text)["names"]
        _BUILTIN = tables
    return _BUILTIN


def load_catalogue(extra: dict[str, Any] | None = None, allow: tuple[str, ...] = ()) -> Catalogue:
    """The shipped catalogue merged with a project's ``[tool.loopsafe]`` tables."""
    tables: list[tuple[dict[str, Any], str]] = [(builtin_tables(), "blocking.toml")]
    if extra:
        tables.append((extra, "pyproject.toml [tool.loopsafe]"))
    return Catalogue(tables, allow)
