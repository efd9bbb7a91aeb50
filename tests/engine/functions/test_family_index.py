"""The registry's name -> family table (``_index.MODULES``) must name, for every
registered function, the module that registers it: a look-up imports only that one.
A function added or moved without updating the table fails here, with the table to
paste printed."""

from __future__ import annotations

import subprocess
import sys

from engine.eval.functions import _index, registry


def _expected() -> dict[str, str]:
    registry.all_specs()  # imports every family
    return {name: mod.rsplit(".", 1)[1] for name, mod in sorted(registry.ORIGIN.items())}


def test_index_names_every_function_and_its_module() -> None:
    want = _expected()
    table = "".join(f'    "{n}": "{m}",\n' for n, m in want.items())
    assert want == _index.MODULES, (
        "engine/eval/functions/_index.py is out of date; its table should read:\n"
        f"MODULES: dict[str, str] = {{\n{table}}}")
    assert set(want.values()) <= set(registry.FAMILIES)
    assert set(want) == set(registry.TABLE)


def test_lookup_imports_only_the_family() -> None:
    code = (
        "import sys\n"
        "from engine.eval.functions import registry\n"
        "spec = registry.lookup('canonify')\n"
        "assert spec is not None and spec.name == 'canonify'\n"
        "fams = [f for f in registry.FAMILIES if f'engine.eval.functions.{f}' in sys.modules]\n"
        "assert 'lists' not in fams, fams\n"
        "assert not registry._loaded\n"
        "assert registry.lookup('nosuchfunction') is None and registry._loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
