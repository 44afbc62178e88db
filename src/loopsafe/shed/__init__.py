"""Backpressure for ASGI apps: load shedding and the concurrency primitives the async guides
recommend (the ``runtime`` extra). See docs/shedding.md."""

from __future__ import annotations

from loopsafe.shed.adaptive import Adaptive
from loopsafe.shed.bulkhead import Bulkhead, BulkheadFull
from loopsafe.shed.concurrency import BoundedTaskGroup, bounded_gather
from loopsafe.shed.deadline import Deadline
from loopsafe.shed.middleware import ShedMiddleware
from loopsafe.shed.offload import CpuPool, configure_threadpool, run_blocking
from loopsafe.shed.policies import Lag, Policy, Static
from loopsafe.shed.streaming import disconnect_aware
from loopsafe.shed.tasks import TaskTracker

__all__ = [
    "Adaptive",
    "BoundedTaskGroup",
    "Bulkhead",
    "BulkheadFull",
    "CpuPool",
    "Deadline",
    "Lag",
    "Policy",
    "ShedMiddleware",
    "Static",
    "TaskTracker",
    "bounded_gather",
    "configure_threadpool",
    "disconnect_aware",
    "run_blocking",
]
