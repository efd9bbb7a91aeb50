"""usemodule: run a module from the workdir's ``modules`` directory and take in what
it prints in the module protocol (``+class``, ``-class``, ``=var=value``, ...), as a
``commands`` promise with ``module => "true"`` would; read_module_protocol: the same
from a file (a module's output kept from an earlier run)."""

from __future__ import annotations

import os

from engine.eval.functions.exec_fns import EXEC_TIMEOUT, split_command
from engine.eval.functions.registry import FnEnv, FunctionError, function


@function("usemodule", "class", 2, 2)
def usemodule(env: FnEnv, module: str, args: str) -> bool:
    """usemodule(module, args): run ``$(sys.workdir)/modules/<module> args``; its
    classes and variables (in context ``canonify(module)``) are defined. True once the
    module has run, whatever its exit status (as in cf-agent 3.21)."""
    import subprocess

    from engine.promises.commands.module_protocol import parse
    from engine.text import canonify

    if "/" in module or module in ("", ".", ".."):
        raise FunctionError(f"Function 'usemodule': invalid module name '{module}'")
    path = os.path.join(env.workdir, "modules", module)
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise FunctionError(f"Function 'usemodule': module '{path}' is missing or not executable")
    try:
        proc = subprocess.run([path, *split_command(args)], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=EXEC_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise FunctionError(f"Function 'usemodule': module '{path}' could not be run ({e})") from None
    lines = proc.stdout.decode("utf-8", "surrogateescape").split("\n")
    out = parse(lines, canonify(module), env.log)
    if getattr(env, "ctx", None) is not None:
        from engine.eval.outcomes import apply_module

        apply_module(env, out)
    return True


@function("read_module_protocol", "class", 1, 1)
def read_module_protocol(env: FnEnv, path: str) -> bool:
    """read_module_protocol(file_path): take in the file's lines as a module's output
    (classes, variables in context ``canonify(basename(file_path))`` unless a
    ``^context=`` line names another); false when the file cannot be read."""
    from engine.promises.commands.module_protocol import parse
    from engine.text import canonify

    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "surrogateescape")
    except OSError as e:
        env.log.verbose(f"read_module_protocol: could not read '{path}' ({e.strerror})")
        return False
    out = parse(text.split("\n"), canonify(os.path.basename(path)), env.log)
    if getattr(env, "ctx", None) is not None:
        from engine.eval.outcomes import apply_module

        apply_module(env, out)
    return True
