"""Where ``insert_lines`` puts each line, walked the way cf-agent 3.21 walks it.

cf-agent holds the file as a linked list and remembers the edit region by its
first and last *items*, captured before the promise inserts anything. Which
lines count as "already there" follows from that:

* with no ``select_region`` the region starts at the file's first line, so a line
  prepended before it is outside the region, and an empty file has an empty region
  for the whole promise (every line of a multi-line promiser is inserted, repeats
  included);
* a line is skipped when it is anywhere in the region or when the line next to
  the insertion point already equals it (``whitespace_policy`` widens "equals");
* after each line the insertion point and its predecessor both move one item on,
  which is what keeps a block in order.

The list here holds :class:`_Item` objects so that "the same item" means what it
means in cf-agent: identity, not equal text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from engine.promises.files.lines import full_match, insert_select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.promises.base import ResolvedPromise


class _Item:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_WS = re.compile(r"\s")


def policy_regex(line: str, policy: list[str]) -> list[str]:
    """The regexes cf-agent tries, one per ``whitespace_policy`` entry, each built
    on the previous one from the promised line (only ``.`` and ``*`` escaped)."""
    final = line.replace(".", r"\.").replace("*", r"\*")
    out: list[str] = []
    for opt in policy:
        if opt == "ignore_embedded":
            first = next((k for k, c in enumerate(final) if not c.isspace()), len(final))
            last = len(final) - 1
            while last > first and final[last].isspace():
                last -= 1
            work: list[str] = []
            k = 0
            while k < len(final):
                c = final[k]
                if first < k < last and c.isspace():
                    while k + 1 < len(final) and final[k + 1].isspace():
                        k += 1
                    work.append(r"\s+")
                else:
                    work.append(c)
                k += 1
            final = "".join(work)
        elif opt == "ignore_leading":
            if not final.startswith(r"\s*"):
                final = r"\s*" + final.lstrip()
        elif opt == "ignore_trailing" and final[-4:-1] != r"\s*":
            final = final + r"\s*"
        out.append(final)
    return out


def line_matches(needle: str, hay: str, policy: list[str]) -> bool:
    """cf-agent's comparison of a promised line with a line of the file."""
    if not policy or "exact_match" in policy:
        return needle == hay
    return any(full_match(rx, hay) for rx in policy_regex(needle, policy))


class Inserter:
    """One ``insert_lines`` promise applied to ``lines`` (changed in place)."""

    def __init__(self, lines: list[str], p: ResolvedPromise, itype: str, before: bool,
                 simulate: bool, on_insert: Callable[[str, str], None]) -> None:
        self.items = [_Item(t) for t in lines]
        self.p = p
        self.itype = itype
        self.before = before
        self.simulate = simulate
        # on_insert(kind, line): kind is "into" (empty file), "prepend", "before", "after"
        self.on_insert = on_insert
        self.policy = [str(x) for x in p.list_attr("whitespace_policy")]
        self.sel = p.body("insert_select")
        self.changed = False

    def lines(self) -> list[str]:
        return [i.text for i in self.items]

    # ----- list primitives ---------------------------------------------------
    def _next(self, it: _Item | None) -> _Item | None:
        if it is None:
            return None
        k = self._index(it) + 1
        return self.items[k] if k < len(self.items) else None

    def _index(self, it: _Item) -> int:
        for k, x in enumerate(self.items):
            if x is it:
                return k
        raise ValueError("item not in list")

    def _first(self) -> _Item | None:
        return self.items[0] if self.items else None

    def _insert_after(self, ptr: _Item | None, text: str) -> None:
        if not self.items or ptr is None:
            self.items.append(_Item(text))
        else:
            self.items.insert(self._index(ptr) + 1, _Item(text))

    # ----- matching ------------------------------------------------------------
    def _in_region(self, text: str, begin: _Item | None, end: _Item | None) -> bool:
        if begin is None:
            return False
        for it in self.items[self._index(begin):]:
            if it is end:
                return False
            if line_matches(text, it.text, self.policy):
                return True
        return False

    def _chunk_at(self, chunk: str, begin: _Item | None, end: _Item | None) -> bool:
        """The chunk's lines equal the file's lines from ``begin`` on (``end`` excluded)."""
        it = begin
        parts = chunk.split("\n")
        for k, part in enumerate(parts):
            if it is None or part != it.text or it is end:
                return False
            nxt = self._next(it)
            if nxt is None:
                return k == len(parts) - 1
            it = nxt
        return True

    def _neighbour(self, location: _Item | None, text: str) -> bool:
        if location is None:
            return False
        k = self._index(location)
        if self.before:
            return k > 0 and line_matches(text, self.items[k - 1].text, self.policy)
        return k + 1 < len(self.items) and line_matches(text, self.items[k + 1].text,
                                                        self.policy)

    # ----- the walk -------------------------------------------------------------
    def to_region(self, begin: _Item | None, end: _Item | None, chunk: str | None,
                  file_lines: list[str] | None) -> None:
        """No locator: at the start or the end of the region (or file)."""
        if not self.items:
            self._at(None, None, begin, end, chunk, file_lines)
            return
        if self.before:
            self._at(begin, None, begin, end, chunk, file_lines)
            return
        prev: _Item | None = None
        it = begin
        while it is not None:
            if (self.itype != "preserve_all_lines" and chunk is not None
                    and self._chunk_at(self.p.promiser, it, end)):
                return
            nxt = self._next(it)
            if nxt is None or nxt is end:
                self._at(it, prev, begin, end, chunk, file_lines)
                return
            prev = it
            it = nxt

    def at_locator(self, match: _Item, prev: _Item | None, begin: _Item | None,
                   end: _Item | None, chunk: str | None, file_lines: list[str] | None) -> None:
        self._at(match, prev, begin, end, chunk, file_lines)

    def _at(self, location: _Item | None, prev: _Item | None, begin: _Item | None,
            end: _Item | None, chunk: str | None, file_lines: list[str] | None) -> None:
        if file_lines is None:
            assert chunk is not None
            self._compound(chunk, location, prev, begin, end)
            return
        if self.itype == "file_preserve_block":
            # the file's lines are one block, as preserve_block's chunk is: inserted
            # together, blank and repeated lines included
            self._compound("\n".join(file_lines), location, prev, begin, end)
            return
        block = False
        loc = location
        for line in file_lines:
            if not self._select(line):
                continue
            if not block and self._in_region(line, begin, end):
                continue
            self._compound(line, loc, prev, begin, end)
            prev = self._next(prev) if prev is not None else self._first()
            if loc is not None:
                loc = self._next(loc)

    def _select(self, line: str) -> bool:
        return not self.sel or insert_select(self.sel, line)

    def _compound(self, chunk: str, location: _Item | None, prev: _Item | None,
                  begin: _Item | None, end: _Item | None) -> None:
        block = self.itype in ("preserve_block", "file_preserve_block", "preserve_all_lines")
        if self.itype != "preserve_all_lines" and self._chunk_at(chunk, location, None):
            return
        for line in chunk.split("\n"):
            if not self._select(line):
                continue
            if not block and self._in_region(line, begin, end):
                continue
            self._line(line, location, prev)
            if block and self.before and location is None and prev is None:
                location = self._first()
            prev = self._next(prev) if prev is not None else self._first()
            location = self._next(location) if location is not None else self._first()

    def _line(self, text: str, location: _Item | None, prev: _Item | None) -> None:
        neighbour_check = self.itype not in ("preserve_block", "file_preserve_block",
                                             "preserve_all_lines")
        if prev is None and self.before:
            if not self.items:
                self._do("into", text, lambda: self.items.insert(0, _Item(text)))
                return
            if self.items[0].text != text:
                self._do("prepend", text, lambda: self.items.insert(0, _Item(text)))
            return
        if neighbour_check and self._neighbour(location, text):
            return
        if self.before:
            self._do("before", text, lambda: self._insert_after(prev, text))
        else:
            self._do("after", text, lambda: self._insert_after(location, text))

    def _do(self, kind: str, text: str, act: Callable[[], None]) -> None:
        self.on_insert(kind, text)
        if not self.simulate:
            act()
            self.changed = True

    # ----- region from delimiters ---------------------------------------------
    def region_items(self, start_re: str | None, end_re: str | None,
                     include_start: bool) -> tuple[_Item | None, _Item | None] | None:
        """cf-agent's region: the start delimiter item and the end delimiter item
        (``None``: to the end of the file); ``None`` when there is no region."""
        if not start_re:
            return self._first(), None
        beg: _Item | None = None
        for k, it in enumerate(self.items):
            if beg is None and full_match(start_re, it.text):
                if not include_start and k + 1 == len(self.items):
                    return None
                beg = it
                continue
            if end_re and beg is not None and full_match(end_re, it.text):
                return beg, it
        if beg is None:
            return None
        return beg, None

    def locate(self, regex: str, begin: _Item | None, end: _Item | None,
               first: bool) -> tuple[_Item, _Item | None] | None:
        """The locator line within the region and the item before it in the file."""
        match: _Item | None = None
        if begin is not None:
            for it in self.items[self._index(begin):]:
                if it is end:
                    break
                if full_match(regex, it.text):
                    match = it
                    if first:
                        break
        if match is None:
            return None
        k = self._index(match)
        return match, (self.items[k - 1] if k > 0 else None)
