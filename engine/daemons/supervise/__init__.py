"""Keeping the daemons up: ``supervisor`` (``vigil up``/``down``: start detached,
stop by pid, the deliberate-stop marker), ``watchdog`` (the cron-driven pass that
restarts execd and kills wedged agents) and ``cron`` (the line that runs it).
"""
