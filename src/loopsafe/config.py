"""``[tool.loopsafe]`` from ``pyproject.toml``, validated into frozen Settings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopsafe._errors import ConfigError

_LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude", "allow")
_CATALOGUE_KEYS = ("blocking", "returns", "attributes", "aliases", "offloads", "awaitables")
KNOWN_KEYS = (*_LIST_KEYS, *_CATALOGUE_KEYS, "cache-dir")


@dataclass(frozen=True, slots=True)
class Settings:
    """Checker settings. ``root`` is the project directory (holding pyproject.toml, or the cwd)."""

    root: Path
    source: str = "defaults"
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    catalogue: dict[str, Any] = field(default_factory=dict)
    cache_dir: Path | None = None


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``."""
    start = start.resolve()
    for directory in (start, *start.parents) if start.is_dir() else start.parents:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(start: Path, config: Path | None = None) -> Settings:
    """Settings from ``config`` or the nearest pyproject.toml above ``start``."""
    path = config if config is not None else find_pyproject(start)
    if path is None:
        return Settings(root=Path.cwd())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}: fix the file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    table = data.get("tool", {}).get("loopsafe", {}) if path.name == "pyproject.toml" else data
    return settings_from_table(table, path)


def settings_from_table(table: Any, path: Path) -> Settings:
    where = f"{path.name} [tool.loopsafe]" if path.name == "pyproject.toml" else str(path)
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.loopsafe] must be a table ({where})")
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} ({where}): known keys are {', '.join(KNOWN_KEYS)}"
        )
    lists: dict[str, tuple[str, ...]] = {}
    for key in _LIST_KEYS:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key!r} must be a list of strings ({where} {key})")
        lists[key] = tuple(value)
    cache_dir = table.get("cache-dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        raise ConfigError(f"'cache-dir' must be a string ({where} cache-dir)")
    root = path.parent.resolve()
    return Settings(
        root=root,
        source=where,
        select=lists["select"] if "select" in table else None,
        ignore=lists["ignore"],
        extend_select=lists["extend-select"],
        exclude=(*lists["exclude"], *lists["extend-exclude"]),
        allow=lists["allow"],
        catalogue={k: table[k] for k in _CATALOGUE_KEYS if k in table},
        cache_dir=(root / cache_dir) if cache_dir else None,
    )
