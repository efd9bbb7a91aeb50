"""Recursive-descent parser: CFEngine 3 policy text to :mod:`engine.policy.ast`.

Grammar (what cf-promises 3.21 accepts)::

    file        := block*
    block       := "bundle" TYPE NAME [params] "{" section* "}"
                 | "body" TYPE NAME [params] "{" (guard | constraint ";")* "}"
                 | "promise" TYPE NAME "{" (guard | constraint ";")* "}"
    params      := "(" [NAME ("," NAME)*] ")"
    section     := TYPE ":" | guard | promise
    guard       := CLASSEXPR "::" | STRING "::"
    promise     := STRING ["->" rval] [constraint ("," constraint)*] ";"
    constraint  := NAME "=>" rval
    rval        := STRING | NAME | VAR | call | list
    list        := "{" [item ("," item)* [","]] "}"      items: STRING NAME VAR call
    call        := (NAME | VAR) "(" [arg ("," arg)*] ")"  args: STRING NAME VAR call

The first error raises :class:`PolicySyntaxError` at the offending token, which is
where cf-promises reports it (a missing ``;`` shows up at the next token).
``promise agent NAME { ... }`` blocks (custom promise types) become
``Body(body_type="promise", ...)``.
"""

from __future__ import annotations

import gc

from engine.policy._fastnodes import constraint_at, fncall_at, promise_at, rlist_at, scalar_at
from engine.policy.ast import Body, Bundle, PolicyFile, Scalar
from engine.policy.diagnostics import PolicySyntaxError, error
from engine.policy.guards import check_guard
from engine.policy.lexer import LineIndex, decode_string, tokenize
from engine.policy.macros import preprocess
from engine.policy.source import decode

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from pathlib import Path

    from engine.policy.ast import Constraint, FnCall, Pos, Promise, RList, Rval
    from engine.policy.lexer import Token

_EOF_TEXT = "end of file"
# cf-promises refuses a function call nested this deep inside other calls
MAX_CALL_NESTING = 10


def parse_text(text: str, path: str) -> PolicyFile:
    """Parse one file's text; ``path`` is what positions and messages name."""
    return parse_source(text, path)[0]


def parse_source(text: str, path: str) -> tuple[PolicyFile, str]:
    """:func:`parse_text`, and the text after ``@if`` macros (:mod:`macros`): the text
    the nodes' offsets count in, which their line index holds (the parse cache keeps it).

    The AST holds no reference cycles, so the cyclic garbage collector is paused while
    it is built: its passes over a young heap of 100k new nodes cost about as much as
    the parse itself.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        processed = preprocess(text, path)
        return _Parser(processed, path).parse_file(), processed
    finally:
        if paused:
            gc.enable()


def parse_file(path: str | Path) -> PolicyFile:
    """Read and parse one ``.cf`` file (UTF-8; undecodable bytes are kept as surrogate
    escapes, see :func:`engine.policy.source.decode`)."""
    p = str(path)
    with open(p, "rb") as fh:
        return parse_text(decode(fh.read()), p)


def describe(tok: Token) -> str:
    """How a token is named in messages: ``'}'``, ``'"text"'`` or ``end of file``."""
    kind, text = tok[0], tok[1]
    if kind == "E":
        return _EOF_TEXT
    if len(text) > 40:
        text = text[:37] + "..."
    text = text.replace("\n", "\\n")
    return f"'{text}'"


class _Parser:
    """Nodes get their token's offset and the line index, not a Pos (see ast); the few
    positions made here (blocks, section headers, errors) come in file order."""

    __slots__ = ("toks", "i", "idx", "path", "call_depth")

    def __init__(self, text: str, path: str) -> None:
        self.toks = tokenize(text)
        self.i = 0
        self.call_depth = 0
        self.idx = LineIndex(text, path)
        self.path = path

    # -- helpers ---------------------------------------------------------------

    def pos(self, tok: Token) -> Pos:
        return self.idx.pos(tok[2])

    def fail(self, tok: Token, message: str) -> PolicySyntaxError:
        if tok[0] == "X" and tok[1] in "\"'`":
            message = f"unterminated string starting with {tok[1]}"
        return PolicySyntaxError(error(self.pos(tok), message))

    def expect_name(self, what: str) -> Token:
        tok = self.toks[self.i]
        if tok[0] != "I" or ":" in tok[1]:
            raise self.fail(tok, f"expected {what}, found {describe(tok)}")
        self.i += 1
        return tok

    def expect_punct(self, ch: str, context: str) -> Token:
        tok = self.toks[self.i]
        if tok[0] != "P" or tok[1] != ch:
            raise self.fail(tok, f"expected '{ch}' {context}, found {describe(tok)}")
        self.i += 1
        return tok

    # -- blocks ----------------------------------------------------------------

    def parse_file(self) -> PolicyFile:
        toks = self.toks
        bundles: list[Bundle] = []
        bodies: list[Body] = []
        namespace = "default"
        while True:
            tok = toks[self.i]
            if tok[0] == "E":
                break
            if tok[0] == "I" and tok[1] == "bundle":
                self.i += 1
                bundles.append(self.parse_bundle(tok, namespace))
            elif tok[0] == "I" and tok[1] in ("body", "promise"):
                self.i += 1
                body = self.parse_body(tok, namespace)
                bodies.append(body)
                if body.body_type == "file" and body.name == "control":
                    ns = _namespace_of(body)
                    if ns is not None:
                        namespace = ns
            else:
                raise self.fail(tok, f"expected 'bundle' or 'body', found {describe(tok)}")
        return PolicyFile(self.path, tuple(bundles), tuple(bodies))

    def parse_params(self) -> tuple[str, ...]:
        toks = self.toks
        tok = toks[self.i]
        if tok[0] != "P" or tok[1] != "(":
            return ()
        self.i += 1
        names: list[str] = []
        if toks[self.i][:2] == ("P", ")"):
            self.i += 1
            return ()
        while True:
            names.append(self.expect_name("a parameter name")[1])
            tok = toks[self.i]
            self.i += 1
            if tok[0] == "P" and tok[1] == ")":
                return tuple(names)
            if tok[0] != "P" or tok[1] != ",":
                self.i -= 1
                raise self.fail(
                    tok, f"expected ',' or ')' in parameter list, found {describe(tok)}"
                )

    def parse_bundle(self, kw: Token, namespace: str) -> Bundle:
        kw_pos = self.pos(kw)
        btype = self.expect_name("a bundle type after 'bundle'")[1]
        name = self.expect_name("a bundle name")[1]
        args = self.parse_params()
        self.expect_punct("{", f"to open bundle '{name}'")
        toks = self.toks
        promises: list[Promise] = []
        sections: list[tuple[str, Pos]] = []
        ptype: str | None = None
        guard = "any"
        while True:
            tok = toks[self.i]
            kind = tok[0]
            if kind == "S":
                if toks[self.i + 1][0] == "C":  # "$(x)":: quoted class guard
                    self.i += 2
                    guard = decode_string(tok[1]) or "any"
                    continue
                if ptype is None:
                    raise self.fail(
                        tok,
                        f"expected a promise type (like 'vars:') before promiser {describe(tok)}",
                    )
                promises.append(self.parse_promise(ptype, guard))
            elif kind == "T":
                self.i += 1
                ptype = tok[1][:-1]
                sections.append((ptype, self.pos(tok)))
                guard = "any"
            elif kind == "G":
                self.i += 1
                guard = self.guard_text(tok)
            elif kind == "C":
                self.i += 1
                guard = "any"
            elif kind == "P" and tok[1] == "}":
                self.i += 1
                break
            else:
                raise self.fail(
                    tok,
                    "expected a promise type, class guard, promiser string or '}' "
                    f"in bundle '{name}', found {describe(tok)}",
                )
        return Bundle(btype, name, args, tuple(promises), kw_pos, namespace, tuple(sections))

    def guard_text(self, tok: Token) -> str:
        expr = tok[1][:-2]
        err = check_guard(expr)
        if err is not None:
            off = tok[2] + min(err.offset, len(expr))
            raise PolicySyntaxError(
                error(
                    self.idx.pos(off),
                    f"syntax error in class guard '{expr.strip()}': {err.message}",
                )
            )
        return expr.replace(" ", "").replace("\t", "") or "any"

    def parse_body(self, kw: Token, namespace: str) -> Body:
        kw_pos = self.pos(kw)
        if kw[1] == "promise":
            self.expect_name("a bundle type after 'promise'")
            btype = "promise"
        else:
            btype = self.expect_name("a body type after 'body'")[1]
        name = self.expect_name("a body name")[1]
        args = self.parse_params()
        self.expect_punct("{", f"to open body '{name}'")
        toks = self.toks
        constraints: list[Constraint] = []
        guard = "any"
        while True:
            tok = toks[self.i]
            kind = tok[0]
            if kind == "K":
                constraints.append(self.parse_constraint(guard))
                if tok[5] == ";":
                    continue
                raise self.fail(
                    ("P", tok[5], tok[6]),
                    f"expected ';' after attribute '{tok[1]}', found '{tok[5]}'",
                )
            if kind == "L" or kind == "I":
                c = self.parse_constraint(guard)
                constraints.append(c)
                end = toks[self.i]
                if end[0] == "P" and end[1] == ";":
                    self.i += 1
                    continue
                raise self.fail(
                    end, f"expected ';' after attribute '{c.lval}', found {describe(end)}"
                )
            if kind == "G":
                self.i += 1
                guard = self.guard_text(tok)
            elif kind == "S" and toks[self.i + 1][0] == "C":
                self.i += 2
                guard = decode_string(tok[1]) or "any"
            elif kind == "C":
                self.i += 1
                guard = "any"
            elif kind == "P" and tok[1] == "}":
                self.i += 1
                break
            else:
                raise self.fail(
                    tok,
                    f"expected an attribute, class guard or '}}' in body '{name}', found {describe(tok)}",
                )
        return Body(btype, name, args, tuple(constraints), kw_pos, namespace)

    # -- promises --------------------------------------------------------------

    def parse_promise(self, ptype: str, guard: str) -> Promise:
        toks = self.toks
        idx = self.idx
        i = self.i
        ptok = toks[i]
        tok = toks[i + 1]
        i += 1
        promisee: Rval | None = None
        if tok[0] == "R":
            self.i = i + 1
            promisee = self.parse_rval("'->'")
            i = self.i
            tok = toks[i]
        constraints: list[Constraint] = []
        kind = tok[0]
        if kind == "K" or kind == "L" or kind == "I":
            while True:
                if kind == "K":
                    # Fast path: the whole `lval => "string" ,|;` is one token.
                    text = tok[3]
                    value = text[1:-1]
                    if "\\" in value:
                        value = decode_string(text)
                    constraints.append(
                        constraint_at(tok[1], scalar_at(value, tok[4], idx, True), tok[2], idx, "any")
                    )
                    i += 1
                    sep = tok[5]
                else:
                    self.i = i
                    constraints.append(self.parse_constraint("any"))
                    i = self.i
                    tok = toks[i]
                    if tok[0] != "P" or (tok[1] != "," and tok[1] != ";"):
                        raise self.fail(
                            tok, f"expected ';' or ',' after constraint, found {describe(tok)}"
                        )
                    i += 1
                    sep = tok[1]
                if sep == ";":
                    break
                tok = toks[i]
                kind = tok[0]
                if kind != "K" and kind != "L" and kind != "I":
                    raise self.fail(
                        tok, f"expected an attribute name after ',', found {describe(tok)}"
                    )
        elif kind == "P" and tok[1] == ";":
            i += 1
        else:
            raise self.fail(
                tok,
                f"expected an attribute name or ';' after promiser {describe(ptok)}, found {describe(tok)}",
            )
        self.i = i
        text = ptok[1]
        promiser = text[1:-1]
        if "\\" in promiser:
            promiser = decode_string(text)
        return promise_at(ptype, promiser, ptok[2], idx, tuple(constraints), guard, promisee)

    def parse_constraint(self, guard: str) -> Constraint:
        toks = self.toks
        ltok = toks[self.i]
        if ltok[0] == "K":
            # Only bodies get here with a K token; its separator is checked by the caller.
            self.i += 1
            idx = self.idx
            return constraint_at(
                ltok[1], scalar_at(decode_string(ltok[3]), ltok[4], idx, True), ltok[2], idx, guard
            )
        if ltok[0] == "L":
            self.i += 1
        else:
            if ":" in ltok[1]:
                raise self.fail(ltok, f"expected an attribute name, found {describe(ltok)}")
            arrow = toks[self.i + 1]
            if arrow[0] != "A":
                raise self.fail(
                    arrow, f"expected '=>' after attribute '{ltok[1]}', found {describe(arrow)}"
                )
            self.i += 2
        rval = self.parse_rval(f"'{ltok[1]} =>'")
        return constraint_at(ltok[1], rval, ltok[2], self.idx, guard)

    def parse_rval(self, after: str) -> Rval:
        toks = self.toks
        tok = toks[self.i]
        kind = tok[0]
        if kind == "S":
            self.i += 1
            return scalar_at(decode_string(tok[1]), tok[2], self.idx, True)
        if kind == "I" or kind == "V":
            self.i += 1
            nxt = toks[self.i]
            if nxt[0] == "P" and nxt[1] == "(":
                return self.parse_call(tok)
            return scalar_at(tok[1], tok[2], self.idx, False)
        if kind == "P" and tok[1] == "{":
            self.i += 1
            return self.parse_list(tok)
        raise self.fail(
            tok,
            f"expected a value (string, name, list or function call) after {after}, found {describe(tok)}",
        )

    def parse_list(self, open_tok: Token) -> RList:
        toks = self.toks
        items: list[Rval] = []
        while True:
            tok = toks[self.i]
            kind = tok[0]
            if kind == "P" and tok[1] == "}":
                self.i += 1
                return rlist_at(tuple(items), open_tok[2], self.idx)
            if kind == "S":
                self.i += 1
                items.append(scalar_at(decode_string(tok[1]), tok[2], self.idx, True))
            elif kind == "I" or kind == "V":
                self.i += 1
                nxt = toks[self.i]
                if nxt[0] == "P" and nxt[1] == "(":
                    items.append(self.parse_call(tok))
                else:
                    items.append(scalar_at(tok[1], tok[2], self.idx, False))
            elif kind == "P" and tok[1] == "{":
                raise self.fail(tok, "expected a list item, found '{' (lists cannot be nested)")
            else:
                raise self.fail(tok, f"expected a list item or '}}', found {describe(tok)}")
            tok = toks[self.i]
            if tok[0] == "P":
                if tok[1] == ",":
                    self.i += 1
                    continue
                if tok[1] == "}":
                    continue
            raise self.fail(tok, f"expected ',' or '}}' in list, found {describe(tok)}")

    def parse_call(self, name_tok: Token) -> FnCall:
        self.call_depth += 1
        try:
            return self._parse_call(name_tok)
        finally:
            self.call_depth -= 1

    def _parse_call(self, name_tok: Token) -> FnCall:
        toks = self.toks
        if self.call_depth >= MAX_CALL_NESTING:
            raise self.fail(toks[self.i], "Nesting of functions is deeper than recommended")
        self.i += 1  # the "("
        args: list[Rval] = []
        tok = toks[self.i]
        if tok[0] == "P" and tok[1] == ")":
            self.i += 1
            return fncall_at(name_tok[1], (), name_tok[2], self.idx)
        while True:
            tok = toks[self.i]
            kind = tok[0]
            if kind == "S":
                self.i += 1
                args.append(scalar_at(decode_string(tok[1]), tok[2], self.idx, True))
            elif kind == "I" or kind == "V":
                self.i += 1
                nxt = toks[self.i]
                if nxt[0] == "P" and nxt[1] == "(":
                    args.append(self.parse_call(tok))
                else:
                    args.append(scalar_at(tok[1], tok[2], self.idx, False))
            else:
                raise self.fail(
                    tok,
                    f"expected a function argument in call to '{name_tok[1]}', found {describe(tok)}",
                )
            tok = toks[self.i]
            self.i += 1
            if tok[0] == "P":
                if tok[1] == ",":
                    continue
                if tok[1] == ")":
                    return fncall_at(name_tok[1], tuple(args), name_tok[2], self.idx)
            self.i -= 1
            raise self.fail(
                tok, f"expected ',' or ')' in call to '{name_tok[1]}', found {describe(tok)}"
            )


def _namespace_of(body: Body) -> str | None:
    for c in body.constraints:
        if c.lval == "namespace" and isinstance(c.rval, Scalar):
            return c.rval.value
    return None
