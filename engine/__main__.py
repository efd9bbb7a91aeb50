"""``python -m engine`` is ``vigil``; daemons use it to start the agent without the shim."""

import sys

from engine.cli import main

sys.exit(main())
