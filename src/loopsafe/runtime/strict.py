"""Strict mode, for development and tests: a blocking call on the loop thread raises (or is logged
with its stack) at the moment it happens. The patching is blockbuster's: it knows which stdlib
and library functions block, and which callers may. We add only a "log" mode on top."""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from loopsafe._errors import ConfigError

log = logging.getLogger("loopsafe.runtime")
MODES = ("raise", "log")


class StrictMode:
    """Activates blockbuster for the monitor's lifetime."""

    def __init__(self, mode: str) -> None:
        if mode not in MODES:
            raise ConfigError(
                f"strict must be one of {', '.join(MODES)} or False, got {mode!r} (install())"
            )
        try:
            from blockbuster import BlockBuster
        except ImportError:
            raise ConfigError(
                "strict mode needs blockbuster: pip install 'loopsafe[runtime]'"
            ) from None
        self.mode = mode
        self._buster = BlockBuster()
        self._last_logged: dict[tuple[str, str], float] = {}
        if mode == "log":
            for function in self._buster.functions.values():
                function.can_block_predicate = self._log_and_allow(function.full_name)

    def _log_and_allow(self, name: str) -> Any:
        def predicate(*args: Any, **kwargs: Any) -> bool:
            stack = traceback.extract_stack(limit=12)[:-2]  # without blockbuster's own frames
            caller = f"{stack[-1].filename}:{stack[-1].lineno}" if stack else "?"
            now = time.monotonic()
            if now - self._last_logged.get((name, caller), -60.0) >= 60.0:  # once a minute per site
                self._last_logged[(name, caller)] = now
                log.warning(
                    "blocking call %s on the event loop at %s\n%s",
                    name,
                    caller,
                    "".join(traceback.format_list(stack)),
                )
            return True

        return predicate

    def activate(self) -> None:
        self._buster.activate()

    def deactivate(self) -> None:
        self._buster.deactivate()
