"""The promise-module protocol, agent side: one running module and its messages.

A module is a program (run through an optional interpreter) that reads requests on
its stdin and answers on its stdout. The agent opens with a header line
(``cf-agent 3.21.0 v1`` and an empty line); the module answers with its own
(``name version v1 line_based|json_based [feature ...]`` and an empty line). Every
message after that ends with an empty line:

- line based: ``key=value`` lines; attributes go as ``attribute_<name>=<value>``
  and may only be strings without newlines;
- JSON based: one line of JSON, which answers may precede with ``log_<level>=``
  lines (and may carry a ``log`` list of ``{"level", "message"}`` inside).

Answers carry ``result`` and, after evaluation, ``result_classes``. The module's
stderr is not part of the protocol: it is passed through to the agent's stderr.
"""

from __future__ import annotations

import json
import os
import subprocess

from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

# what the agent announces: modules check the protocol version (v1), and some
# the version of the agent they talk to, which vigil is compatible with
AGENT_HEADER = "cf-agent 3.21.0 v1"
LOG_LEVELS = ("critical", "error", "warning", "notice", "info", "verbose", "debug")


class ModuleError(Exception):
    """The module could not be started, broke the protocol or went away."""


class Reply:
    """One answer: its ``result``, ``result_classes`` and log lines in order."""

    __slots__ = ("result", "classes", "logs")

    def __init__(self) -> None:
        self.result = ""
        self.classes: list[str] = []
        self.logs: list[tuple[str, str]] = []


class ModuleProcess:
    """A started module that has sent its header. ``features`` holds the words after
    the protocol version (``line_based``, ``json_based``, ``action_policy``...)."""

    def __init__(self, path: str, interpreter: str | None) -> None:
        self.path = path
        self.interpreter = interpreter
        argv = [interpreter, path] if interpreter else [path]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError as e:
            raise ModuleError(f"Could not start promise module '{path}': {e.strerror}") from e
        self.name = ""
        self.features: set[str] = set()
        try:
            self._write(f"{AGENT_HEADER}\n\n")
            header = self._readline()
        except ModuleError:
            header = None
        if not header:
            self.kill()
            raise ModuleError(f"Did not receive header from promise module '{path}'")
        parts = header.split()
        if len(parts) < 4 or parts[2] != "v1":
            self.kill()
            raise ModuleError(f"Promise module '{path}' sent an invalid header: '{header}'")
        self.name = parts[0]
        self.features = set(parts[3:])
        if self.json == ("line_based" in self.features) or not (
                self.json or "line_based" in self.features):
            self.kill()
            raise ModuleError(f"Promise module '{path}' must ask for exactly one of "
                              f"'line_based' and 'json_based' in its header: '{header}'")
        if self._readline() != "":
            self.kill()
            raise ModuleError(f"Promise module '{path}' did not end its header with an "
                              "empty line")

    @property
    def json(self) -> bool:
        return "json_based" in self.features

    # ----- transport ------------------------------------------------------------
    def _write(self, text: str) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(text.encode("utf-8", "surrogateescape"))
            stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as e:
            raise ModuleError(f"Promise module '{self.path}' is not reading its input") from e

    def _readline(self) -> str | None:
        """One line without its newline; None at end of output."""
        stdout = self.proc.stdout
        assert stdout is not None
        raw = stdout.readline()
        if not raw:
            return None
        return raw.decode("utf-8", "replace").rstrip("\n").removesuffix("\r")

    # ----- requests -------------------------------------------------------------
    def request(self, message: dict[str, Any]) -> Reply:
        """Send one request and read its answer; ModuleError if the module broke off."""
        self._write(self._encode(message))
        lines: list[str] = []
        while True:
            line = self._readline()
            if line is None:
                raise ModuleError(f"Promise module '{self.path}' exited or closed its output "
                                  f"during '{message.get('operation')}'")
            if line == "":
                if lines:
                    break
                continue  # stray empty lines between messages
            lines.append(line)
        return self._decode(lines)

    def _encode(self, message: dict[str, Any]) -> str:
        if self.json:
            return json.dumps(message, default=_jsonable) + "\n\n"
        out = []
        for key, value in message.items():
            if key == "attributes":
                for name, v in value.items():
                    out.append(f"attribute_{name}={v}")
            else:
                out.append(f"{key}={value}")
        return "\n".join(out) + "\n\n"

    def _decode(self, lines: list[str]) -> Reply:
        reply = Reply()
        body: list[str] = []
        for line in lines:
            key, sep, value = line.partition("=")
            if sep and key.startswith("log_") and key[4:] in LOG_LEVELS:
                reply.logs.append((key[4:], value))
            else:
                body.append(line)
        if self.json:
            text = "".join(body)
            try:
                data = json.loads(text)
            except ValueError as e:
                raise ModuleError(f"Promise module '{self.path}' sent invalid JSON: "
                                  f"'{text[:200]}'") from e
            if not isinstance(data, dict):
                raise ModuleError(f"Promise module '{self.path}' sent a JSON answer that is "
                                  "not an object")
            for entry in data.get("log") or ():
                if isinstance(entry, dict):
                    reply.logs.append((str(entry.get("level", "info")),
                                       str(entry.get("message", ""))))
            reply.result = str(data.get("result", ""))
            classes = data.get("result_classes") or []
            reply.classes = [str(c) for c in classes] if isinstance(classes, list) else []
            return reply
        for line in body:
            key, _, value = line.partition("=")
            if key == "result":
                reply.result = value
            elif key == "result_classes":
                reply.classes = [c.strip() for c in value.split(",") if c.strip()]
        return reply

    # ----- the end --------------------------------------------------------------
    def terminate(self) -> Reply | None:
        """Ask the module to stop, then make sure it has; its answer, if any."""
        reply = None
        try:
            if self.proc.poll() is None:
                reply = self.request({"operation": "terminate"})
        except ModuleError:
            reply = None
        self.kill(grace=2.0)
        return reply

    def kill(self, grace: float = 0.0) -> None:
        proc = self.proc
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        if grace:
            try:
                proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _jsonable(v: Any) -> Any:
    if isinstance(v, Data):
        return v.value
    return str(v)


def display_filename(path: str) -> str:
    """The policy file as the user named it: the entry file given as ``./x.cf`` was
    made absolute by joining it to the working directory, unnormalised; modules are
    told the relative name, as cf-agent tells them."""
    cwd = os.getcwd().rstrip("/") + "/"
    if path.startswith(cwd):
        rest = path[len(cwd):]
        if rest.startswith(("./", "../")):
            return rest
    return path
