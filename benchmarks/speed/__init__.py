"""Timing, scoring and reporting for ``check_speed.py``.

* ``timing``: run each command as a subprocess, measuring wall time and peak RSS;
* ``scoring``: parse what a tool printed and match it against the planted mistakes;
* ``tables``: the speed table, the recall-by-kind table and the targets list;
* ``report``: the ``## check speed`` markdown section and the docs writer.
"""
