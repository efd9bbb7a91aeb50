"""Slotted record classes without the ``dataclasses`` machinery, for the AST and the agent.

The agent is a short-lived process: importing ``dataclasses`` (which brings
``inspect``, ``ast`` and ``dis``) and running its decorator, which compiles
``__init__``, ``__repr__``, ``__eq__`` and, for frozen classes, ``__setattr__``
and ``__delattr__`` for every class, costs about a millisecond per class at each
start. The classes on the agent's path derive from these bases instead and
write their ``__init__`` by hand.

A subclass lists its fields in ``__match_args__`` (and ``__slots__``); the base
gives it what ``@dataclass(slots=True)`` would: ``==`` over the fields for
objects of the same class, a ``repr`` naming them, ``__match_args__``, and
pickling/copying. :class:`Frozen` adds ``hash`` over the fields and refuses
assignment with :class:`FrozenInstanceError`, like ``frozen=True``;
:class:`Record` instances are mutable and unhashable, like a plain dataclass.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import ClassVar

set_field = object.__setattr__  # for a Frozen subclass's own __init__


class FrozenInstanceError(AttributeError):
    """An attempt to assign to (or delete) a field of a frozen record."""


class Record:
    """Equality, repr and pickling over ``__match_args__``; mutable, unhashable."""

    __slots__ = ()
    __match_args__: tuple[str, ...] = ()
    _fields: Callable[[object], tuple[object, ...]]
    # unhashable here, a method in Frozen: typed so that both are seen as one attribute
    __hash__: ClassVar[Callable[[object], int] | None] = None  # type: ignore[assignment]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "__match_args__" not in cls.__dict__:
            return  # an intermediate base, or a subclass keeping its parent's fields
        names = cls.__match_args__
        if len(names) == 1:
            one = attrgetter(names[0])
            cls._fields = staticmethod(lambda obj: (one(obj),))
        else:
            cls._fields = attrgetter(*names)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._fields(self) == self._fields(other)
        return NotImplemented

    def __repr__(self) -> str:
        pairs = zip(self.__match_args__, self._fields(self), strict=True)
        inner = ", ".join(f"{n}={v!r}" for n, v in pairs)
        return f"{self.__class__.__qualname__}({inner})"

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (self.__class__, self._fields(self))


class Frozen(Record):
    """A :class:`Record` that cannot be changed once built, and is hashable."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._fields(self))

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")
