"""``e``: trust a peer's key, the careful way.

1. host:port; 2. the peer's fingerprint, large and alone, with the question whether it
matches what ``vigil key --print`` shows on that host (a changed key says KEY CHANGED
and shows both); 3. trust or not; 4. whether the peer has *us* pending. The network
calls run in a thread worker and come back as messages.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from engine.inspect import PeerKeyProbe, peer_standing, probe_peer
from engine.workdir import Workdir
from tui.data import jobs
from tui.data.jobs import JobRunner

# Only what the exchange checked: whose key is trusted where. Whether copies or runs
# work is up to the peer's access rules, which no request here tried.
STANDING_WORDS = {
    "trusted": "● {host} trusts this host's key (copies and runs are up to its access rules).",
    "pending": (
        "◐ {host} has this host's key PENDING: an admin there must accept it:\n"
        "    vigil key --accept {mine}"
    ),
    "rejected": "✗ {host} has REJECTED this host's key.",
    "changed": "✗ {host} knows a DIFFERENT key for this host (KEY CHANGED on their side).",
    "denied": "✗ {host} refused this host.",
}


def big_fingerprint(fp: str) -> str:
    """A fingerprint in groups of four, four groups a line, to be read aloud and compared."""
    head, _, body = fp.partition(":")
    if not body:
        head, body = "", fp
    groups = [body[i : i + 4] for i in range(0, len(body), 4)]
    lines = ["  ".join(groups[i : i + 4]) for i in range(0, len(groups), 4)]
    return "\n".join(([f"{head}:"] if head else []) + lines)


class ProbeDone(Message):
    def __init__(self, probe: Any, error: str | None) -> None:
        super().__init__()
        self.probe = probe
        self.error = error


class StandingKnown(Message):
    def __init__(self, trusted: bool, standing: str | None, error: str | None,
                 words: str = "") -> None:
        super().__init__()
        self.trusted = trusted
        self.standing = standing
        self.error = error
        self.words = words  # the engine's account of it (Standing.describe)


VIGIL_PORT = 5310
CFENGINE_PORT = 5308


def split_hostport(text: str, default_port: int = VIGIL_PORT) -> tuple[str, int]:
    """``web07:5310`` -> ("web07", 5310); ``[::1]:5310`` and a bare host work too."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
        return host, int(port) if port else default_port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


class KeyExchangeScreen(ModalScreen[bool]):
    """Dismisses with True when a key was trusted."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "close")]

    DEFAULT_CSS = """
    KeyExchangeScreen { align: center middle; }
    KeyExchangeScreen > Vertical {
        width: 84; max-width: 100%; height: auto; max-height: 95%; border: thick $accent;
        background: $surface; padding: 1 2;
    }
    KeyExchangeScreen #kx-fingerprint {
        text-style: bold; content-align: center middle; text-align: center;
        padding: 1 0; border: double $accent; margin: 1 0;
    }
    KeyExchangeScreen #kx-warning { text-style: bold reverse; display: none; }
    KeyExchangeScreen #kx-warning.-shown { display: block; }
    KeyExchangeScreen .-hidden { display: none; }
    KeyExchangeScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    KeyExchangeScreen Button { margin-left: 2; }
    """

    def __init__(self, workdir: Workdir, own_fingerprint: str | None) -> None:
        super().__init__()
        self.workdir = workdir
        self.own_fingerprint = own_fingerprint or (
            "(this host has no key yet: run cf-key)" if workdir.cfengine
            else "(this host has no key yet: run 'vigil key')")
        self.default_port = CFENGINE_PORT if workdir.cfengine else VIGIL_PORT
        self.host = ""
        self.port = 0
        self.probe: PeerKeyProbe | None = None
        self.trusted_any = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Key exchange", classes="title")
            yield Static("Peer to connect to (host:port):", id="kx-ask")
            yield Input(placeholder=f"host:port, e.g. 10.0.0.17:{self.default_port}"
                        + ("" if self.workdir.cfengine else " (CFEngine: 5308)"), id="kx-host")
            yield Static("", id="kx-status")
            yield Static("", id="kx-warning")
            yield Static("", id="kx-fingerprint", classes="-hidden")
            yield Static("", id="kx-question", classes="-hidden")
            with Horizontal(id="kx-buttons", classes="-hidden"):
                yield Button("No, do not trust (n)", id="kx-no")
                yield Button("Yes, it matches: trust (y)", id="kx-yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#kx-host", Input).focus()

    # -- step 1: connect ---------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self.host, self.port = split_hostport(event.value, self.default_port)
        except ValueError:
            self._status(f"✗ write host:port, e.g. 10.0.0.17:{self.default_port}")
            return
        if not self.host:
            self._status(f"✗ write host:port, e.g. 10.0.0.17:{self.default_port}")
            return
        self._status(f"◐ connecting to {self.host}:{self.port}…")
        self._probe(self.host, self.port)

    @work(thread=True, exclusive=True, group="key-exchange")
    def _probe(self, host: str, port: int) -> None:
        try:
            result = probe_peer(self.workdir, host, port)
        except Exception as exc:
            self.post_message(ProbeDone(None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(ProbeDone(result, None))

    # -- step 2: show the fingerprint and ask ---------------------------------------

    def on_probe_done(self, message: ProbeDone) -> None:
        if message.error or message.probe is None:
            self._status(f"✗ could not get the key of {self.host}:{self.port}: {message.error}")
            return
        p = self.probe = message.probe
        self.query_one("#kx-host", Input).add_class("-hidden")
        self.query_one("#kx-ask", Static).add_class("-hidden")
        fp_box = self.query_one("#kx-fingerprint", Static)
        fp_box.remove_class("-hidden")
        warning = self.query_one("#kx-warning", Static)
        if p.changed_from:
            warning.add_class("-shown")
            warning.update(
                f"⚠ KEY CHANGED for {self.host}:{self.port}\n"
                f"  trusted until now: {p.changed_from}\n"
                f"  presented now:     {p.fingerprint}\n"
                "  The old key stays trusted until you remove it."
            )
        fp_box.update(big_fingerprint(p.fingerprint))
        if p.known:
            self._status(f"● {p.name} presented a key you already trust.")
            self._check_standing(trusted=False)
            return
        self._status(f"{p.name} presented this key:")
        question = self.query_one("#kx-question", Static)
        question.remove_class("-hidden")
        where = ("'cf-key -p /var/lib/cfengine3/ppkeys/localhost.pub'"
                 if p.cfengine else "'vigil key --print'")
        question.update(f"Does this match the fingerprint printed by {where} on {p.name}?")
        self.query_one("#kx-buttons").remove_class("-hidden")
        self.query_one("#kx-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._answer(event.button.id == "kx-yes")

    def on_key(self, event: Any) -> None:
        if self.query_one("#kx-buttons").has_class("-hidden"):
            return
        if event.key in ("y", "n"):
            event.stop()
            self._answer(event.key == "y")

    def _answer(self, yes: bool) -> None:
        self.query_one("#kx-buttons").add_class("-hidden")
        self.query_one("#kx-question", Static).add_class("-hidden")
        if not yes:
            self._status("✗ not trusted. Nothing was written. (esc to close)")
            return
        self._status("◐ trusting the key, then asking the peer about this host…")
        self._check_standing(trusted=True)

    # -- step 3 and 4: trust, then our standing on the peer ----------------------------

    @work(thread=True, exclusive=True, group="key-exchange")
    def _check_standing(self, trusted: bool) -> None:
        probe = self.probe
        assert probe is not None  # steps 3 and 4 follow a probe
        try:
            if trusted:  # written by the job runner (vigil key --trust-server), not here
                done = self.app_jobs().run(
                    jobs.trust_server(self.workdir, self.host, self.port, probe.fingerprint))
                if not done.ok:
                    raise RuntimeError(done.message)
            standing = peer_standing(self.workdir, self.host, self.port, probe.server_host,
                                     cfengine=probe.cfengine)
        except Exception as exc:
            self.post_message(StandingKnown(trusted, None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(StandingKnown(trusted, standing.status, None, standing.describe()))

    def on_standing_known(self, message: StandingKnown) -> None:
        probe = self.probe
        assert probe is not None
        self.trusted_any = self.trusted_any or message.trusted
        first = f"● trusted {probe.fingerprint}\n" if message.trusted else ""
        if message.error:
            self._status(f"{first}✗ could not ask {probe.name} about this host: {message.error}")
            return
        template = STANDING_WORDS.get(message.standing or "", "? {host} answered: " + str(message.standing))
        text = message.words or template.format(host=probe.name, mine=self.own_fingerprint)
        if probe.cfengine and not self.workdir.cfengine:
            # the hub's key is trusted here now: the bootstrap need not trust it blindly
            text += (f"\nTo take policy from this hub: vigil agent --bootstrap {probe.address} "
                     f"--trust-server=no -w {self.workdir.root}")
        self._status(f"{first}{text}\n(esc to close)")

    def app_jobs(self) -> JobRunner:
        runner: JobRunner = self.app.jobs  # type: ignore[attr-defined]  # the console's runner
        return runner

    def _status(self, text: str) -> None:
        self.query_one("#kx-status", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(self.trusted_any)
