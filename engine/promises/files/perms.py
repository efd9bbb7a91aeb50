"""The ``perms`` body of a files promise: ``mode``, ``owners``, ``groups``, ``rxdirs``.

``mode`` is octal (``"644"``) or symbolic (``"u=rw,go=r"``, ``"a+x"``); it becomes
a pair of masks, bits to set and bits to clear, as cf-agent computes them, so
``"+x"`` leaves the other bits alone. Owners and groups are lists: the current
owner is kept when it is in the list, otherwise the first entry is applied.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat

from engine.promises.files.fsutil import mode_str
from engine.promises.safefs import note, safe_chmod, safe_chown, safe_utime

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises._acc import Acc

_WHO = {"u": 0o4700, "g": 0o2070, "o": 0o1007, "a": 0o7777}
_SYM = re.compile(r"^([ugoa]*)([+=-])([rwxstX]*)$")


class ModeError(ValueError):
    pass


def parse_mode(spec: str) -> tuple[int, int]:
    """``"644"`` -> ``(0o644, 0o7133)``: (bits to set, bits to clear), as cf-agent
    reads a mode. Octal digits beyond the permission bits (``13400``) are dropped
    (:func:`mode_filtered` says so); symbolic clauses only add to the bits to set
    (``+``), to clear (``-``) or to both (``=``), and clearing wins."""
    spec = spec.strip()
    if re.fullmatch(r"[0-7]+", spec):
        value = int(spec, 8)
        if value > 0o177777:
            raise ModeError(f"Mode-Value too big : {spec}")
        plus = value & 0o7777
        return plus, 0o7777 & ~plus
    plus = minus = 0
    for clause in spec.split(","):
        m = _SYM.match(clause.strip())
        if not m:
            raise ModeError(f"invalid mode '{spec}'")
        who, op, what = m.groups()
        mask = 0
        for w in who or "a":
            mask |= _WHO[w]
        value = 0
        for ch in what:
            value |= {
                "r": 0o444, "w": 0o222, "x": 0o111, "X": 0o111,
                "s": 0o6000, "t": 0o1000,
            }[ch]
        if op == "+":
            plus |= value & mask
        elif op == "-":
            minus |= value & mask
        else:
            plus |= value & mask
            minus |= ~value & 0o7777 & mask
    return plus, minus


def mode_filtered(spec: str) -> str | None:
    """cf-agent's notice for an octal mode with bits beyond the permissions."""
    spec = spec.strip()
    if re.fullmatch(r"[0-7]+", spec) and int(spec, 8) & 0o170000:
        return ("Mode-Value is not entirely within the system's allowed permissions "
                f"(octal 170000) and will be filtered accordingly : {spec}")
    return None


def new_mode(old: int, plus: int, minus: int, is_dir: bool, rxdirs: bool) -> int:
    if is_dir and rxdirs:
        # every read bit promised on a directory brings its search bit along
        plus |= (plus & 0o444) >> 2
    return ((stat.S_IMODE(old) | plus) & ~minus) & 0o7777


def uid_of(name: str) -> int | None:
    if name.isdigit():
        return int(name)
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def gid_of(name: str) -> int | None:
    if name.isdigit():
        return int(name)
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def creation_mode(body: dict[str, object], is_dir: bool) -> int:
    """The mode a new file or directory gets: 0600/0700 without a promised mode,
    else the bits the mode sets less those it clears (``o=x`` creates 0001)."""
    base = 0o700 if is_dir else 0o600
    spec = body.get("mode")
    if not spec:
        return base
    try:
        plus, minus = parse_mode(str(spec))
    except ModeError:
        return base
    return new_mode(0, plus, minus, is_dir, _rxdirs(body))


def _rxdirs(body: dict[str, object]) -> bool:
    return str(body.get("rxdirs", "false")).lower() in ("true", "yes", "on")


def verify_attributes(path: str, st: os.stat_result, body: dict[str, object], touch: bool,
                      acc: Acc) -> None:
    """cf-agent's check of a file's attributes: the ``perms`` body, then, when the
    promise also says ``touch``, the time stamps (``Updated timestamps on``; cf-agent
    counts that as a repair even when only a warning is promised)."""
    apply_perms(path, st, body, acc)
    if not touch:
        return
    if not acc.warn_only:
        try:
            safe_utime(path)
        except OSError as e:
            note(acc.log, e)
            acc.fail(f"Updating timestamps on '{path}' failed. (utime: {e.strerror})")
            return
    acc.repair(f"Updated timestamps on '{path}'")


def apply_perms(path: str, st: os.stat_result, body: dict[str, object], acc: Acc) -> None:
    """Make ``path`` (whose lstat is ``st``) carry the promised mode and owners; a
    check that finds nothing to change counts as kept.

    Every change goes through :mod:`engine.promises.safefs`: a link planted by
    another user, on the way or as ``path`` itself, is refused (``Link has been
    severed``), never followed."""
    if not body:
        return
    changed = False
    is_link = stat.S_ISLNK(st.st_mode)
    spec = body.get("mode")
    if spec:
        try:
            plus, minus = parse_mode(str(spec))
        except ModeError as e:
            acc.fail(str(e))
            return
        if is_link:
            acc.fail(f"Failed to change permissions of '{path}'. (chmod: No such file or directory)")
            return
        want = new_mode(st.st_mode, plus, minus, stat.S_ISDIR(st.st_mode), _rxdirs(body))
        have = stat.S_IMODE(st.st_mode)
        if want != have:
            changed = True
            if acc.warn_only:
                acc.should(f"change permissions of '{path}' from {mode_str(have)} to "
                           f"{mode_str(want)}")
            else:
                try:
                    safe_chmod(path, want)
                    acc.repair(f"Object '{path}' had permissions {mode_str(have)}, "
                               f"changed it to {mode_str(want)}")
                except OSError as e:
                    note(acc.log, e)
                    acc.fail(f"Failed to change permissions of '{path}'. (chmod: {e.strerror})")
    if not _apply_owners(path, st, body, acc) and not changed:
        acc.keep()


def _apply_owners(path: str, st: os.stat_result, body: dict[str, object], acc: Acc) -> bool:
    """True when the owner or group had to change (or could not be checked)."""
    owners = _as_list(body.get("owners"))
    groups = _as_list(body.get("groups"))
    uid = gid = -1
    if owners:
        ids = [u for u in (uid_of(o) for o in owners) if u is not None]
        if not ids:
            acc.fail(f"Unknown user '{owners[0]}' in promise for '{path}'")
            return True
        if st.st_uid not in ids:
            uid = ids[0]
    if groups:
        ids = [g for g in (gid_of(g) for g in groups) if g is not None]
        if not ids:
            acc.fail(f"Unknown group '{groups[0]}' in promise for '{path}'")
            return True
        if st.st_gid not in ids:
            gid = ids[0]
    if uid == -1 and gid == -1:
        return False
    if acc.warn_only:
        u = uid if uid != -1 else st.st_uid
        g = gid if gid != -1 else st.st_gid
        acc.should(f"change owner and group of '{path}' to '{u}:{g}'")
        return True
    is_link = stat.S_ISLNK(st.st_mode)
    try:
        safe_chown(path, uid, gid, follow=not is_link)
    except OSError as e:
        note(acc.log, e)
        acc.fail(f"Cannot set ownership on file '{path}'. "
                 f"({'lchown' if is_link else 'chown'}: {e.strerror})")
        return True
    if uid != -1:
        acc.repair(f"Owner of '{path}' was {st.st_uid}, set to {uid}")
    if gid != -1:
        acc.repair(f"Group of '{path}' was {st.st_gid}, set to {gid}")
    return True


def _as_list(v: object) -> list[str]:
    if v is None or v == "":
        return []
    if isinstance(v, list):
        return [str(x) for x in v if str(x) != "cf_null"]
    return [str(v)]
