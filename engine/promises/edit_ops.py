"""The promises of an ``edit_line`` bundle, applied to a file held as a list of lines.

:class:`EditSession` runs ``delete_lines``, ``field_edits``, ``insert_lines`` and
``replace_patterns`` promises in cf-agent's order (that order, not the order they
are written in). Like cf-agent, the messages describing changes (``Inserted the
promised line ...``) are held back and printed only when the file is saved with
different content; errors are printed at once.

Regular expressions in ``select_line_matching``, ``select_start``/``select_end``,
``delete_lines`` and ``field_edits`` promisers are anchored (whole line);
``replace_patterns`` promisers search anywhere in the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from engine.promises.base import Logger, ResolvedPromise

EDIT_ORDER = ("delete_lines", "field_edits", "insert_lines", "replace_patterns")
PASSES = 3
_VERB = {"delete_lines": "delete", "insert_lines": "insert", "replace_patterns": "replace",
         "field_edits": "edit"}
_MATCH_REF = re.compile(r"\$[({]match\.(\d+)[)}]")


def _true(v: object, default: bool = False) -> bool:
    if v is None:
        return default
    return str(v).lower() in ("true", "yes", "on")


def _list(v: object) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [str(x) for x in v if str(x) != "cf_null"]
    return [str(v)]


def _full(pattern: str, text: str) -> bool:
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error:
        return pattern == text


class EditSession:
    """One file being edited: its lines and the messages waiting for a save."""

    def __init__(self, filename: str, lines: list[str], log: Logger) -> None:
        self.filename = filename
        self.lines = lines
        self.log = log
        self.pending: list[str] = []  # info lines printed if the file is saved
        self.reports: list[str] = []
        self.errors = False
        self.region_missing = False

    # ===== driver ==========================================================
    def run(self, promises: list[ResolvedPromise]) -> None:
        """Apply ``promises`` in cf-agent's edit_line order, in three passes.

        A promise runs once; only one whose ``select_region`` could not be found is
        tried again in the next pass (so cf-agent's error shows three times)."""
        by_type: dict[str, list[ResolvedPromise]] = {}
        for p in promises:
            by_type.setdefault(p.promise_type, []).append(p)
        pending = [p for ptype in EDIT_ORDER for p in by_type.get(ptype, ())]
        for _ in range(PASSES):
            retry: list[ResolvedPromise] = []
            for p in pending:
                self.region_missing = False
                getattr(self, p.promise_type)(p)
                if self.region_missing:
                    retry.append(p)
            pending = retry
            if not pending:
                break
        for p in by_type.get("reports", ()):
            self.log.report(p.promiser)

    def _error(self, msg: str) -> None:
        self.log.error(msg)
        self.errors = True

    def region(self, p: ResolvedPromise, what: str) -> tuple[int, int] | None:
        """``[start, end)`` of the promise's ``select_region`` (the whole file if none)."""
        body = p.body("select_region")
        n = len(self.lines)
        start_re = body.get("select_start")
        if not body or not start_re:
            return 0, n
        end_re = body.get("select_end")
        i = next((k for k, line in enumerate(self.lines) if _full(str(start_re), line)), -1)
        if i < 0:
            self._error(f"The promised {what} '{p.promiser}' could not select an edit region "
                        f"in '{self.filename}'")
            self.region_missing = True
            return None
        begin = i if _true(body.get("include_start_delimiter")) else i + 1
        if not end_re:
            return begin, n
        for j in range(i + 1, n):
            if _full(str(end_re), self.lines[j]):
                return begin, (j + 1 if _true(body.get("include_end_delimiter")) else j)
        if _true(body.get("select_end_match_eof")):
            return begin, n
        self._error(f"The promised end pattern '{end_re}' was not found when selecting region "
                    f"to {_VERB.get(p.promise_type, 'edit')} in '{self.filename}'")
        self.region_missing = True
        return None

    # ===== delete_lines ====================================================
    def delete_lines(self, p: ResolvedPromise) -> None:
        reg = self.region(p, "line deletion")
        if reg is None:
            return
        start, end = reg
        patterns = p.promiser.split("\n")
        not_matching = _true(p.attrs.get("not_matching"))
        sel = p.body("delete_select")
        deleted = False
        i = start
        while i < end:
            if len(patterns) > 1 and not not_matching:
                chunk = self.lines[i:i + len(patterns)]
                if len(chunk) == len(patterns) and all(
                        _full(pt, ln) for pt, ln in zip(patterns, chunk, strict=True)):
                    for k, ln in enumerate(chunk, 1):
                        self.pending.append(
                            f"Deleted the promised line {k} '{ln}' from {self.filename}")
                    del self.lines[i:i + len(patterns)]
                    end -= len(patterns)
                    deleted = True
                    continue
                i += 1
                continue
            line = self.lines[i]
            hit = _full(patterns[0], line) != not_matching
            if hit and sel:
                hit = _delete_select(sel, line)
            if hit:
                self.pending.append(f"Deleted the promised line 1 '{line}' from {self.filename}")
                del self.lines[i]
                end -= 1
                deleted = True
            else:
                i += 1
        if deleted:
            self.pending.append(f"delete_lines promise '{p.promiser}' repaired")

    # ===== insert_lines ====================================================
    def insert_lines(self, p: ResolvedPromise) -> None:
        itype = p.str_attr("insert_type", "literal")
        if itype in ("file", "file_preserve_block"):
            try:
                with open(p.promiser, encoding="utf-8", errors="surrogateescape") as f:
                    new = f.read().split("\n")
                if new and new[-1] == "":
                    new.pop()
            except OSError as e:
                self._error(f"Could not read file '{p.promiser}' to insert lines "
                            f"into '{self.filename}' ({e.strerror})")
                return
        else:
            new = p.promiser.split("\n")
        block = itype in ("preserve_block", "file_preserve_block", "preserve_all_lines")
        sel = p.body("insert_select")
        if sel:
            new = [ln for ln in new if _insert_select(sel, ln)]
            if not new:
                return
        reg = self.region(p, "line insertion")
        if reg is None:
            return
        start, end = reg
        same = _comparator(p.list_attr("whitespace_policy"))
        region = self.lines[start:end]
        if block:
            if _has_block(region, new, same) and itype != "preserve_all_lines":
                return
            todo = new
        else:
            todo = [ln for ln in new if not any(same(ln, r) for r in region)]
            # keep one copy of a line the promise repeats
            seen: list[str] = []
            for ln in todo:
                if ln not in seen:
                    seen.append(ln)
            todo = seen
        if not todo:
            return
        loc = p.body("location")
        before = str(loc.get("before_after", "after")) == "before"
        first = str(loc.get("first_last", "last")) == "first"
        anchor = loc.get("select_line_matching")
        if anchor:
            hits = [k for k in range(start, end) if _full(str(anchor), self.lines[k])]
            if not hits:
                self._error(f"The promised line insertion '{p.promiser}' could not select a "
                            f"locator matching regex '{anchor}' in '{self.filename}'")
                return
            at = hits[0] if first else hits[-1]
            pos = at if before else at + 1
        else:
            pos = start if before else end
        word = "before" if before else "after"
        for ln in todo:
            if before and pos == 0:
                self.pending.append(f"Prepended the promised line '{ln}' to {self.filename}")
            else:
                self.pending.append(
                    f"Inserted the promised line '{ln}' into '{self.filename}' {word} locator")
            self.lines.insert(pos, ln)
            pos += 1
        self.pending.append(f"insert_lines promise '{p.promiser}' repaired")

    # ===== replace_patterns ================================================
    def replace_patterns(self, p: ResolvedPromise) -> None:
        body = p.body("replace_with")
        value = str(body.get("replace_value", ""))
        first_only = str(body.get("occurrences", "all")) == "first"
        if first_only:
            self.log.warning("Setting replace-occurrences policy to 'first' is not convergent")
        try:
            rx = re.compile(p.promiser)
        except re.error as e:
            self._error(f"Invalid regular expression '{p.promiser}' ({e})")
            return
        reg = self.region(p, "replacement")
        if reg is None:
            return
        start, end = reg
        changed = broken = False
        for i in range(start, end):
            line = self.lines[i]
            pos = 0
            replaced = False
            while True:
                m = rx.search(line, pos)
                if m is None:
                    break
                rep = _MATCH_REF.sub(lambda r, m=m: _group(m, int(r.group(1))), value)
                line = line[:m.start()] + rep + line[m.end():]
                pos = m.start() + len(rep) + (1 if m.end() == m.start() else 0)
                replaced = True
                if rx.search(rep):
                    self._error(
                        f"Promised replacement '{rep}' for pattern '{p.promiser}' is not properly "
                        f"convergent while editing '{self.filename}' (pattern still matches the "
                        f"end-state replacement string '{rep}', consider use of a negative "
                        "look ahead)")
                    self._error(f"Errors encountered when actuating replace_patterns promise "
                                f"'{p.promiser}'")
                    broken = True
                    break
                if first_only or pos > len(line):
                    break
            if replaced and line != self.lines[i]:
                self.lines[i] = line
                self.pending.append(f"Replaced pattern '{p.promiser}' in '{self.filename}'")
                changed = True
            if broken or (first_only and replaced):
                break
        if broken:
            self.pending.append(f"Promise belongs to bundle '{p.bundle}' in file "
                                f"'{p.pos.file}' near line {p.pos.line}")
        elif changed:
            self.pending.append(f"replace_patterns promise '{p.promiser}' repaired")

    # ===== field_edits =====================================================
    def field_edits(self, p: ResolvedPromise) -> None:
        body = p.body("edit_field")
        sep = str(body.get("field_separator", r"\s+"))
        try:
            index = int(str(body.get("select_field", "1")))
        except ValueError:
            index = 1
        if not _true(body.get("start_fields_from_zero")):
            index -= 1
        vsep = body.get("value_separator")
        value = str(body.get("field_value", ""))
        op = str(body.get("field_operation", "none"))
        extend = _true(body.get("extend_fields"))
        reg = self.region(p, "field edit")
        if reg is None:
            return
        start, end = reg
        matched = changed = False
        for i in range(start, end):
            if not _full(p.promiser, self.lines[i]):
                continue
            matched = True
            new, msg = _edit_fields(self.lines[i], sep, index, vsep, value, op, extend)
            if new != self.lines[i]:
                self.lines[i] = new
                self.pending.append(f"{msg} '{value}' in '{self.filename}'")
                changed = True
        if not matched:
            self._error(f"No matched line to edit fields of for pattern '{p.promiser}' "
                        f"in '{self.filename}'")
            self._error(f"Errors encountered when actuating fields_edit promise '{p.promiser}'")
        elif changed:
            self.pending.append(f"fields_edit promise '{p.promiser}' repaired")


def _group(m: re.Match[str], n: int) -> str:
    try:
        return m.group(n) or ""
    except IndexError:
        return ""


def _edit_fields(line: str, sep: str, index: int, vsep: object, value: str, op: str,
                 extend: bool) -> tuple[str, str]:
    try:
        parts = re.split(f"({sep})", line)
    except re.error:
        parts = line.split(sep)
        parts = [x for f in parts for x in (f, sep)][:-1]
    fields = parts[0::2]
    seps = parts[1::2]
    if index < 0:
        return line, ""
    if index >= len(fields):
        if not extend:
            return line, ""
        joiner = seps[0] if seps else sep.replace("\\", "")
        while len(fields) <= index:
            fields.append("")
            seps.append(joiner)
    old = fields[index]
    msg = "Set field sub-value"
    if op in ("set", "none") or not vsep:
        fields[index] = value
    else:
        vs = str(vsep)
        subs = [s for s in old.split(vs)] if old else []
        if op == "append":
            if value not in subs:
                subs.append(value)
            msg = "Appended field sub-value"
        elif op == "prepend":
            if value not in subs:
                subs.insert(0, value)
            msg = "Prepended field sub-value"
        elif op == "delete":
            subs = [s for s in subs if s != value]
            msg = "Deleted column field sub-value"
        elif op == "alphanum":
            if value not in subs:
                subs.append(value)
                subs.sort()
            msg = "Inserted field sub-value"
        fields[index] = vs.join(subs)
    out = [fields[0]]
    for s, f in zip(seps, fields[1:], strict=False):
        out.append(s)
        out.append(f)
    return "".join(out), msg


def _has_block(region: list[str], block: list[str], same: Callable[[str, str], bool]) -> bool:
    n = len(block)
    for i in range(len(region) - n + 1):
        if all(same(block[k], region[i + k]) for k in range(n)):
            return True
    return False


def _comparator(policy: list[str]) -> Callable[[str, str], bool]:
    if not policy or policy == ["exact_match"]:
        return lambda a, b: a == b
    lead = "ignore_leading" in policy
    trail = "ignore_trailing" in policy
    embed = "ignore_embedded" in policy

    def norm(s: str) -> str:
        if lead:
            s = s.lstrip()
        if trail:
            s = s.rstrip()
        if embed:
            s = re.sub(r"\s+", " ", s)
        return s

    return lambda a, b: norm(a) == norm(b)


def _delete_select(sel: dict[str, object], line: str) -> bool:
    """``delete_select`` body: every list given must agree that the line goes."""
    checks: list[bool] = []
    for key, test in (
        ("delete_if_startwith_from_list", lambda s: line.startswith(s)),
        ("delete_if_match_from_list", lambda s: _full(s, line)),
        ("delete_if_contains_from_list", lambda s: s in line),
    ):
        items = _list(sel.get(key))
        if items:
            checks.append(any(test(s) for s in items))
    for key, test in (
        ("delete_if_not_startwith_from_list", lambda s: line.startswith(s)),
        ("delete_if_not_match_from_list", lambda s: _full(s, line)),
        ("delete_if_not_contains_from_list", lambda s: s in line),
    ):
        items = _list(sel.get(key))
        if items:
            checks.append(not any(test(s) for s in items))
    return all(checks)


def _insert_select(sel: dict[str, object], line: str) -> bool:
    checks: list[bool] = []
    for key, test in (
        ("insert_if_startwith_from_list", lambda s: line.startswith(s)),
        ("insert_if_match_from_list", lambda s: _full(s, line)),
        ("insert_if_contains_from_list", lambda s: s in line),
    ):
        items = _list(sel.get(key))
        if items:
            checks.append(any(test(s) for s in items))
    for key, test in (
        ("insert_if_not_startwith_from_list", lambda s: line.startswith(s)),
        ("insert_if_not_match_from_list", lambda s: _full(s, line)),
        ("insert_if_not_contains_from_list", lambda s: s in line),
    ):
        items = _list(sel.get(key))
        if items:
            checks.append(not any(test(s) for s in items))
    return all(checks)
