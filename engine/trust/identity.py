"""Who this host and user are on the wire.

The host name a client claims in its hello (and a server in its greeting) is
``VIGIL_HOSTNAME`` when set, else the system's host name. Several vigil hosts
can thus share one machine (tests, demos) and still be told apart. The user is
the effective user's login name, as cf-agent's ``IDENTITY USERNAME=``.
"""

from __future__ import annotations

import os
import pwd
import socket


def host_name() -> str:
    return os.environ.get("VIGIL_HOSTNAME") or socket.gethostname() or "localhost"


def user_name() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())
