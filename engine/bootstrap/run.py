"""The bootstrap, step by step, as ``cf-agent --bootstrap HUB`` takes them.

1. read the hub's address (a name is resolved; ``host:port`` names the port) and
   decide the role: the hub itself (its address is ours and ``masterfiles/`` has a
   ``promises.cf``) or a client;
2. a client makes first contact (:mod:`.hub`): the hub's key is trusted on first use
   (``Trusting new key: MD5=…``) unless ``--trust-server=no``; nothing in the workdir
   has changed yet when this fails;
3. empty ``inputs/``, write the bootstrap policy (:mod:`.failsafe`) there,
   ``state/am_policy_hub`` on the hub, ``policy_server.dat``;
4. run the bootstrap policy: it fetches the policy, runs ``update.cf`` and
   ``promises.cf`` once (unless ``--skip-bootstrap-policy-run``) and starts the
   scheduler (unless ``--skip-bootstrap-service-start``);
5. check that ``inputs/promises.cf`` arrived and the scheduler runs:
   ``Bootstrap to 'HUB' completed successfully!`` (exit 0); otherwise the bootstrap
   files are taken away again and the exit code is 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.bootstrap import failsafe, state
from engine.bootstrap.hub import HubError, contact
from engine.bootstrap.target import Hub, TargetError, is_this_host, masterfiles_ready, parse
from engine.cfnet import rsakey
from engine.log import LineLogger
from engine.workdir import Workdir


@dataclass(frozen=True, slots=True)
class BootstrapOptions:
    argument: str
    trust_server: bool = True
    run_policy: bool = True  # --skip-bootstrap-policy-run clears it
    start_services: bool = True  # --skip-bootstrap-service-start clears it
    defines: tuple[str, ...] = ()
    negates: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


def bootstrap(opts: BootstrapOptions, wd: Workdir, log: LineLogger) -> int:
    """Bootstrap ``wd`` to the hub; the exit code."""
    try:
        hub = parse(opts.argument)
    except TargetError as exc:
        log.error(str(exc))
        return 1
    if opts.argument in ("localhost", "127.0.0.1", "::1"):
        log.warning("Bootstrapping to loopback interface (localhost), other hosts will not be "
                    "able to bootstrap to this server")
    if not rsakey.has_key(wd.ppkeys):
        log.error(f"No public/private key pair is loaded (no RSA key in '{wd.ppkeys}'), please "
                  "create one by running 'vigil key'")
        return 1
    wd.ensure()
    am_hub = _decide_role(wd, hub, log)
    if not am_hub:
        log.info(f"Assuming role as regular client, bootstrapping to policy server: {hub.argument}")
        if opts.trust_server:
            log.notice("Bootstrap mode: implicitly trusting server, use --trust-server=no if "
                       "server trust is already established")
        try:
            contact(wd.root, hub, opts.trust_server, log)
        except HubError as exc:
            log.error(str(exc))
            log.error(f"Bootstrapping to '{hub.argument}' failed; this workdir was not changed")
            return 1
    try:
        log.info(f"Removing all files in '{wd.inputs}'")
        state.empty_inputs(wd.inputs)
        path = failsafe.write(wd.inputs)
        log.info(f"Writing vigil's bootstrap policy to '{path}'")
        state.mark_hub(wd.root, am_hub)
        state.write_policy_server(wd.root, hub.argument)
    except OSError as exc:
        log.error(f"Cannot prepare '{wd.root}' for the bootstrap: {exc}")
        state.forget(wd.root)
        return 1
    _run_failsafe(opts, wd, path, am_hub, log)
    if not _verify(opts, wd, log):
        state.forget(wd.root)
        return 1
    log.notice(f"Bootstrap to '{hub.argument}' completed successfully!")
    return 0


def _decide_role(wd: Workdir, hub: Hub, log: LineLogger) -> bool:
    from engine.eval.hardclasses import discover

    if not is_this_host(hub.address, discover(wd.root)[0]):
        return False
    masterdir = wd.masterfiles
    if masterfiles_ready(masterdir):
        log.info(f"Assuming role as policy server, with policy distribution point at: {masterdir}")
        return True
    log.notice(f"'{hub.address}' is this host, but '{masterdir}/promises.cf' does not exist: "
               f"bootstrapping to the server on port {hub.port} here as a client")
    return False


def _run_failsafe(opts: BootstrapOptions, wd: Workdir, path: object, am_hub: bool,
                  log: LineLogger) -> int:
    from engine.daemons import pidfile
    from engine.eval.agent import AgentOptions
    from engine.eval.run import run as run_agent

    classes = ["bootstrap_mode"]
    if am_hub:
        classes += ["am_policy_hub", "policy_server"]
    elif opts.trust_server:
        classes.append("trust_server")
    if not opts.run_policy:
        classes.append("skip_policy_on_bootstrap")
    if not opts.start_services:
        classes.append("bootstrap_skip_services")
    for daemon in ("execd", "serverd"):
        if pidfile.check(wd.root, daemon).state == "running":
            classes.append(f"vigil_{daemon}_running")
    run_opts = AgentOptions(policy_file=str(path), workdir=wd, no_lock=True,
                            defines=[*opts.defines, *classes],
                            negates=list(opts.negates), flags=list(opts.flags))
    return run_agent(run_opts, log)


def _verify(opts: BootstrapOptions, wd: Workdir, log: LineLogger) -> bool:
    from engine.eval.policyhub import read_policy_server

    if read_policy_server(wd.root) is None:
        log.error("Bootstrapping failed, no policy server is specified")
        return False
    if not wd.promises_cf.is_file():
        log.error(f"Bootstrapping failed, no input file at '{wd.promises_cf}' after bootstrap")
        return False
    if opts.start_services:
        from engine.daemons import pidfile

        if pidfile.check(wd.root, "execd").state != "running":
            log.error("Bootstrapping failed, the scheduler (vigil execd) is not running")
            return False
    return True
