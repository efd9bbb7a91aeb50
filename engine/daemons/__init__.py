"""vigil's daemons, one subpackage each, and what they share.

- ``execd/``, ``monitord/``, ``serverd/``: the three daemons (cf-execd, cf-monitord,
  cf-serverd's jobs), each with its own helpers; none imports another's;
- ``supervise/``: starting and stopping them (``vigil up``/``down``), the watchdog
  and its cron line;
- shared: ``lifecycle`` (the one life of a daemon process: log, lock and pidfile,
  signals), ``pidfile`` (the lock and pidfile themselves), ``detach`` (starting a
  process detached, log files and their rotation), ``procs`` (finding our own
  processes), ``config`` (the daemons' settings), ``status`` and ``health`` (what
  ``vigil status`` and the console show).

Packages here import nothing in their ``__init__``: each module is loaded alone.
"""
