"""Diagnostics: what the front end says about a policy, and how it is printed.

A :class:`Diagnostic` is a position, a severity and a message. :meth:`Diagnostic.format`
renders it the way compilers (and cf-promises) do::

    promises.cf:12:5: error: expected ';' or ',' after constraint, found '}'
        }
        ^

Severities: ``error`` (the policy is rejected), ``warning`` (suspicious but accepted) and
``unsupported`` (valid CFEngine that vigil does not act on; printed, not fatal).
"""

from __future__ import annotations

from engine.policy.ast import _Node

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Literal

    from engine.policy.ast import Pos

    Severity = Literal["error", "warning", "unsupported"]

_set = object.__setattr__


class Diagnostic(_Node):
    """One finding about a policy, anchored at ``pos`` (immutable, like the AST nodes)."""

    __slots__ = ("pos", "severity", "message")
    __match_args__ = ("pos", "severity", "message")
    pos: Pos
    severity: Severity
    message: str

    def __init__(self, pos: Pos, severity: Severity, message: str) -> None:
        _set(self, "pos", pos)
        _set(self, "severity", severity)
        _set(self, "message", message)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def headline(self) -> str:
        """``file:line:col: severity: message`` without the source excerpt."""
        return f"{self.pos.file}:{self.pos.line}:{self.pos.col}: {self.severity}: {self.message}"

    def format(self, source: str | None = None) -> str:
        """The headline, then the source line and a caret under the column.

        ``source`` is the file's text; when omitted the file is read.
        The excerpt is left out when the line cannot be found.
        """
        line_text = _source_line(self.pos.file, self.pos.line, source)
        if line_text is None:
            return self.headline()
        # Keep tabs in the caret line so the caret lines up under tab-indented code.
        col = max(self.pos.col, 1)
        lead = "".join(ch if ch == "\t" else " " for ch in line_text[: col - 1])
        return f"{self.headline()}\n{line_text}\n{lead}^"


class PolicySyntaxError(Exception):
    """Raised by the parser at the first syntax error; ``.diagnostic`` says where and why."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.headline())
        self.diagnostic = diagnostic


def error(pos: Pos, message: str) -> Diagnostic:
    return Diagnostic(pos, "error", message)


def warning(pos: Pos, message: str) -> Diagnostic:
    return Diagnostic(pos, "warning", message)


def unsupported(pos: Pos, message: str) -> Diagnostic:
    return Diagnostic(pos, "unsupported", message)


def _source_line(path: str, line: int, source: str | None) -> str | None:
    if line < 1:
        return None
    lines = source.splitlines() if source is not None else _file_lines(path)
    if lines is None:
        return None
    if line > len(lines):
        return "" if line == len(lines) + 1 else None
    return lines[line - 1]


def _file_lines(path: str) -> list[str] | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().splitlines()
    except OSError:
        return None
