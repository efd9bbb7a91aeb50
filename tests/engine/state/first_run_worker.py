"""A stand-in agent for the first-run race: for each lock database path read
from stdin, open it as a fresh agent would (creating it when it is not there),
try one promise with ``ifelapsed`` 60, and answer ``won`` or ``lost``."""

from __future__ import annotations

import sys

from engine.state.locks import LockDB

NAME = "race.commands.-h._bin_sh_1_MD5=00000000000000000000000000000000"


class _Log:
    """Error lines go to stderr, where the test looks for them."""

    def error(self, msg: str) -> None:
        print(f"error: {msg}", file=sys.stderr, flush=True)

    def info(self, msg: str) -> None:
        pass

    def verbose(self, msg: str) -> None:
        pass


def main() -> int:
    log = _Log()
    for line in sys.stdin:
        path = line.strip()
        if not path:
            continue
        db = LockDB.open(path, log=log)
        try:
            won = db.acquire(NAME, 60, 120).acquired
            if won:
                db.release(NAME)
        finally:
            db.close()
        print("won" if won else "lost", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
