"""The console's key exchange with CFEngine peers, against real cf-serverd and cf-agent.

- In a CFEngine workdir (``--cfengine``), ``e`` takes a cf-serverd's RSA key, shows it as
  ``cf-key -p`` prints it, and trusts it through ``cf-key -t`` (so ``cf-key -s`` lists it).
- In a vigil workdir, the same exchange with a cf-serverd trusts its key as
  ``ppkeys/root-MD5=….pub`` and says plainly when the server does not accept us.
- A cf-agent that vigil's serverd does not trust waits as pending; the Keys screen lists
  it and ``a`` accepts it, after which the copy works.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.cfnet.rsakey import host_digest
from engine.workdir import Workdir
from tests.engine.cfnet.conftest import (  # noqa: F401  (cf_serverd: a fixture)
    cf_env,
    cf_serverd,
    cf_workdir,
    needs_cfengine,
    vigil_workdir,
)
from tests.engine.cfnet.vigil_server import vigil_serverd  # noqa: F401  (a fixture)
from tests.tui.conftest import settle
from tests.tui.test_live import wait_until
from tui.app import VigilConsole
from tui.screens.confirm import ConfirmScreen
from tui.screens.key_exchange import KeyExchangeScreen
from tui.widgets.virtual_table import VirtualTable

pytestmark = needs_cfengine
SIZE = (120, 36)


def _cf_key_p(pub: Path) -> str:
    return subprocess.run(["cf-key", "-p", str(pub)], capture_output=True, text=True,
                          check=True).stdout.strip()


async def _exchange(app: VigilConsole, pilot: Any, port: int) -> KeyExchangeScreen:
    await pilot.press("5")
    await settle(pilot)
    await pilot.press("e")
    await pilot.pause()
    assert isinstance(app.screen, KeyExchangeScreen)
    await pilot.press(*f"127.0.0.1:{port}", "enter")
    kx = app.screen
    await wait_until(pilot, lambda: kx.probe is not None
                     or "could not" in str(kx.query_one("#kx-status").render()))
    assert kx.probe is not None, str(kx.query_one("#kx-status").render())
    return kx


@pytest.mark.slow
async def test_cfengine_workdir_trusts_a_cf_serverd_through_cf_key(cf_serverd, tmp_path: Path) -> None:  # noqa: F811
    hub = cf_serverd([str(tmp_path)])
    cfwd = cf_workdir(tmp_path / "cfwd")
    theirs = _cf_key_p(hub.wd / "ppkeys" / "localhost.pub")
    app = VigilConsole(Workdir(cfwd, cfengine=True), live=False, offer_start=False)
    async with app.run_test(size=SIZE) as pilot:
        kx = await _exchange(app, pilot, hub.port)
        shown = str(kx.query_one("#kx-fingerprint").render()).replace("\n", "").replace(" ", "")
        assert shown == theirs
        assert "cf-key -p" in str(kx.query_one("#kx-question").render())
        assert not (cfwd / "ppkeys" / f"root-{theirs}.pub").exists()  # nothing before "y"
        await pilot.press("y")
        await wait_until(pilot, lambda: "trusts the key" in str(kx.query_one("#kx-status").render())
                         or "✗" in str(kx.query_one("#kx-status").render()), timeout=60)
        status = str(kx.query_one("#kx-status").render())
        assert f"● trusted {theirs}" in status and "trusts the key of this host" in status, status
        await pilot.press("escape")
        await settle(pilot)
        peers = {p.fingerprint: p for p in app.screen.query_one("#peers", VirtualTable).rows}
        assert peers[theirs].state == "trusted"
    assert (cfwd / "ppkeys" / f"root-{theirs}.pub").exists()
    listed = subprocess.run(["cf-key", "-s"], env=cf_env(cfwd), capture_output=True, text=True).stdout
    assert theirs in listed and "127.0.0.1" in listed
    # only what cf-key -t writes: no vigil files in CFEngine's ppkeys
    assert sorted(p.name for p in (cfwd / "ppkeys").iterdir()) == sorted(
        ["localhost.priv", "localhost.pub", f"root-{theirs}.pub"])


@pytest.mark.slow
async def test_vigil_workdir_trusts_a_cf_serverd_that_refuses_us(cf_serverd, tmp_path: Path) -> None:  # noqa: F811
    hub = cf_serverd([str(tmp_path)], trust="")  # trustkeysfrom nothing: our key stays unknown
    wd = Workdir(vigil_workdir(tmp_path / "v"))
    theirs = _cf_key_p(hub.wd / "ppkeys" / "localhost.pub")
    app = VigilConsole(wd, live=False, offer_start=False)
    async with app.run_test(size=SIZE) as pilot:
        kx = await _exchange(app, pilot, hub.port)
        assert kx.probe is not None and kx.probe.cfengine and kx.probe.fingerprint == theirs
        await pilot.press("y")
        await wait_until(pilot, lambda: "✗" in str(kx.query_one("#kx-status").render())
                         or "trusts the key" in str(kx.query_one("#kx-status").render()), timeout=60)
        status = str(kx.query_one("#kx-status").render())
        assert f"● trusted {theirs}" in status
        assert "refused" in status and "cf-key -t" in status, status
        assert f"vigil agent --bootstrap 127.0.0.1:{hub.port} --trust-server=no" in status
        await pilot.press("escape")
        await settle(pilot)
        peers = {p.fingerprint: p for p in app.screen.query_one("#peers", VirtualTable).rows}
        assert peers[theirs].state == "trusted" and peers[theirs].host == f"127.0.0.1:{hub.port}"
    assert (wd.ppkeys / f"root-{theirs}.pub").exists()


@pytest.mark.slow
async def test_pending_cf_agent_key_is_accepted_from_the_keys_screen(vigil_serverd, tmp_path: Path) -> None:  # noqa: F811
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("content\n")
    srv = vigil_serverd("hub", [str(share)], trust="")
    cfwd = cf_workdir(tmp_path / "cf")
    client_key = host_digest(cfwd / "ppkeys")
    # cf-agent trusts the server (its key as cf-key -t leaves it), the server not yet the agent
    (cfwd / "ppkeys" / f"root-{host_digest(srv.wd / 'ppkeys')}.pub").write_bytes(
        (srv.wd / "ppkeys" / "localhost.pub").read_bytes())
    dest = tmp_path / "dest"
    policy = tmp_path / "copy.cf"
    policy.write_text(f"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{ files: "{dest}/f" copy_from => remote; }}
body copy_from remote {{ source => "{share}/f"; servers => {{ "127.0.0.1" }}; portnumber => "{srv.port}"; }}
""")

    def cf_agent() -> str:
        r = subprocess.run(["cf-agent", "-K", "-f", str(policy)], env=cf_env(cfwd),
                           capture_output=True, text=True, timeout=120)
        return r.stdout + r.stderr

    out = cf_agent()
    assert not (dest / "f").exists(), out
    srv.wait_for(r"TRUST FAILED, peer presented an untrusted key")
    app = VigilConsole(Workdir(srv.wd), live=False, offer_start=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        table = app.screen.query_one("#peers", VirtualTable)
        rows = {p.fingerprint: p for p in table.rows}
        assert rows[client_key].state == "pending"
        table.cursor_row = [p.fingerprint for p in table.rows].index(client_key)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: (srv.wd / "ppkeys" / f"root-{client_key}.pub").exists(),
                         timeout=60)
    out = cf_agent()
    assert (dest / "f").read_text() == "content\n", out + srv.log[-3000:]
