"""Is real CFEngine installed here, and a workdir its programs run in: the one place tests
and bench ask.

No pytest here: bench imports this module as it is (``tests/cfengine.py`` re-exports it
and adds the test markers). ``VIGIL_TESTS_CFENGINE=0`` makes both behave as on a host
without CFEngine: :func:`which` then finds no CFEngine program.

The workdir recipe (what cf-agent needs to run a policy and start nothing):
``CFENGINE_TEST_OVERRIDE_WORKDIR`` names the workdir (:func:`cf_env`), ``bin`` links to the
directory of the installed programs (cf-agent refuses to run without ``bin/cf-promises``),
``ppkeys`` holds a key pair (made once per process and copied), and ``inputs/failsafe.cf``
does nothing: cf-agent falls back to it when a policy fails validation, and its built-in
one would start cf-serverd from ``bin``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar

F = TypeVar("F")


def runs_cfengine(func: F) -> F:
    """Mark a helper that runs a CFEngine program (or makes what one needs): a test that
    calls it, itself or through other helpers of ``tests``, is marked ``cfengine``
    (tests/conftest.py)."""
    func.runs_cfengine = True  # type: ignore[attr-defined]
    return func


#: The programs every CFEngine test may use; ``requires_cfengine`` checks for these.
BASE_PROGRAMS = ("cf-agent", "cf-key", "cf-promises")
ENABLED = os.environ.get("VIGIL_TESTS_CFENGINE", "1") != "0"


@runs_cfengine
def which(program: str) -> str | None:
    """The path of a CFEngine program; None where absent (or CFEngine is switched off)."""
    return shutil.which(program) if ENABLED else None


CF_AGENT: str | None = which("cf-agent")
#: The directory of the installed programs, which a workdir's ``bin`` links to.
CF_BINDIR: Path | None = Path(CF_AGENT).parent if CF_AGENT else None


def missing(*programs: str) -> list[str]:
    """Of :data:`BASE_PROGRAMS` and ``programs``, the ones not installed."""
    return [p for p in dict.fromkeys((*BASE_PROGRAMS, *programs)) if which(p) is None]


#: cf-agent and the programs a workdir needs (cf-key, cf-promises) are installed.
HAVE_CFENGINE: bool = not missing()


@runs_cfengine
def cf_version() -> str | None:
    """``cf-agent --version`` (``CFEngine Core 3.21.x``); None where cf-agent is absent."""
    if CF_AGENT is None:
        return None
    return subprocess.run(["cf-agent", "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()


#: Does nothing, starts nothing: the fallback cf-agent runs after a validation failure.
INERT_FAILSAFE = 'bundle agent main { }\nbody common control { bundlesequence => { "main" }; }\n'

#: A minimal, fixed environment for agents (locale and time zone independent output).
CLEAN_ENV: Mapping[str, str] = {
    "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    "LC_ALL": "C",
    "TZ": "UTC",
}

_KEYS_LOCK = threading.Lock()
_KEYS: Path | None = None


def host() -> str:
    """The unqualified host name both agents put in lock keys."""
    return os.uname().nodename.split(".")[0]


@runs_cfengine
def cf_env(workdir: Path, base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default: this process's environment) with cf-agent pointed at ``workdir``."""
    env = dict(os.environ if base is None else base)
    env.update(extra)
    env["CFENGINE_TEST_OVERRIDE_WORKDIR"] = str(workdir)
    return env


def _make_keys_with_cryptography(ppkeys: Path) -> None:
    """A PKCS#1 RSA-2048 pair as cf-key writes it, where cf-key is absent."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    ppkeys.mkdir(mode=0o700)
    for name, data in (("localhost.priv", priv), ("localhost.pub", pub)):
        (ppkeys / name).write_bytes(data)
        (ppkeys / name).chmod(0o600)


@runs_cfengine
def key_pair() -> Path:
    """A ``ppkeys`` directory with ``localhost.priv``/``.pub``, made once per process
    (by cf-key where installed) and removed at exit; copy it, never write into it."""
    global _KEYS
    with _KEYS_LOCK:
        if _KEYS is None:
            base = Path(tempfile.mkdtemp(prefix="vigil-test-keys-"))
            atexit.register(shutil.rmtree, base, True)
            if CF_BINDIR is not None and which("cf-key"):
                (base / "bin").symlink_to(CF_BINDIR)
                subprocess.run(["cf-key"], env=cf_env(base, CLEAN_ENV), check=True,
                               capture_output=True, timeout=60)
            else:
                _make_keys_with_cryptography(base / "ppkeys")
            _KEYS = base / "ppkeys"
        return _KEYS


@runs_cfengine
def install_keys(workdir: Path) -> None:
    """Copy the process's key pair into ``workdir/ppkeys`` (mode 0700)."""
    shutil.copytree(key_pair(), workdir / "ppkeys")
    (workdir / "ppkeys").chmod(0o700)


@runs_cfengine
def make_workdir(root: Path, *, keys: Literal["shared", "own"] | None = "shared",
                 failsafe: str | None = INERT_FAILSAFE, inputs_mode: int = 0o755,
                 programs: tuple[str, ...] | None = None) -> Path:
    """``root`` made ready for cf-agent: ``bin``, a key pair (``"shared"``: the process's,
    copied; ``"own"``: made by cf-key, for tests where hosts must differ; None: none) and
    an inert ``inputs/failsafe.cf`` (``failsafe=None``: none; another text: that one).
    ``programs`` makes ``bin`` a directory holding links to those programs only, so that
    no daemon can be started from the workdir (default: ``bin`` links to the directory of
    every installed program). Returns ``root``; what is there already is kept."""
    assert CF_BINDIR is not None, "make_workdir needs cf-agent: mark the test requires_cfengine"
    root.mkdir(parents=True, exist_ok=True)
    if programs is None:
        if not (root / "bin").is_symlink():
            (root / "bin").symlink_to(CF_BINDIR)
    else:
        (root / "bin").mkdir(exist_ok=True)
        for prog in programs:
            if not (root / "bin" / prog).is_symlink():
                (root / "bin" / prog).symlink_to(which(prog) or CF_BINDIR / prog)
    if keys and not (root / "ppkeys" / "localhost.priv").exists():
        if keys == "own":
            subprocess.run(["cf-key"], env=cf_env(root), check=True, capture_output=True,
                           timeout=60)
        else:
            install_keys(root)
    inputs = root / "inputs"
    if not inputs.exists():
        inputs.mkdir(mode=inputs_mode)
    if failsafe is not None:
        (inputs / "failsafe.cf").write_text(failsafe)
    return root
