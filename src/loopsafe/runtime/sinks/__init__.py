"""Where stall events and figures go. A sink has optional hooks, called from the watchdog thread:
``on_stall(event)`` once per stall and ``on_tick(monitor)`` every poll (about 100 times a second,
so keep it cheap). A sink that raises is disabled and logged once; the app goes on."""

from __future__ import annotations

from typing import Any, Protocol


class Sink(Protocol):
    """Marker protocol: implement any of ``on_stall(event)`` and ``on_tick(monitor)``."""


def default_sinks(log_stalls: bool, prometheus: Any) -> list[Any]:
    sinks: list[Any] = []
    if log_stalls:
        from loopsafe.runtime.sinks.logging import LogSink

        sinks.append(LogSink())
    if prometheus_wanted(prometheus):
        from loopsafe.runtime.sinks.prometheus import PrometheusSink

        sinks.append(PrometheusSink(None if prometheus in (None, True) else prometheus))
    return sinks


def prometheus_wanted(prometheus: Any) -> bool:
    """Whether to export metrics: False never; None when prometheus_client is installed; True
    or a registry always (a ConfigError when prometheus_client is missing)."""
    if prometheus is False:
        return False
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        if prometheus is not None:
            from loopsafe._errors import ConfigError

            raise ConfigError(
                "prometheus=True needs prometheus_client: pip install 'loopsafe[runtime]'"
            ) from None
        return False
    return True
