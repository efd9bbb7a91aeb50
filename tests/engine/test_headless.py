"""engine/ is headless: importing any engine module must not pull in textual or rich."""

import pkgutil
import subprocess
import sys

import engine


def engine_modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(engine.__path__, prefix="engine.")
        if not m.name.endswith("__main__")
    )


def test_no_engine_module_imports_the_ui():
    mods = engine_modules()
    assert len(mods) > 20
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('textual', 'rich', 'tui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"engine imported UI modules: {out.stdout.strip()}"


def test_agent_command_does_not_import_tls_or_ui():
    code = (
        "import sys\n"
        "import engine.commands.agent, engine.eval.run, engine.eval.bundles\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('textual', 'rich', 'ssl', 'cryptography', 'asyncio'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
