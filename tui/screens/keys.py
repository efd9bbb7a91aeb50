"""5 · Keys: this host's fingerprint and its peers, trusted, pending and rejected."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from engine.inspect import KeysView, PeerKey
from tui import format as fmt
from tui.data import jobs
from tui.data.source import Source
from tui.messages import KeysRefreshed
from tui.screens.base import VigilScreen
from tui.screens.key_exchange import KeyExchangeScreen
from tui.widgets.virtual_table import Cell, Column, VirtualTable

STATE_ORDER = {"pending": 0, "trusted": 1, "seen": 2, "rejected": 3}


def _state(peer: PeerKey) -> str:
    return peer.state.lower()


def _state_cell(peer: PeerKey, _now: float) -> Cell:
    state = _state(peer)
    if peer.changed_from:
        return (f"{state} · KEY CHANGED", "vt--bad")
    glyph = {"trusted": "●", "pending": "◐", "rejected": "✗", "seen": "○"}.get(state, "?")
    style = {"trusted": "vt--ok", "pending": "vt--warn", "rejected": "vt--dim"}.get(state, "")
    return (f"{glyph} {state}", style)


def _host(peer: PeerKey) -> str:
    names = list(peer.names)
    host = peer.host or (names[0] if names else "")
    more = len([n for n in names if n != host])
    return f"{host} (+{more})" if more else host or fmt.DASH


def _seen(peer: PeerKey, now: float) -> str:
    if peer.direction:  # CFEngine: cf_lastseen.lmdb, as cf-key -s
        return f"{peer.direction[:3]} {fmt.day_time(peer.last_seen or None)}"
    if _state(peer) == "pending":
        return "first seen " + fmt.clock_time(peer.first_seen or None, now)
    return "since " + fmt.day_time(peer.first_seen or None)


def changed_words(peer: PeerKey) -> str:
    """For a dialog: the words KEY CHANGED and both fingerprints, or nothing."""
    if not peer.changed_from:
        return ""
    return (
        f"\n\nKEY CHANGED for {_host(peer)}:\n  trusted until now: {peer.changed_from}\n"
        f"  presented now:     {peer.fingerprint}"
    )


COLUMNS: list[Column[PeerKey]] = [
    Column("state", "state", _state_cell, width=22, sort_key=lambda p, _n: STATE_ORDER.get(_state(p), 9),
           pinned=True),
    Column("fp", "fingerprint", lambda p, _n: p.fingerprint, min_width=50, pinned=True),
    Column("host", "host", lambda p, _n: _host(p), width=20, sort_key=lambda p, _n: _host(p)),
    Column("address", "address", lambda p, _n: p.address or fmt.DASH, width=16),
    Column("seen", "seen", _seen, width=27,
           sort_key=lambda p, _n: p.last_seen or p.first_seen or 0.0),
]
CF_COLUMNS: list[Column[PeerKey]] = [
    Column("state", "state", _state_cell, width=10, pinned=True,
           sort_key=lambda p, _n: STATE_ORDER.get(_state(p), 9)),
    Column("fp", "key", lambda p, _n: p.fingerprint, min_width=36, pinned=True),
    Column("address", "IP", lambda p, _n: p.address or fmt.DASH, width=16),
    Column("host", "name", lambda p, _n: _host(p), width=20, sort_key=lambda p, _n: _host(p)),
    Column("seen", "last connection", _seen, width=24,
           sort_key=lambda p, _n: p.last_seen or 0.0),
]


class KeysScreen(VigilScreen):
    TITLE = "Keys"
    CSS_PATH = Path(__file__).with_name("keys.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "accept"),
        Binding("r", "reject", "reject"),
        Binding("d", "remove_key", "remove key"),
        Binding("e", "exchange", "key exchange"),
        Binding("y", "copy", "copy mine", show=False),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """vigil: accept/reject pending keys; CFEngine: remove (cf-key -r); both: exchange."""
        cf = self.console.workdir.cfengine
        if action in ("accept", "reject", "exchange", "remove_key") and self.console.readonly:
            return False  # hidden (None would show it greyed)
        if action in ("accept", "reject") and cf:
            return False  # hidden (None would show it greyed)
        if action == "remove_key" and not cf:
            return False  # hidden (None would show it greyed)
        return super().check_action(action, parameters)

    def __init__(self) -> None:
        super().__init__()
        self.view: KeysView | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("this host   reading…", id="my-key", classes="headline", markup=False)
        table: VirtualTable[PeerKey] = VirtualTable(
            CF_COLUMNS if self.console.workdir.cfengine else COLUMNS,
            row_key=lambda p: (p.fingerprint, _state(p), p.direction),
            haystack=lambda p: f"{_state(p)} {_host(p)} {p.address} {p.fingerprint}",
            clock=self.console.clock,
            empty_text="no peer keys yet: press e for a key exchange",
            sort_column="state",
            id="peers",
        )
        table.border_title = "Peers"
        yield table
        yield Static("", id="changed-keys", classes="note", markup=False)

    def on_mount(self) -> None:
        self.query_one("#peers", VirtualTable).focus()

    def fetch(self, source: Source) -> Message | None:
        return KeysRefreshed(source.keys())

    def on_keys_refreshed(self, message: KeysRefreshed) -> None:
        table = self.query_one("#peers", VirtualTable)
        mine = self.query_one("#my-key", Static)
        if not message.keys.ok or message.keys.value is None:
            table.empty_text = f"keys {message.keys.missing}"
            table.set_rows([])
            mine.update(f"this host   keys {message.keys.missing}")
            return
        view = self.view = message.keys.value
        if view.fingerprint:
            mine.update(f"this host   {view.fingerprint}   (y to copy)")
        else:
            mine.update(f"this host   {view.key_note}")
        table.set_rows(view.peers)
        changed = [p for p in view.peers if p.changed_from]
        self.query_one("#changed-keys", Static).update(
            "\n".join(
                f"⚠ KEY CHANGED for {_host(p)}: trusted {p.changed_from}, now presents {p.fingerprint}"
                for p in changed
            )
        )

    # -- actions -----------------------------------------------------------------

    def action_copy(self) -> None:
        if self.view is None or not self.view.fingerprint:
            self.notify("this host has no key yet", severity="warning")
            return
        self.app.copy_to_clipboard(self.view.fingerprint)
        self.notify(f"copied {self.view.fingerprint}")

    def _pending_selected(self, verb: str) -> PeerKey | None:
        peer: PeerKey | None = self.selected()
        if peer is None or _state(peer) != "pending":
            self.notify(f"select a pending key to {verb} it", severity="warning")
            return None
        return peer

    def action_accept(self) -> None:
        if self.console.refuse_if_readonly("accepting a key"):
            return
        peer = self._pending_selected("accept")
        if peer is None:
            return
        wd, fp = self.console.workdir, peer.fingerprint
        self.console.confirm_then(
            f"Accept the key of {_host(peer)}?",
            f"{fp}\naddress {peer.address or fmt.DASH}{changed_words(peer)}\n\n"
            "It will be trusted: that peer may then connect as the access rules allow.",
            "Accept",
            jobs.accept_key(wd, fp),
        )

    def action_reject(self) -> None:
        if self.console.refuse_if_readonly("rejecting a key"):
            return
        peer = self._pending_selected("reject")
        if peer is None:
            return
        wd, fp = self.console.workdir, peer.fingerprint
        self.console.confirm_then(
            f"Reject the key of {_host(peer)}?",
            f"{fp}{changed_words(peer)}\n\nConnections presenting it will be refused.",
            "Reject",
            jobs.reject_key(wd, fp),
        )

    def action_remove_key(self) -> None:
        """CFEngine: forget a peer's key with cf-key -r (its ppkeys file and lastseen entries)."""
        if self.console.refuse_if_readonly("removing a key"):
            return
        peer = self.selected()
        if peer is None:
            self.notify("select a key to remove it", severity="warning")
            return
        wd, fp = self.console.workdir, peer.fingerprint
        self.console.confirm_then(
            f"Remove the key of {_host(peer)}?",
            f"{fp}\naddress {peer.address or fmt.DASH}\n\n"
            "cf-key -r forgets it: its ppkeys file and its cf_lastseen entries go. The peer must "
            "be trusted again before it may connect.",
            "Remove",
            jobs.remove_key(wd, fp),
        )

    def action_exchange(self) -> None:
        if self.console.refuse_if_readonly("the key exchange"):
            return
        mine = self.view.fingerprint if self.view else None

        def done(trusted: bool | None) -> None:
            if trusted:
                self.notify("key trusted")
            self.console.refresh_now()

        self.app.push_screen(KeyExchangeScreen(self.console.workdir, mine), done)
