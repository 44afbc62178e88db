"""Helpers of the runtime-monitor benchmarks, ``monitor_overhead.py`` and ``stall_detection.py``.

``common`` has the machine description and the ``docs/benchmarks.md`` section writer; ``server``
runs uvicorn as a subprocess; ``wrk`` runs and parses wrk; ``overhead_app`` and ``stall_app`` are
the apps under test; ``fixtures``, ``traffic``, ``scoring`` and the ``*_report`` modules are the
stall-detection and overhead plumbing. See ``benchmarks/README.md``.
"""
