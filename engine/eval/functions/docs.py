"""Render the list of supported functions as Markdown (docs/functions.md).

``python -m engine.eval.functions.docs > docs/functions.md``
"""

from __future__ import annotations

from engine.eval.functions.registry import all_specs

_HEADER = """# Policy functions

Every function vigil's agent evaluates, generated from the registry
(`python -m engine.eval.functions.docs > docs/functions.md`). Results match
cf-agent 3.21, including its quirks; differences are listed under each family's
module docstring in `engine/eval/functions/`.

| Function | Returns | Description |
|---|---|---|
"""


def render_markdown() -> str:
    rows = []
    for spec in all_specs():
        first, _, rest = spec.doc.partition("\n")
        sig, _, desc = first.partition(": ")
        desc = " ".join([desc.strip(), *(ln.strip() for ln in rest.splitlines())]).strip()
        desc = desc.replace("``", "`").replace("|", "&#124;")
        rows.append(f"| `{sig}` | {spec.returns} | {desc} |")
    return _HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
