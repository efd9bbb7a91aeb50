"""Make malformed policies from real ones and feed them to vigil in one process.

``python -m tests.engine.hostile.malform OUT_DIR SOURCE...`` writes mutated copies of
each source file (truncated, braces and quotes dropped or doubled, lines swapped,
references opened and never closed, deep nesting spliced in), then checks each with
``vigil promises`` and runs ``vigil agent -n -K`` on the small ones, printing one JSON
line per case: the command, the exit status and any traceback. The caller asserts
there is none.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import sys
import traceback
from pathlib import Path

PUNCT = '{}();,"\'=>:$@[]'
SPLICES = ["$(", "@(", "((((((((((((", "concat(" * 12, '"', "{", "}", "::", "=>", "\\", "\x00",
           "\xe9", "\U0001f600", "$(a.$(b.$(c)))"]


def mutations(text: str, rng: random.Random, count: int) -> list[str]:
    out: list[str] = []
    lines = text.split("\n")
    for _ in range(count):
        kind = rng.randrange(7)
        if kind == 0 and text:
            out.append(text[: rng.randrange(len(text))])
        elif kind == 1:
            idx = [i for i, ch in enumerate(text) if ch in PUNCT]
            if idx:
                i = rng.choice(idx)
                out.append(text[:i] + text[i + 1:])
                continue
            out.append(text + "}")
        elif kind == 2 and text:
            i = rng.randrange(len(text))
            out.append(text[:i] + rng.choice(PUNCT) + text[i:])
        elif kind == 3 and len(lines) > 2:
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            ls = list(lines)
            ls[a], ls[b] = ls[b], ls[a]
            out.append("\n".join(ls))
        elif kind == 4 and lines:
            i = rng.randrange(len(lines))
            out.append("\n".join(lines[:i] + [lines[i]] * 3 + lines[i + 1:]))
        elif kind == 5 and text:
            i = rng.randrange(len(text))
            out.append(text[:i] + rng.choice(SPLICES) + text[i:])
        else:
            out.append(text.replace('"', "", rng.randrange(1, 4)))
    return out


def _run_cli(argv: list[str]) -> tuple[int, str | None]:
    from engine.cli import main

    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            code = main(argv)
    except SystemExit as e:
        return int(e.code or 0) if isinstance(e.code, int) else 1, None
    except BaseException:  # what the test looks for: any escape is a finding
        return -1, traceback.format_exc()
    return int(code or 0), None


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0])
    per_file = int(argv[1])
    sources = [Path(a) for a in argv[2:]]
    rng = random.Random(20261203)
    workdir = out_dir / "wd"
    n = 0
    for src in sources:
        try:
            text = src.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            continue
        for variant in mutations(text, rng, per_file):
            n += 1
            f = out_dir / f"case{n:04d}.cf"
            f.write_text(variant, encoding="utf-8", errors="surrogateescape")
            for cmd in (["promises", "-f", str(f)],
                        ["agent", "-n", "-K", "-w", str(workdir), "-f", str(f)]):
                if cmd[0] == "agent" and len(variant) > 20000:
                    continue  # big files are parsed and validated; small ones also run
                code, tb = _run_cli(cmd)
                print(json.dumps({"source": str(src), "case": str(f), "cmd": cmd[0],
                                  "code": code, "traceback": tb}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
