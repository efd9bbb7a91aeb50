"""A ``copy_from`` whose source is on another host: CFEngine's protocol
(:mod:`engine.cfnet`) or vigil's own (:mod:`engine.trust.client`), each imported only
then."""

from __future__ import annotations

from engine.promises.files.copy_one import _true
from engine.promises.files.copy_tree import purge

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises._acc import Acc
    from engine.promises.base import RunContext
    from engine.promises.files.select import CopyFilter

def _tls_settings(run: RunContext) -> tuple[str, str]:
    """``tls_ciphers`` and ``tls_min_version`` of body common control, read once a run."""
    cached = run.run_state.get("cfnet_tls")
    if not isinstance(cached, tuple):
        common = run.datastate().get("vars", {}).get("control_common", {})
        cached = tuple(str(common.get(k) or "") for k in ("tls_ciphers", "tls_min_version"))
        run.run_state["cfnet_tls"] = cached
    return cached[0], cached[1]


def copy_remote(servers: list[str], source: str, dest: str, body: dict[str, object], acc: Acc,
            run: RunContext, depth: int = 0, flt: CopyFilter | None = None,
                where: str = "") -> None:
    """Each server in turn until one answers. The transport is chosen per server:
    CFEngine's protocol (``engine.cfnet``) unless the port is vigil's own, and vigil's
    when the server presents a vigil key (or, no port named, nothing listens on
    CFEngine's 5308); the rest of this module never knows which."""
    from pathlib import Path

    from engine.cfnet.copy_remote import ServerUnusable, copy_from_cfengine
    from engine.trust.client import RemoteError, client_settings, copy_from_remote, split_server

    compare = str(body.get("compare", "mtime")).lower()
    mode = "exists" if compare == "exists" else "mtime" if compare in (
        "mtime", "ctime", "atime") else "digest"
    trustkey = _true(body.get("trustkey"))
    try:
        vigil_port = client_settings(Path(run.workdir)).port
    except RemoteError:
        vigil_port = 5310
    for server in servers:
        portnumber = str(body.get("portnumber") or "")
        host, port = split_server(server, int(portnumber) if portnumber.isdigit() else 5308)
        named = "]:" in server or server.count(":") == 1 or portnumber.isdigit()
        try:
            if port != vigil_port and copy_from_cfengine(
                    str(run.workdir), host, port, source, dest, body, depth, acc, purge,
                    not named, _tls_settings(run), flt):
                return
        except ServerUnusable as e:
            (run.log.info if e.unreachable else run.log.error)(str(e))
            continue
        if named:
            server = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if flt is not None and flt.fs:  # vigil's own protocol copies one file, unfiltered
            run.log.error(f"{where}: file_select is not applied to a copy over vigil's own "
                          f"protocol (from '{server}'); the file is copied without it")
        try:
            r = copy_from_remote(run.workdir, server, source, dest, mode,  # type: ignore[arg-type]
                                 trustkey, dry_run=acc.warn_only)
        except RemoteError as e:
            run.log.error(str(e))
            run.log.info(f"Unable to establish connection to '{server}'")
            continue
        except OSError as e:
            run.log.error(f"Copy of '{source}' from '{server}' failed ({e})")
            continue
        if r.changed:
            if acc.warn_only:
                acc.should(f"update file '{dest}' from '{source}' on '{server}'")
            else:
                acc.repair(f"Updated file '{dest}' from '{server}:{source}'")
        return
    acc.fail(f"No suitable server found for '{dest}'")
