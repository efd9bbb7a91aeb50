"""An upper bound on the work ``re`` does for one call of a subset pattern.

The subset (:mod:`._subset`) puts no unbounded quantifier on a group with a choice
inside (an alternation or a quantifier) and no quantifier on a group that can match
empty or holds an anchor: that is where exponential backtracking lives. What is left
is a backtracking search whose tree can be bounded from the pattern's shape and the
subject's length n. Each node has ``ways`` (how many distinct ways it can match from
one position: each way is one attempt of what follows it) and ``work`` (the steps
spent finding them), composed:

- a sequence, right to left: ``work = work₁ + ways₁ · (work of the rest)``,
  ``ways = Π waysᵢ``; an alternation sums both (plus a step per branch);
- a repeat of one character: at most m + 1 - lo ways, m the longest run of its
  set in the subject (or n), found with m steps, plus a step a way (a lazy step calls
  its tail, a greedy back-off is one comparison);
- a repeat of a group of width w: at most n / w iterations, Σ waysᶜ ways for a
  bounded one, each iteration attempted once per way of the ones before it;
- a repeat that ends the pattern (nothing after it can fail) is one way: greedy
  takes the longest run, lazy the shortest, and the match is over (not so for
  fullmatch, whose end is a test).

The call tries 1 start (match, fullmatch), n + 1 (search) or 2(n + 1) (findall,
finditer, split, sub: after an empty match a position is tried twice). It runs in
``re`` when starts × work is at most :data:`BUDGET`; the work of building results
(one per match, as ``regex`` would) is linear and not counted.
"""

from __future__ import annotations

import re

from engine.cfregex._subset import ALT, REP, SEQ

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.cfregex._subset import Node, Shape

#: the most work units a call may take in ``re``: 1-3 ms at re's slowest (measured), far
#: under the 1 s the ``regex`` engine is given
BUDGET = 5_000_000

# the work of a step in units of the cheapest one (a character tested against a set,
# a greedy back-off: 0.2-3 ns), as measured on re's worst cases: trying a branch, a lazy
# repeat's step (a call of its tail), an iteration of a group (marks, repeat context)
_BRANCH = 20
_LAZY_STEP = 150
_GROUP_STEP = 150
_CAP = BUDGET + 1

# what a call is: the start positions it tries and whether a pattern's last repeat
# may be taken whole
MATCH, FULLMATCH, SEARCH, ALL = range(4)


def _bound(node: Node, n: int, run: Callable[[str], int] | None,
           tail_free: bool) -> tuple[int, int]:
    """(work, ways) of a node, each capped at BUDGET + 1: ``run`` gives the longest run
    of a repeated character set in the subject (None: take n), ``tail_free`` when
    nothing follows the node in the pattern."""
    kind = node[0]
    if kind == SEQ:
        _, items, fused = node
        work, ways = 0, 1
        last = len(items) - 1
        for k in range(last, -1, -1):
            w, c = _bound(items[k], n, run, tail_free and k == last)
            if k in fused:  # all ways but one fail on the next character at once
                work = min(_CAP, w + c + work)
            else:
                work = min(_CAP, w + c * work)
                ways = min(_CAP, c * ways)
        return work, ways
    if kind == ALT:
        work, ways = 0, 0
        for branch in node[1]:
            w, c = _bound(branch, n, run, tail_free)
            work, ways = min(_CAP, work + w + _BRANCH), min(_CAP, ways + c)
        return work, ways
    if kind != REP:
        return 1, 1
    _, lo, hi, inner, key, width, lazy = node
    if key is not None:  # one character
        step = _LAZY_STEP if lazy else 1
        if tail_free:  # its run ends the match: paid once a match, in cost's 2n
            return lo + 1 + step, 1
        most = run(key) if run is not None else n
        if hi is not None:
            most = min(most, hi)
        if most < lo:
            return most + 1, 1
        ways = most - lo + 1
        return min(_CAP, most + 1 + ways * step), ways
    w, c = _bound(inner, n, run, False)
    most = n // width if hi is None else min(hi, n // width)
    if c == 1:  # the iterations are one way each: one attempt of the tail per count
        ways = 1 if tail_free or most < lo else most - lo + 1
        return min(_CAP, (most + 1) * (w + _GROUP_STEP)), ways
    work, ways, attempts = 0, 0, 1  # attempts: the ways of the iterations so far
    for count in range(most + 1):
        if count >= lo:
            ways = min(_CAP, ways + attempts)
        work = min(_CAP, work + attempts * (w + _GROUP_STEP))
        attempts = min(_CAP, attempts * c)
        if work >= _CAP:
            break
    return work, max(ways, 1)


def cost(sh: Shape, kind: int, n: int, s: str | None = None) -> int:
    """An upper bound on ``re``'s work for one call of ``kind`` on a subject of n
    characters; given the subject ``s``, a repeat of one character is bounded by its
    longest run in ``s`` (a linear scan) rather than by n."""
    starts = 1 if kind <= FULLMATCH else n + 1 if kind == SEARCH else 2 * (n + 1)
    run = None if s is None else _runs_in(s, sh.flags)
    return starts * _bound(sh.tree, n, run, kind != FULLMATCH)[0] + 2 * n


def _runs_in(s: str, flags: int) -> Callable[[str], int]:
    found: dict[str, int] = {}

    def run(key: str) -> int:
        if key not in found:
            finder = re.compile(f"(?:{key})+", flags)  # (re's own cache keeps it)
            found[key] = max(map(len, finder.findall(s)), default=0)
        return found[key]

    return run
