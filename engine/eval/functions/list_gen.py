"""Lists made from a template or a seed: expandrange and shuffle."""

from __future__ import annotations

import re

from engine.eval.functions._util import need_int
from engine.eval.functions.registry import FnEnv, FunctionError, function, need_list

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Iterator

_RANGE = re.compile(r"\[(-?\d+)-(-?\d+)\]")
# the most items expandrange makes; a range beyond it fails the call
MAX_RANGE_ITEMS = 1_000_000


@function("expandrange", "slist", 2, 2)
def expandrange(env: FnEnv, template: str, step: str) -> list[str]:
    """expandrange(string_template, stepsize): the template once per number of its
    first ``[a-b]`` range, stepping by ``stepsize`` (``"x[1-3]"`` -> x1, x2, x3);
    a template without a range is the list of itself."""
    m = _RANGE.search(template)
    if m is None:
        return [template]
    lo, hi, n = int(m.group(1)), int(m.group(2)), need_int("expandrange", step)
    if n <= 0:
        raise FunctionError(f"Function 'expandrange': step '{step}' must be positive")
    if lo > hi:
        lo, hi = hi, lo
    if (hi - lo) // n + 1 > MAX_RANGE_ITEMS:
        raise FunctionError(f"Function 'expandrange': range '{m.group(0)}' makes too many items")
    head, tail = template[: m.start()], template[m.end() :]
    return [f"{head}{i}{tail}" for i in range(lo, hi + 1, n)]


def _string_hash(s: str) -> int:
    """Jenkins' one-at-a-time hash of the bytes of ``s`` (cf-agent's string hash)."""
    h = 0
    for c in s.encode("utf-8", "surrogateescape"):
        h = (h + c) & 0xFFFFFFFF
        h = (h + (h << 10)) & 0xFFFFFFFF
        h ^= h >> 6
    h = (h + (h << 3)) & 0xFFFFFFFF
    h ^= h >> 11
    return (h + (h << 15)) & 0xFFFFFFFF


def c_rand(seed: int) -> Iterator[int]:
    """The numbers C's ``rand()`` gives after ``srand(seed)`` on glibc (its additive
    feedback generator), so a seeded shuffle orders a list as cf-agent does."""
    def s32(x: int) -> int:
        x &= 0xFFFFFFFF
        return x - (1 << 32) if x >= 1 << 31 else x

    r = [s32(seed or 1)]
    for i in range(1, 31):
        prev = r[i - 1]
        hi = int(prev / 127773)
        word = 16807 * (prev - hi * 127773) - 2836 * hi
        r.append(word + 2147483647 if word < 0 else word)
    r.extend(r[0:3])
    state = [x & 0xFFFFFFFF for x in r]
    n = 34
    while True:
        v = (state[-31] + state[-3]) & 0xFFFFFFFF
        state.append(v)
        if n >= 344:
            yield v >> 1
        if len(state) > 64:
            del state[:30]
        n += 1


@function("shuffle", "slist", 2, 2)
def shuffle(env: FnEnv, lst: str, seed: str) -> list[str]:
    """shuffle(list, seed): the list in an order fixed by ``seed``: a Fisher-Yates
    shuffle driven by C's rand() seeded with the seed's hash, read back to front, as
    cf-agent 3.21 returns it."""
    items = list(need_list(env, "shuffle", lst))
    rand = c_rand(_string_hash(seed))
    for i in range(len(items) - 1, 0, -1):
        j = next(rand) % (i + 1)
        items[i], items[j] = items[j], items[i]
    return items[::-1]
