"""Watching the policy directory with watchfiles' inotify core, without anyio.

``import watchfiles`` pulls in anyio (a few MB of RSS and ~80 ms); execd only
needs the Rust notifier, so it loads ``watchfiles._rust_notify`` from its file
without running the package ``__init__``, and drives it from one thread that
calls ``on_change`` after each debounced batch of changes.
"""

from __future__ import annotations

# importlib loads the third-party extension module from its file (see above); vigil's
# own modules are imported statically (tests/test_layers.py)
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.workdir import make_dirs

_MODULE = "watchfiles._rust_notify"


def _rust_notify() -> ModuleType:
    if _MODULE in sys.modules:
        return sys.modules[_MODULE]
    spec = importlib.util.find_spec("watchfiles")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("watchfiles is not installed")
    for base in spec.submodule_search_locations:
        for so in sorted(Path(base).glob("_rust_notify*.so")):
            loader = importlib.machinery.ExtensionFileLoader(_MODULE, str(so))
            sub = importlib.util.spec_from_file_location(_MODULE, so, loader=loader)
            if sub is None:
                continue
            mod = importlib.util.module_from_spec(sub)
            loader.exec_module(mod)
            sys.modules[_MODULE] = mod
            return mod
    raise ImportError("watchfiles._rust_notify not found")


def _ignored(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith(".") or name.endswith(("~", ".swp", ".swx", ".tmp"))


class PolicyWatcher:
    """Calls ``on_change(paths)`` from a background thread when files under ``root`` change."""

    def __init__(
        self,
        root: Path,
        on_change: Callable[[set[str]], None],
        debounce_ms: int = 300,
        step_ms: int = 50,
    ) -> None:
        self.root = root
        self.on_change = on_change
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._notify: Any = None

    def start(self) -> None:
        mod = _rust_notify()
        make_dirs(self.root, 0o700)
        self._notify = mod.RustNotify([str(self.root)], False, False, 300, True, False)
        self._thread = threading.Thread(target=self._run, name="policy-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                r = self._notify.watch(self.debounce_ms, self.step_ms, 1000, self._stop)
            except Exception:  # noqa: BLE001 - the directory vanished, inotify limits...
                self._stop.wait(1.0)
                continue
            if isinstance(r, set):
                paths = {p for _, p in r if not _ignored(p)}
                if paths:
                    self.on_change(paths)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
        if self._notify is not None:
            try:
                self._notify.close()
            except Exception:  # noqa: BLE001
                pass
