"""Parsed policy files kept between runs, keyed by each file's content digest.

cf-agent parses and validates every input file on every run; so does vigil, but a file
is parsed once per content: the parsed file is stored in the compact form of
:mod:`engine.policy.astcodec` as ``marshal`` data under
``WORKDIR/state/policy_cache/<content digest>.<FORMAT>`` and rebuilt from it when the
same bytes are met again, with the preprocessed text (``@if`` macros resolved) its
positions count in. Rebuilding costs about a fifth of tokenizing and parsing. Only
successful parses are stored: a file with a syntax error is parsed (and reported) every
time. An entry also names the front end that made it (:data:`FRONT_END`), so an entry of
an older parser is never used.

The cache is private state: it is used only in a directory this user owns that no one
else can write, files are opened without following links and must be ours, and anything
unreadable, malformed, of the wrong shape or made for other content is ignored (the file
is simply parsed again).
"""

from __future__ import annotations

import gc
import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from engine.policy.ast import PolicyFile

#: bump when the encoded form (astcodec) changes; entries are named with it
FORMAT = "ast-1"
#: the front end's modules whose code decides what a parse gives: an entry also carries
#: their sizes and times, so a changed parser never meets trees an older one made
FRONT_END = ("source.py", "macros.py", "lexer.py", "guards.py", "parser.py", "ast.py",
             "_fastnodes.py", "astcodec.py")
#: entries kept; older ones are removed when a new one is written past this
MAX_ENTRIES = 2000


class ParseCache:
    """A directory of parsed policy texts."""

    __slots__ = ("directory", "tag")

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.tag = _front_end_tag()

    @classmethod
    def open(cls, directory: Path | str) -> ParseCache | None:
        """The cache in ``directory`` (made 0700 if missing), or None if it is not safe
        to use: not a directory, not ours, or writable by others."""
        d = str(directory)
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return None
        try:
            st = os.lstat(d)
        except OSError:
            return None
        if (not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid()
                or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            return None
        return cls(d)

    def parse(self, text: str, path: str, digest: str) -> PolicyFile:
        """``text`` (the file at ``path``, whose bytes have content ``digest``) parsed,
        from the cache when possible; raises PolicySyntaxError as the parser does."""
        entry = os.path.join(self.directory, f"{digest}.{FORMAT}")
        cached = self._read(entry, self.tag, digest, text, path)
        if cached is not None:
            return cached
        from engine.policy.astcodec import Unencodable, encode
        from engine.policy.parser import parse_source

        pf, processed = parse_source(text, path)
        try:
            data = encode(pf)
        except Unencodable:
            return pf
        self._write(entry, (self.tag, digest, None if processed == text else processed, data))
        return pf

    @staticmethod
    def _read(entry: str, tag: str, digest: str, text: str, path: str) -> PolicyFile | None:
        import marshal

        from engine.policy.source import read_to_end

        try:
            fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                return None
            raw = read_to_end(fd, st.st_size)
        except OSError:
            return None
        finally:
            os.close(fd)
        try:
            value = marshal.loads(raw)
        except (EOFError, ValueError, TypeError):
            return None
        if (type(value) is not tuple or len(value) != 4 or value[0] != tag
                or value[1] != digest or not (value[2] is None or type(value[2]) is str)):
            return None  # another format, or an entry made for other content
        from engine.policy.astcodec import MALFORMED, rebuild

        paused = gc.isenabled()  # no cycles in an AST: see parser.parse_source
        if paused:
            gc.disable()
        try:
            return rebuild(value[3], text if value[2] is None else value[2], path)
        except MALFORMED:
            return None
        finally:
            if paused:
                gc.enable()

    def _write(self, entry: str, value: tuple[object, ...]) -> None:
        import marshal

        from engine.atomicwrite import write_atomic

        try:
            data = marshal.dumps(value)  # type: ignore[arg-type]  # tuples of str, int, bool, None
            # Dumped again from its own copy: marshal marks every object held twice as one
            # it may meet again, and here the parsed nodes still hold every offset; in the
            # copy only the strings the encoder shares are, so the entry loads faster.
            data = marshal.dumps(marshal.loads(data))
            write_atomic(entry, data, 0o600, sync=False)  # a cache: no fsync
        except (OSError, ValueError):
            return
        self._prune()

    def _prune(self) -> None:
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        if len(names) <= MAX_ENTRIES:
            return
        aged = []
        for n in names:
            try:
                aged.append((os.lstat(os.path.join(self.directory, n)).st_mtime, n))
            except OSError:
                continue
        aged.sort()
        for _, n in aged[: len(aged) - MAX_ENTRIES // 2]:
            try:
                os.unlink(os.path.join(self.directory, n))
            except OSError:
                pass


def _front_end_tag() -> str:
    """FORMAT and the size and time of each module in :data:`FRONT_END`."""
    here = os.path.dirname(os.path.abspath(__file__))
    parts = [FORMAT]
    for name in FRONT_END:
        try:
            st = os.stat(os.path.join(here, name))
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{name}:?")
    return " ".join(parts)
