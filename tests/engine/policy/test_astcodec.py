"""The parse cache's form: every real policy file rebuilt equals a fresh parse, positions
included, and data of the wrong shape is refused."""

from __future__ import annotations

import marshal
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.policy.ast import Body, Bundle, Constraint, FnCall, PolicyFile, Promise, RList, Scalar
from engine.policy.astcodec import MALFORMED, encode, rebuild
from engine.policy.diagnostics import PolicySyntaxError
from engine.policy.parser import parse_source, parse_text
from engine.policy.source import decode

ROOT = Path(__file__).resolve().parents[3]
CORPORA = {
    "masterfiles": Path("/var/lib/cfengine3/masterfiles"),
    "conformance": ROOT / "tests" / "conformance" / "cases",
    "acceptance": ROOT.parent / "shared" / "cfengine-acceptance" / "suite",
    "acceptance-tests": ROOT.parent / "shared" / "cfengine-acceptance" / "tests",
}

POLICY = """\
body file control { namespace => "ns1"; }
@if minimum_version(3.7)
bundle agent main(a, b)
{
  meta: "tags" slist => { "x" };
  vars:
    linux.!debian::
      "v" string => "q\\"d", comment => 'sq';
      "l" slist => { "x", @(b), concat("a", $(b), f(g("h"))), bare };
  "$(a)"::
    "w" string => `back`, if => and(not("x"), "y");
  reports:
    "hello" -> { "p1", "p2" } handle => "h";
    "x" -> "single";
    "y";
}
@else
bundle agent gone { }
@endif
body perms p(m)
{
  linux::
    mode => "$(m)";
  !linux::
    owners => { "root" };
}
promise agent custom { path => "/bin/x"; interpreter => "/bin/sh"; }
"""


def walk(pf: PolicyFile) -> Iterator[tuple[str, object]]:
    """(kind, what) for every node, its position and its fields, in order."""

    def rval(r: Scalar | RList | FnCall) -> Iterator[tuple[str, object]]:
        yield type(r).__name__, (r.pos, r.pos_file)
        if isinstance(r, Scalar):
            yield "scalar", (r.value, r.quoted)
        elif isinstance(r, RList):
            for i in r.items:
                yield from rval(i)
        else:
            yield "call", r.name
            for a in r.args:
                yield from rval(a)

    def constraints(cs: tuple[Constraint, ...]) -> Iterator[tuple[str, object]]:
        for c in cs:
            yield "constraint", (c.lval, c.guard, c.pos, c.pos_file)
            yield from rval(c.rval)

    yield "file", pf.path
    for b in pf.bundles:
        assert type(b) is Bundle
        yield "bundle", (b.bundle_type, b.name, b.args, b.namespace, b.pos, b.sections)
        for p in b.promises:
            assert type(p) is Promise
            yield "promise", (p.promise_type, p.promiser, p.guard, p.quoted, p.pos, p.pos_file)
            if p.promisee is not None:
                yield from rval(p.promisee)
            yield from constraints(p.constraints)
    for body in pf.bodies:
        assert type(body) is Body
        yield "body", (body.body_type, body.name, body.args, body.namespace, body.pos)
        yield from constraints(body.constraints)


def round_trip(text: str, path: str) -> PolicyFile:
    """parse -> encode -> marshal -> rebuild, as the cache does."""
    pf, processed = parse_source(text, path)
    data = marshal.loads(marshal.dumps(encode(pf)))
    return rebuild(data, processed, path)


def located(pf: PolicyFile) -> Iterator[Bundle | Body | Promise | Constraint | Scalar | RList | FnCall]:
    def rval(r: Scalar | RList | FnCall) -> Iterator[Scalar | RList | FnCall]:
        yield r
        for i in r.items if isinstance(r, RList) else r.args if isinstance(r, FnCall) else ():
            yield from rval(i)

    for b in (*pf.bundles, *pf.bodies):
        yield b
        for p in b.promises if isinstance(b, Bundle) else ():
            yield p
            if p.promisee is not None:
                yield from rval(p.promisee)
            for c in p.constraints:
                yield c
                yield from rval(c.rval)
        for c in b.constraints if isinstance(b, Body) else ():
            yield c
            yield from rval(c.rval)


def assert_same(text: str, path: str) -> None:
    rebuilt = round_trip(text, path)
    fresh = parse_text(text, path)
    # the rebuilt file's positions are worked out first, last node first (its line
    # index must not depend on the order of look-ups); the fresh file's in file order
    for node in reversed(list(located(rebuilt))):
        assert node.pos.file == path
    assert list(walk(rebuilt)) == list(walk(fresh))
    assert rebuilt == fresh
    assert hash(rebuilt) == hash(fresh)


def test_a_policy_with_every_kind_of_node_and_macros() -> None:
    assert_same(POLICY, "/p/t.cf")
    rebuilt = round_trip(POLICY, "/p/t.cf")
    assert [b.name for b in rebuilt.bundles] == ["main"]  # the @else branch is gone
    assert (rebuilt.bundles[0].promises[0].pos.line, rebuilt.bundles[0].promises[0].pos.col) == (5, 9)


def test_crlf_and_undecodable_bytes() -> None:
    text = decode(b'bundle agent m\r\n{\r  reports:\r\n    "caf\xe9 \xff";\r\n}\r\n')
    assert "\r" not in text
    assert_same(text, "m.cf")


@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_every_policy_file_of_a_corpus_round_trips(corpus: str) -> None:
    root = CORPORA[corpus]
    if not root.is_dir():
        pytest.skip(f"{root} is not here")
    checked = 0
    for f in sorted(root.rglob("*.cf")):
        text = decode(f.read_bytes())
        try:
            parse_text(text, str(f))
        except PolicySyntaxError:
            continue  # never cached
        assert_same(text, str(f))
        checked += 1
    assert checked > 0


PROMISE = ("reports", "x", 0, "any", None, ())
BUNDLE = ("agent", "m", (), 1, 1, "default", (), (PROMISE,))


@pytest.mark.parametrize(
    "data",
    [
        None,
        (),
        ((), (), ()),
        ("bundles", "bodies"),
        (((1, 2),), ()),
        ((BUNDLE[:7] + ((PROMISE[:5] + ((("a",),),)),),), ()),  # a constraint cut short
        ((), (("common", "c", (), 1, 1, "default", (("l", 0, "any", (9, "x", 0)),)),)),  # kind 9
        ((), (("common", "c", (), 1, 1, "default", (("l", 0, "any", "x"),)),)),  # a str for an rval
    ],
)
def test_data_of_another_shape_is_refused(data: object) -> None:
    assert rebuild(((BUNDLE,), ()), "text", "p.cf").bundles[0].promises[0].promiser == "x"
    with pytest.raises(MALFORMED):
        rebuild(data, "text", "p.cf")  # type: ignore[arg-type]
