"""A stand-in agent for the concurrency test: waits for the start signal, then
tries every lock name once, appending ``S name pid`` / ``E name pid`` around
each promise it won."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from engine.state.locks import LockDB


def main(db_path: str, go_file: str, out_file: str, count: int, ifelapsed: int) -> int:
    names = [f"conc.files.create.-h._tmp_p{i}_{i}_MD5={i:032x}" for i in range(count)]
    db = LockDB.open(db_path)
    while not Path(go_file).exists():
        time.sleep(0.001)
    fd = os.open(out_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for name in names:
            if db.acquire(name, ifelapsed, 120).acquired:
                os.write(fd, f"S {name} {os.getpid()}\n".encode())
                os.write(fd, f"E {name} {os.getpid()}\n".encode())
                db.release(name)
    finally:
        os.close(fd)
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
