"""Constructors for the most numerous AST nodes, faster than their dataclass ``__init__``.

A frozen dataclass sets each field through ``object.__setattr__`` inside a generated
Python ``__init__``; for the 50,000 positions of a 10,000-promise policy that is a
quarter of the parse. These functions fill the slots directly and build objects equal
in every way to what the constructor builds. Each is used only while the class has
exactly the expected slotted fields; otherwise the name is bound to the class itself,
which takes the same positional arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from types import MemberDescriptorType
from typing import Any

from engine.policy.ast import Constraint, Pos, Scalar

_new = object.__new__


def _layout_is(cls: type, names: tuple[str, ...]) -> bool:
    return tuple(f.name for f in fields(cls)) == names and all(
        isinstance(cls.__dict__.get(n), MemberDescriptorType) for n in names
    )


def _pos_maker() -> Callable[[str, int, int], Pos]:
    if not _layout_is(Pos, ("file", "line", "col")):
        return Pos
    sf, sl, sc = Pos.file.__set__, Pos.line.__set__, Pos.col.__set__  # type: ignore[attr-defined]

    def make_pos(file: str, line: int, col: int) -> Pos:
        p = _new(Pos)
        sf(p, file)
        sl(p, line)
        sc(p, col)
        return p

    return make_pos


def _scalar_maker() -> Callable[[str, Pos, bool], Scalar]:
    if not _layout_is(Scalar, ("value", "pos", "quoted")):
        return Scalar
    sv, sp, sq = Scalar.value.__set__, Scalar.pos.__set__, Scalar.quoted.__set__  # type: ignore[attr-defined]

    def make_scalar(value: str, pos: Pos, quoted: bool) -> Scalar:
        s = _new(Scalar)
        sv(s, value)
        sp(s, pos)
        sq(s, quoted)
        return s

    return make_scalar


def _constraint_maker() -> Callable[[str, Any, Pos, str], Constraint]:
    if not _layout_is(Constraint, ("lval", "rval", "pos", "guard")):
        return Constraint
    sl, sr = Constraint.lval.__set__, Constraint.rval.__set__  # type: ignore[attr-defined]
    sp, sg = Constraint.pos.__set__, Constraint.guard.__set__  # type: ignore[attr-defined]

    def make_constraint(lval: str, rval: Any, pos: Pos, guard: str) -> Constraint:
        c = _new(Constraint)
        sl(c, lval)
        sr(c, rval)
        sp(c, pos)
        sg(c, guard)
        return c

    return make_constraint


make_pos = _pos_maker()
make_scalar = _scalar_maker()
make_constraint = _constraint_maker()
