"""Is real CFEngine here, and how a test gives cf-agent a workdir of its own.

The one place tests ask whether Debian's ``cfengine3`` is installed: the detection and the
workdir recipe live in :mod:`tests.cfhost` (free of pytest, so bench imports it too) and
are re-exported here beside the test markers. A test that cannot run without CFEngine is
marked ``@requires_cfengine`` (``pytestmark = requires_cfengine`` for a module;
``requires_cfengine("cf-serverd")`` names programs beyond cf-agent, cf-key and
cf-promises): ``tests/conftest.py`` skips it where they are absent. Every test that runs a
CFEngine program carries the ``cfengine`` marker, put there by conftest when the test calls
a helper decorated :func:`runs_cfengine` (see
:func:`tests.conftest.pytest_collection_modifyitems`), so ``-m "not cfengine"`` leaves them
all out.

``VIGIL_TESTS_CFENGINE=0`` makes the suite behave as on a host without CFEngine:
differential tests then check vigil alone against the expectations written in them.
``tests/test_tiers.py`` fails when a test or a benchmark asks by itself.
"""

from __future__ import annotations

import pytest

from tests.cfhost import (
    BASE_PROGRAMS,
    CF_AGENT,
    CF_BINDIR,
    CLEAN_ENV,
    ENABLED,
    HAVE_CFENGINE,
    INERT_FAILSAFE,
    cf_env,
    cf_version,
    host,
    install_keys,
    key_pair,
    make_workdir,
    missing,
    runs_cfengine,
    which,
)

__all__ = [
    "BASE_PROGRAMS", "CF_AGENT", "CF_BINDIR", "CLEAN_ENV", "ENABLED", "HAVE_CFENGINE",
    "INERT_FAILSAFE", "cf_env", "cf_version", "host", "install_keys", "key_pair",
    "make_workdir", "missing", "requires_cfengine", "runs_cfengine", "which",
]

#: Marks a test (or, as ``pytestmark``, a module) that cannot run without CFEngine; call it
#: with program names to require more (``requires_cfengine("cf-serverd")``).
requires_cfengine = pytest.mark.cfengine(required=True)
