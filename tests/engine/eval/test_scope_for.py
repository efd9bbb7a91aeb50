"""Splitting a variable reference into (scope, name), with the text-only part cached,
answers as the uncached split did, in default and named namespaces."""

from __future__ import annotations

from engine.eval.context import SPECIAL_SCOPES, EvalContext, Frame


def _reference_split(ctx: EvalContext, ref: str) -> tuple[str, str]:
    ns = None
    if ":" in ref.split("[", 1)[0]:
        ns, _, ref = ref.partition(":")
    head = ref.split("[", 1)[0]
    if "." in head:
        dot = ref.index(".")
        bundle, name = ref[:dot], ref[dot + 1 :]
        if ns is None and bundle in SPECIAL_SCOPES:
            return bundle, name
        return f"{ns or ctx._bundle_ns(bundle)}:{bundle}", name
    frame = ctx.frames[-1] if ctx.frames else None
    scope = frame.scope if frame else "default:main"
    if ns is not None and frame is not None:
        scope = f"{ns}:{frame.bundle}"
    return scope, ref


REFS = ["x", "b.x", "sys.fqhost", "this.promiser", "ns1:b.x", "ns1:x", "b.x[k.y]",
        "x[a.b]", "b.x[ns:y]", ":b.x", "const.n", "ns1:sys.x", "a.b.c", "x[k]"]


def test_scope_for_matches_the_uncached_split() -> None:
    ctx = EvalContext()
    ctx.set_var("ns1:b", "x", "1")
    for frames in ([], [Frame("default", "main")], [Frame("ns1", "here")]):
        ctx.frames = list(frames)
        for ref in REFS:
            for _ in range(2):  # first from the text, then from the cache
                assert ctx._scope_for(ref) == _reference_split(ctx, ref), (frames, ref)
