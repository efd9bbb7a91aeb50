"""Tokens of policy files kept between runs, keyed by each file's content digest.

cf-agent parses and validates every input file on every run; so does vigil, but the
costliest step, tokenizing, is done once per content: the tokens of a file are stored
as ``marshal`` data under ``WORKDIR/state/policy_cache/<sha256>`` and read back when the
same text is met again. Reading is about five times cheaper than tokenizing.

The cache is private state: it is used only in a directory this user owns that no one
else can write, files are opened without following links, and anything unreadable,
malformed or of the wrong shape is ignored (the file is simply tokenized again).
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from engine.policy.lexer import Token

#: bump when the lexer's token format or the macro handling changes
FORMAT = b"vigil-tokens-1\n"
#: entries kept; older ones are removed when a new one is written past this
MAX_ENTRIES = 2000


class TokenCache:
    """A directory of tokenized policy texts."""

    __slots__ = ("directory",)

    def __init__(self, directory: str) -> None:
        self.directory = directory

    @classmethod
    def open(cls, directory: Path | str) -> TokenCache | None:
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

    def tokens(self, text: str, make: Callable[[str], tuple[str, list[Token]]]
               ) -> tuple[str, list[Token]]:
        """``make(text)`` -> (preprocessed text, tokens), from the cache when possible."""
        from engine.state.digest import sha256  # without loading OpenSSL at each start

        digest = sha256(FORMAT + text.encode("utf-8", "surrogatepass")).hexdigest()
        path = os.path.join(self.directory, digest)
        cached = self._read(path)
        if cached is not None:
            processed, toks = cached
            return (text if processed is None else processed), toks
        processed, toks = make(text)
        self._write(path, (None if processed == text else processed, toks))
        return processed, toks

    @staticmethod
    def _read(path: str) -> tuple[str | None, list[Token]] | None:
        import marshal

        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                return None
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read()
        except OSError:
            return None
        finally:
            os.close(fd)
        try:
            value = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return None
        if (type(value) is not tuple or len(value) != 2 or type(value[1]) is not list
                or not (value[0] is None or type(value[0]) is str)
                or not value[1] or type(value[1][-1]) is not tuple or value[1][-1][0] != "E"):
            return None
        return value[0], value[1]

    def _write(self, path: str, value: tuple[str | None, list[Token]]) -> None:
        import marshal

        from engine.atomicwrite import write_atomic

        try:
            write_atomic(path, marshal.dumps(value), 0o600, sync=False)  # a cache: no fsync
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
