"""The promises of an ``edit_line`` bundle, applied to a file held as a list of lines.

:class:`EditSession` runs ``delete_lines``, ``field_edits``, ``insert_lines`` and
``replace_patterns`` promises in cf-agent's order (that order, not the order they
are written in). Like cf-agent, the messages describing changes (``Inserted the
promised line ...``) are held back and printed only when the file is saved with
different content; errors are printed at once.

Regular expressions in ``select_line_matching``, ``select_start``/``select_end``,
``delete_lines`` and ``field_edits`` promisers are anchored (whole line);
``replace_patterns`` promisers search anywhere in the line.

In a dry run (``-n``), or for an edit promise whose own ``action_policy`` is
``warn``, the lines are left alone: each promise says what it would do
(``Should insert line ...``) and ends with ``Warnings encountered when actuating
<type> promise``. A warn policy on the files promise instead edits the copy in
memory and describes the difference when the file would be saved (see
:func:`warn_diff`).
"""

from __future__ import annotations

from collections.abc import Callable

from engine import cfregex, promisetypes
from engine.promises._acc import WARN_SUFFIX, action_warn
from engine.promises.base import Logger, Outcome, ResolvedPromise
from engine.promises.files.fields import FieldSpec, NoFields, TooShort
from engine.promises.files.fields import edit_line as edit_field_line
from engine.promises.files.insert import Inserter
from engine.promises.files.lines import (
    delete_select,
    full_match,
    not_anchored,
    replace_line,
)

EDIT_ORDER = promisetypes.EDIT_LINE_ORDER
PASSES = 3
_VERB = {"delete_lines": "delete", "insert_lines": "insert", "replace_patterns": "replace",
         "field_edits": "edit"}
_TYPE_NAME = {"field_edits": "fields_edit"}  # as cf-agent names it in its messages


def _true(v: object, default: bool = False) -> bool:
    if v is None:
        return default
    return str(v).lower() in ("true", "yes", "on")


class EditSession:
    """One file being edited: its lines and the messages waiting for a save."""

    def __init__(self, filename: str, lines: list[str], log: Logger,
                 dry_run: bool = False, noticed: set[tuple[str, int]] | None = None,
                 on_outcome: Callable[[ResolvedPromise, Outcome], None] | None = None) -> None:
        self.filename = filename
        # told each edit promise's own outcome, for its ``classes`` body and handle
        self.on_outcome = on_outcome
        self.error_count = 0
        # promises already named in the shared-anchor notice during this run
        self.noticed = noticed if noticed is not None else set()
        self.lines = lines
        self.log = log
        self.dry_run = dry_run
        self.pending: list[str] = []  # info lines printed if the file is saved
        self.reports: list[str] = []
        self.errors = False
        self.region_missing = False
        # the promise being kept: only describe changes (dry run or its own warn
        # policy), the words that end such a description, whether it did
        self.simulate = False
        self.suffix = ""
        self.warned = False

    # ===== driver ==========================================================
    def run(self, promises: list[ResolvedPromise]) -> None:
        """Apply ``promises`` in cf-agent's edit_line order, in three passes.

        A promise runs once; only one whose ``select_region`` could not be found is
        tried again in the next pass (so cf-agent's error shows three times)."""
        by_type: dict[str, list[ResolvedPromise]] = {}
        for p in promises:
            by_type.setdefault(p.promise_type, []).append(p)
        self._shared_anchors(by_type.get("insert_lines", []))
        pending = [p for ptype in EDIT_ORDER for p in by_type.get(ptype, ())]
        for _ in range(PASSES):
            retry: list[ResolvedPromise] = []
            for p in pending:
                self.region_missing = False
                own_warn = action_warn(p)
                self.simulate = self.dry_run or own_warn
                self.suffix = WARN_SUFFIX if own_warn else ""
                self.warned = False
                tell = self.on_outcome is not None and (
                    "classes" in p.attrs or p.handle is not None)
                errors, before = self.error_count, (list(self.lines) if tell else None)
                getattr(self, p.promise_type)(p)
                if self.warned:
                    kind = _TYPE_NAME.get(p.promise_type, p.promise_type)
                    self.log.warning(
                        f"Warnings encountered when actuating {kind} promise '{p.promiser}'")
                if tell and self.on_outcome is not None:
                    if self.error_count > errors or self.warned:
                        outcome = Outcome.NOTKEPT
                    else:
                        outcome = Outcome.KEPT if before == self.lines else Outcome.REPAIRED
                    self.on_outcome(p, outcome)
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
        self.error_count += 1

    def _should(self, what: str) -> None:
        self.log.warning(f"Should {what}{self.suffix}")
        self.warned = True

    def _shared_anchors(self, inserts: list[ResolvedPromise]) -> None:
        """cf-agent's notice for two insertions placed by the same locator line, given
        once per promise and run (not again for the next file the bundle edits)."""
        seen: set[str] = set()
        for p in inserts:
            anchor = p.body("location").get("select_line_matching")
            if not anchor:
                continue
            where = (p.pos.file, p.pos.line)
            if str(anchor) in seen and where not in self.noticed:
                self.noticed.add(where)
                self.log.info(
                    f"insert_lines promise uses the same select_line_matching anchor "
                    f"'{anchor}' as another promise. This will lead to non-convergent "
                    "behaviour unless 'empty_file_before_editing' is set")
                self.log.info(f"Promise belongs to bundle '{p.bundle}' in file "
                              f"'{p.pos.file}' near line {p.pos.line}")
            seen.add(str(anchor))

    def region(self, p: ResolvedPromise, what: str) -> tuple[int, int] | None:
        """``[start, end)`` of the promise's ``select_region`` (the whole file if none)."""
        body = p.body("select_region")
        n = len(self.lines)
        start_re = body.get("select_start")
        if not body or not start_re:
            return 0, n
        end_re = body.get("select_end")
        i = next((k for k, line in enumerate(self.lines) if full_match(str(start_re), line)), -1)
        if i < 0:
            self._error(f"The promised {what} '{p.promiser}' could not select an edit region "
                        f"in '{self.filename}'")
            self.region_missing = True
            return None
        begin = i if _true(body.get("include_start_delimiter")) else i + 1
        if not end_re:
            return begin, n
        for j in range(i + 1, n):
            if full_match(str(end_re), self.lines[j]):
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
                chunk = self.lines[i:min(i + len(patterns), end)]  # within the region
                if len(chunk) == len(patterns) and all(
                        full_match(pt, ln) for pt, ln in zip(patterns, chunk, strict=True)):
                    if self.simulate:
                        for ln in chunk:
                            self._should(f"delete line '{ln}' from {self.filename}")
                        i += len(patterns)
                        continue
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
            hit = full_match(patterns[0], line) != not_matching
            if hit and sel:
                hit = delete_select(sel, line)
            if hit and self.simulate:
                self._should(f"delete line '{line}' from {self.filename}")
                i += 1
            elif hit:
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
        """Insert the promiser's lines (or a file's) as cf-agent walks them: see
        :mod:`engine.promises.files.insert`."""
        itype = p.str_attr("insert_type", "literal")
        file_lines: list[str] | None = None
        if itype in ("file", "file_preserve_block"):
            try:
                with open(p.promiser, encoding="utf-8", errors="surrogateescape") as f:
                    file_lines = f.read().split("\n")
                if file_lines and file_lines[-1] == "":
                    file_lines.pop()
            except OSError as e:
                self._error(f"Could not read file '{p.promiser}' to insert lines "
                            f"into '{self.filename}' ({e.strerror})")
                return
        if self.region(p, "line insertion") is None:
            return
        loc = p.body("location")
        before = str(loc.get("before_after", "after")) == "before"
        ins = Inserter(self.lines, p, itype, before, self.simulate,
                       lambda kind, ln: self._inserted(kind, ln))
        body = p.body("select_region")
        start_re = body.get("select_start") if body else None
        bounds = ins.region_items(str(start_re) if start_re else None,
                                  str(body.get("select_end") or "") or None,
                                  _true(body.get("include_start_delimiter")))
        if bounds is None:
            return
        begin, end = bounds
        chunk = None if file_lines is not None else p.promiser
        anchor = loc.get("select_line_matching")
        if anchor:
            found = ins.locate(str(anchor), begin, end,
                               str(loc.get("first_last", "last")) == "first")
            if found is None:
                self._error(f"The promised line insertion '{p.promiser}' could not select a "
                            f"locator matching regex '{anchor}' in '{self.filename}'")
                return
            ins.at_locator(found[0], found[1], begin, end, chunk, file_lines)
        else:
            ins.to_region(begin, end, chunk, file_lines)
        if ins.changed:
            self.lines[:] = ins.lines()
            self.pending.append(f"insert_lines promise '{p.promiser}' repaired")

    def _inserted(self, kind: str, ln: str) -> None:
        """cf-agent's line for one inserted line (or, simulating, one it would insert)."""
        if self.simulate:
            if kind == "prepend":
                self._should(f"prepend promised line '{ln}' to '{self.filename}'")
            elif kind == "into":
                self._should(f"insert promised line '{ln}' into '{self.filename}'")
            else:
                self._should(f"insert line '{ln}' into '{self.filename}' {kind} locator")
        elif kind == "prepend":
            self.pending.append(f"Prepended the promised line '{ln}' to {self.filename}")
        elif kind == "into":
            self.pending.append(f"Inserted the promised line '{ln}' into '{self.filename}'")
        else:
            self.pending.append(
                f"Inserted the promised line '{ln}' into '{self.filename}' {kind} locator")

    # ===== replace_patterns ================================================
    def replace_patterns(self, p: ResolvedPromise) -> None:
        """Replace on each line of the region, as cf-agent does: search again from the
        start of the line after every replacement (at most :data:`MAX_REPLACE` times),
        and refuse a line where the pattern still matches afterwards."""
        body = p.body("replace_with")
        value = str(body.get("replace_value", ""))
        first_only = str(body.get("occurrences", "all")) == "first"
        if first_only:
            self.log.warning("Setting replace-occurrences policy to 'first' is not convergent")
        try:
            rx = cfregex.compile(p.promiser)
        except cfregex.RegexError as e:
            self._error(f"Invalid regular expression '{p.promiser}' ({e})")
            return
        reg = self.region(p, "replacement")
        if reg is None:
            return
        start, end = reg
        changed = broken = False
        for i in range(start, end):
            orig = self.lines[i]
            line, rep = replace_line(rx, value, orig, first_only)
            if not_anchored(p.promiser) and rx.search(line):
                self._error(f"Promised replacement '{line}' on line '{orig}' for pattern "
                            f"'{p.promiser}' is not convergent while editing "
                            f"'{self.filename}' (regular expression matches the replacement "
                            "string)")
                self._error(f"Promise belongs to bundle '{p.bundle}' in file "
                            f"'{p.pos.file}' near line {p.pos.line}")
                self._error(f"Errors encountered when actuating replace_patterns promise "
                            f"'{p.promiser}'")
                return
            if self.simulate:
                # cf-agent asks on every line of the region, matching or not
                self._should(f"replace pattern '{p.promiser}' in '{self.filename}'")
                continue
            if rep is not None:
                self.lines[i] = line
                self.pending.append(f"Replaced pattern '{p.promiser}' in '{self.filename}'")
                changed = True
                if rx.search(rep):  # only an anchored pattern gets here
                    self._error(
                        f"Promised replacement '{rep}' for pattern '{p.promiser}' is not properly "
                        f"convergent while editing '{self.filename}' (pattern still matches the "
                        f"end-state replacement string '{rep}', consider use of a negative look "
                        "ahead)")
                    self.pending.append(f"Promise belongs to bundle '{p.bundle}' in file "
                                        f"'{p.pos.file}' near line {p.pos.line}")
                    broken = True
                if first_only:
                    break
        if broken:
            self._error(f"Errors encountered when actuating replace_patterns promise "
                        f"'{p.promiser}'")
        elif changed:
            self.pending.append(f"replace_patterns promise '{p.promiser}' repaired")

    # ===== field_edits =====================================================
    def field_edits(self, p: ResolvedPromise) -> None:
        """Edit one field of every matching line (see :mod:`engine.promises.files.fields`).
        A matching line without the separator stops the promise; a line too short
        for the field (and no ``extend_fields``) is an error and the next line is
        looked at."""
        spec = FieldSpec(p.body("edit_field"))
        if spec.select <= 0:  # checked before the promise's lock: said in every pass
            self._error(f"No select_field in promise to edit '{p.promiser}'")
            self._error(f"Promise belongs to bundle '{p.bundle}' in file '{p.pos.file}' "
                        f"near line {p.pos.line}")
            self.region_missing = True
            return
        reg = self.region(p, "field edit")
        if reg is None:
            return
        start, end = reg
        matched = changed = failed = False
        for i in range(start, end):
            if not full_match(p.promiser, self.lines[i]):
                continue
            matched = True
            try:
                edited = edit_field_line(self.lines[i], spec, self.filename)
            except NoFields:
                self._error(f"Field edit, no fields found by promised pattern "
                            f"'{spec.separator}' in '{self.filename}'")
                failed = True
                break
            except TooShort as e:
                self._error(f"The file {self.filename} has only {e.count} fields, but there "
                            f"is a promise for field {spec.select}")
                failed = True
                continue
            except cfregex.RegexError as e:
                self._error(str(e))
                failed = True
                break
            if edited is None:
                continue
            if self.simulate:
                self._should(f"edit field '{spec.value}' in '{self.filename}'")
                continue
            self.lines[i], msg = edited
            self.pending.append(msg)
            changed = True
        if not matched:
            self._error(f"No matched line to edit fields of for pattern '{p.promiser}' "
                        f"in '{self.filename}'")
            failed = True
        if failed:
            self._error(f"Errors encountered when actuating fields_edit promise '{p.promiser}'")
        elif changed:
            self.pending.append(f"fields_edit promise '{p.promiser}' repaired")
