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
    if prometheus is not False:
        try:
            from loopsafe.runtime.sinks.prometheus import PrometheusSink
        except ImportError:
            if prometheus is not None:
                from loopsafe._errors import ConfigError

                raise ConfigError(
                    "prometheus=True needs prometheus_client: pip install 'loopsafe[runtime]'"
                ) from None
        else:
            sinks.append(PrometheusSink(None if prometheus in (None, True) else prometheus))
    return sinks
