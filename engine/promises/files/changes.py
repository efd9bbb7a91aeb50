"""``changes`` bodies: watching files for changes of content and attributes, as
cf-agent 3.21 does.

``report_changes``: ``content`` (the file's digest), ``stats`` (mode, owner, group,
device, inode and modification time), ``all``, or ``none`` (the default: nothing is
watched). ``hash``: the digest, ``md5`` unless said (``best`` is md5 and sha1;
cf-agent 3.21 takes ``sha224`` for md5, and so does vigil). ``update_hashes``
(default false): whether a changed digest, stat or directory listing replaces the one
recorded; a changed digest that is not updated fails the promise at every look, and
so does a depth search that may not record its directory listings. ``report_diffs``
asks cf-agent Enterprise for a diff; the community edition, like vigil, has none.

What is recorded lives in ``state/cf_changes.lmdb`` in cf-agent's format
(:mod:`engine.state.changes`); each change is a line of ``state/file_changes.log``
(``time,promise id,path,code,message``: ``N`` a new file, found by a depth search,
``R`` one removed from it, ``C`` content, ``S`` stats). A changed digest also defines
``checksum_alerts``, kept as a persistent class for 10 minutes.

A single file is looked at twice in a promise (cf-agent's first and last look), each
entry of a depth search once, with the directory's listing compared with the one
recorded once all its entries have been seen.
"""

from __future__ import annotations

import os
import stat
import time

from engine.state.changes import FILE_NAME, ChangesDB, StatRecord, sorted_names
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises._acc import Acc
    from engine.promises.base import ResolvedPromise, RunContext

_TRUE = ("true", "yes", "on")
_DB_KEY = "files_changes_db"
ALERT_CLASS = "checksum_alerts"
ALERT_MINUTES = 10  # cf-agent's CF_PERSISTENCE
_LOG_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def watch_for(promise: ResolvedPromise, run: RunContext) -> Watch | None:
    """The promise's ``changes`` body when it watches anything, else None."""
    body = promise.body("changes")
    report = str(body.get("report_changes", "none"))
    if report not in ("content", "stats", "all"):
        return None
    return Watch(body, report, promise, run)


def _digest_kinds(name: str) -> tuple[str, ...]:
    if name == "best":
        return ("md5", "sha1")
    if name in ("sha1", "sha256", "sha384", "sha512"):
        return (name,)
    return ("md5",)  # md5, sha224 (as cf-agent 3.21 takes it) and anything unknown


def _file_digest(path: str, kind: str) -> bytes | None:
    import hashlib

    h = hashlib.new(kind)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        while chunk := os.read(fd, 1 << 16):
            h.update(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return h.digest()


class Watch:
    """One promise's ``changes`` body at work on the files it reaches."""

    __slots__ = ("kinds", "content", "stats", "update", "run", "pid", "_listed", "_known",
                 "_alerted")

    def __init__(self, body: dict[str, object], report: str, promise: ResolvedPromise,
                 run: RunContext) -> None:
        self.kinds = _digest_kinds(str(body.get("hash", "md5")))
        self.content = report in ("content", "all")
        self.stats = report in ("stats", "all")
        self.update = str(body.get("update_hashes", "false")).lower() in _TRUE
        self.run = run
        pos = promise.pos
        self.pid = promise.handle or f"promise_{canonify(os.path.basename(pos.file))}_{pos.line}"
        self._listed: dict[str, list[str]] = {}  # names a depth search selected, by directory
        self._known: dict[str, set[str]] = {}  # names recorded before, by directory
        self._alerted = False

    @property
    def db(self) -> ChangesDB:
        state = self.run.run_state
        db = state.get(_DB_KEY)
        if db is None:
            path = os.path.join(self.run.workdir, "state", FILE_NAME)
            db = state[_DB_KEY] = ChangesDB(path, self.run.log)
        return db

    # -- one file -----------------------------------------------------------------

    def look(self, path: str, st: os.stat_result, acc: Acc) -> None:
        """Compare the file's digest (a plain file) and stats with those recorded."""
        try:
            if self.content and stat.S_ISREG(st.st_mode):
                self._integrity(path, acc)
            if self.stats:
                self._stats(path, st, acc)
        except OSError as e:
            acc.fail(f"Unable to open the hash database! ({e})")

    def missing(self, path: str, acc: Acc) -> None:
        acc.fail(f"Promised to monitor '{path}' for changes, but file does not exist")

    def _integrity(self, path: str, acc: Acc) -> None:
        changed = False
        for kind in self.kinds:  # best: sha1 is not looked at once md5 says changed
            if changed:
                break
            digest = _file_digest(path, kind)
            if digest is None:
                continue
            stored = self.db.digest(kind, path)
            found = stored is not None
            if stored is not None and stored[:len(digest)] == digest:
                acc.log.verbose(f"File hash for {path} is correct")
                acc.keep()
                continue
            if found:
                acc.log.info(f"Hash '{kind}' for '{path}' changed!")
            if acc.warn_only:
                acc.should(f"record change of hash for file '{path}'")
                changed = True
            elif not found or self.update:
                label = "MD5" if kind == "md5" else "SHA"
                if self.db.set_digest(kind, path, digest):
                    acc.repair(f"{'Updated' if found else 'Stored'} {kind} hash for '{path}' "
                               f"({label}={digest.hex()})")
                else:
                    acc.fail(f"Could not record the {kind} hash for '{path}'")
                changed = changed or found
            else:
                acc.fail(f"Hash for file '{path}' changed, but not updating the records")
                changed = True
        if changed:
            self._alert(acc)
            self._note(path, "C", "Content changed", "integrity", acc)

    def _alert(self, acc: Acc) -> None:
        """``checksum_alerts``: for this run, and for the next 10 minutes."""
        if self._alerted:
            return
        self._alerted = True
        acc.classes.append(ALERT_CLASS)
        if acc.dry_run:
            return
        from engine.state.persistent import PersistentClassDB

        try:
            db = PersistentClassDB.open(os.path.join(self.run.workdir, "state", "cf_state.lmdb"),
                                        self.run.log)
        except Exception as e:  # a broken state database must not stop the promise
            self.run.log.error(f"Could not record persistent class '{ALERT_CLASS}': {e}")
            return
        with db:
            db.save(ALERT_CLASS, ALERT_MINUTES, "preserve")

    def _stats(self, path: str, st: os.stat_result, acc: Acc) -> None:
        old = self.db.stat(path)
        if old is None:
            if acc.warn_only:
                acc.should(f"write stat information for '{path}' to database")
            elif self.db.set_stat(path, st):
                acc.repair(f"Wrote stat information for '{path}' to database")
            else:
                acc.fail(f"Could not write stat information for '{path}' to database")
            return
        new = StatRecord.of(st)
        if old == new:
            acc.log.verbose(f"No stat information change for '{path}'")
            acc.keep()
            return
        log = acc.log
        if old.mode != new.mode:
            log.notice(f"Permissions for '{path}' changed {old.mode:04o} -> {new.mode:04o}")
            self._note(path, "S", f"Permission: {old.mode:04o} -> {new.mode:04o}",
                       "permissions", acc)
        if old.uid != new.uid:
            log.notice(f"Owner for '{path}' changed {old.uid} -> {new.uid}")
            self._note(path, "S", f"Owner: {old.uid} -> {new.uid}", "ownership", acc)
        if old.gid != new.gid:
            log.notice(f"Group for '{path}' changed {old.gid} -> {new.gid}")
            self._note(path, "S", f"Group: {old.gid} -> {new.gid}", "group", acc)
        if old.dev != new.dev:
            log.notice(f"Device for '{path}' changed {old.dev} -> {new.dev}")
            self._note(path, "S", f"Device: {old.dev} -> {new.dev}", "device", acc)
        if old.ino != new.ino:
            log.notice(f"inode for '{path}' changed {old.ino} -> {new.ino}")
        if old.mtime != new.mtime:
            was, now = time.ctime(old.mtime), time.ctime(new.mtime)
            log.notice(f"Last modified time for '{path}' changed '{was}' -> '{now}'")
            self._note(path, "S", f"Modified time: {was} -> {now}", "mtime", acc)
        if not self.update:
            return
        if acc.warn_only:
            acc.should(f"write stat information for '{path}' to database")
        elif self.db.set_stat(path, st):
            acc.repair(f"Wrote stat information changes for '{path}' to database")
        else:
            acc.fail(f"Failed to write stat information for '{path}' to database")

    # -- a depth search -------------------------------------------------------------

    def entry(self, path: str, acc: Acc) -> None:
        """A depth search selected ``path``: noted as new when its directory's recorded
        listing does not have it."""
        d, _, name = path.rpartition("/")
        d = d or "/"
        known = self._known.get(d)
        if known is None:
            try:
                known = self._known[d] = set(self.db.names(d))
            except OSError as e:
                acc.fail(f"Could not open changes database ({e})")
                known = self._known[d] = set()
        self._listed.setdefault(d, []).append(name)
        if name not in known:
            acc.log.notice(f"New file '{path}' found")
            self._write(path, "N", "New file found", acc)

    def directory_done(self, d: str, acc: Acc) -> None:
        """Every entry of ``d`` has been seen: what the recorded listing has and the
        search did not select is gone; the listing is recorded (``update_hashes``)."""
        disk = sorted_names(self._listed.pop(d, []))
        try:
            recorded = self.db.names(d)
        except OSError as e:
            acc.fail(f"Could not open changes database ({e})")
            return
        self._known.pop(d, None)
        here, before = set(disk), set(recorded)
        if not here <= before and not acc.warn_only:
            acc.repair()  # a new entry changes the promise's outcome, without a word
        prefix = d if d.endswith("/") else d + "/"
        for name in recorded:
            if name in here:
                continue
            gone = prefix + name
            acc.log.notice(f"File '{gone}' no longer exists")
            if acc.warn_only:
                acc.should(f"record removal of '{gone}'")
                continue
            if self._write(gone, "R", "File removed", acc):
                acc.repair(f"Removal of '{gone}' recorded")
            else:
                acc.fail(f"Failed to record removal of '{gone}'")
            self.db.forget(gone)
        if acc.warn_only:
            acc.should(f"record directory listing for '{d}'")
        elif self.update and (changed := self.db.set_names(d, disk)) is not None:
            if changed:
                acc.repair(f"Recorded directory listing for '{d}'")
        else:  # cf-agent records this as a change (info, repaired classes) and fails
            acc.repair(f"Failed to record directory listing for '{d}'")
            acc.fail()

    # -- the change log -------------------------------------------------------------

    def _note(self, path: str, code: str, message: str, what: str, acc: Acc) -> None:
        """A change found: a line of the change log, or what would be written."""
        if acc.warn_only:
            acc.should(f"record {what} changes in '{path}'")
        elif self._write(path, code, message, acc):
            acc.repair(f"Recorded {what} changes in '{path}'")
        else:
            acc.fail(f"Failed to record {what} changes in '{path}'")

    def _write(self, path: str, code: str, message: str, acc: Acc) -> bool:
        """Append one line to ``state/file_changes.log`` (made 0600, never through a
        link); False, after an error line, when it cannot be written."""
        state = os.path.join(self.run.workdir, "state")
        log_path = os.path.join(state, "file_changes.log")
        line = f"{int(time.time())},{self.pid},{path},{code},{message}\n"
        try:
            os.makedirs(state, mode=0o700, exist_ok=True)
            fd = os.open(log_path, _LOG_FLAGS, 0o600)
        except OSError as e:
            acc.log.error(f"Could not write to the hash change log. (fopen: {e.strerror})")
            return False
        try:
            st = os.fstat(fd)
            if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                acc.log.error(f"File '{log_path}' (owner {st.st_uid}) was writable by others "
                              "(security exception)")
            os.write(fd, os.fsencode(line))
        except OSError as e:
            acc.log.error(f"Could not write to the hash change log. (write: {e.strerror})")
            return False
        finally:
            os.close(fd)
        return True
