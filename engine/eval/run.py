"""Set up and carry out one agent run, then write its report.

Order: load and validate the policy (nothing runs if it is invalid), discover
hard classes and ``sys`` variables, load persistent classes and monitor data,
pre-evaluate common bundles, read ``body agent control``, then evaluate the
bundlesequence and write ``outputs/runs/<ts>-<pid>.json``.
"""

from __future__ import annotations

import gc
import os
import re
import time
from pathlib import Path

from engine.eval import aborts
from engine.eval.agent import Agent, AgentOptions
from engine.eval.bundles import BundleRunner
from engine.eval.resolve import FunctionFailed, Unresolved
from engine.log import Level, LineLogger
from engine.policy.ast import FnCall, Policy, RList, Scalar
from engine.promises.base import BundleCall
from engine.state import runfile
from engine.state.persistent import PersistentClassDB

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

    from engine.promises.shadow.tree import Shadow

EXIT_OK = 0
EXIT_POLICY_INVALID = 1
# cf-promises' summary of a policy that does not validate (scripts look for it)
SYNTAX_ERRORS = "There are syntax errors in policy files"


def load_valid_policy(path: str, workdir: Path, log: LineLogger) -> tuple[Policy | None, str | None]:
    """The loaded policy, or None and the first error (already printed)."""
    from engine.eval.loading import load as load_policy
    from engine.policy.diagnostics import PolicySyntaxError

    try:
        from engine.policy.astcache import ParseCache

        cache = ParseCache.open(Path(workdir) / "state" / "policy_cache")
        result = load_policy(path, workdir, parse_cache=cache)
    except PolicySyntaxError as e:
        log.error(e.diagnostic.format().splitlines()[0])
        for line in e.diagnostic.format().splitlines()[1:]:
            log.stream.write(line + "\n") if log.sink is None else log.sink(line)
        log.error(SYNTAX_ERRORS)
        log.error("Policy failed validation; nothing was run")
        return None, e.diagnostic.format().splitlines()[0]
    except OSError as e:
        log.error(f"Can't read policy file '{path}': {e.strerror}")
        return None, f"{path}: {e.strerror}"
    problems = [d for d in result.diagnostics if d.severity == "error"]
    marker = Path(workdir) / "state" / "policy_validated"
    stamp = _validation_stamp(result.policy)
    if problems or not _already_validated(marker, stamp):
        from engine.policy.validate import validate  # a policy validated before is not

        problems += [d for d in validate(result.policy, inputs_pending=result.inputs_pending) if d.severity == "error"]
        if not problems:
            _write_marker(marker, stamp)
    else:
        log.verbose("Policy is already validated")
    if problems:
        for d in problems:
            text = d.format()
            log.error(text.splitlines()[0])
        log.error(SYNTAX_ERRORS)
        log.error("Policy failed validation; nothing was run")
        return None, problems[0].format().splitlines()[0]
    if (Path(workdir) / "state" / "am_policy_hub").exists():  # only a hub tags its policy
        from engine.eval.hubtag import tag_valid_policy

        tag_valid_policy(Path(workdir), path, log)
    return result.policy, None


def _validation_stamp(policy: Policy) -> str:
    """What a validation result depends on: every file's path and content (the digest
    the loader took), and the validator itself (its modules' size and time), so a
    changed vigil validates again."""
    import engine.policy
    from engine.policy.source import content_digests
    from engine.state.digest import sha256

    h = sha256()
    # the validator's files, named without importing them (a run that finds its
    # policy validated before does not load the validator)
    here = os.path.dirname(str(engine.policy.__file__))
    for name in ("syntax.py", "validate.py"):
        path = os.path.join(here, name)
        try:
            st = os.stat(path)
            h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(b"?")
    for path, digest in content_digests(policy):
        h.update(f"{path}\0{digest}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _already_validated(marker: Path, stamp: str) -> bool:
    """cf-agent skips validating a policy it validated before (cf_promises_validated);
    vigil does too, when the stamp of the policy and the validator is unchanged."""
    try:
        fd = os.open(marker, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return os.read(fd, 200).decode("ascii", "replace").strip() == stamp
    except OSError:
        return False
    finally:
        os.close(fd)


def _write_marker(marker: Path, stamp: str) -> None:
    from engine.atomicwrite import write_atomic

    try:
        write_atomic(marker, f"{stamp}\n".encode(), 0o600, sync=False)
    except OSError:
        pass


def _policy_hash(policy: Policy) -> str:
    """An identifier of the policy's content: a digest of its files' content digests."""
    from engine.policy.source import content_digests
    from engine.state.digest import sha256

    h = sha256()
    for _, digest in content_digests(policy):
        h.update(f"{digest}\n".encode())
    return h.hexdigest()[:16]


def _load_persistent(agent: Agent) -> None:
    log = agent.log
    try:
        db = PersistentClassDB.open_when_written(agent.opts.workdir.state_db, log=log)
    except Exception as e:  # a broken state DB must not stop the run
        log.error(f"Persistent classes unavailable: {e}")
        return
    agent.persistent = db
    now = time.time()
    log.verbose("Loading persistent classes")
    for name, pc in db.load(now).items():
        if name in agent.ctx.negated:
            log.verbose(f"Persistent class '{name}' negated by -N for this run")
            continue
        minutes = max(0, int((pc.expires - now) // 60))
        log.verbose(f"Persistent class '{name}' for {minutes} more minutes")
        agent.ctx.define(name, "namespace", pc.tags if isinstance(pc.tags, (list, tuple)) else ())


def _load_monitor(agent: Agent) -> None:
    env_data = agent.opts.workdir.state / "env_data"
    if not env_data.exists():
        return  # no monitord: its reader is not even imported
    from engine.state.envdata import read_env_data

    try:
        classes, variables = read_env_data(env_data)
    except OSError:
        return
    for c in classes:
        agent.ctx.hard.add(c)
    for k, v in variables.items():
        agent.ctx.set_var("mon", k, v, "slist" if isinstance(v, list) else "string")


def _set_domain(agent: Agent) -> None:
    """``domain`` of ``body common control``: sys.domain, sys.fqhost and its class."""
    domain = _control_value(agent, "common", "domain")
    if not isinstance(domain, str) or not domain:
        return
    from engine.text import canonify

    agent.ctx.set_var("sys", "domain", domain)
    uqhost = agent.ctx.lookup("sys.uqhost")
    if isinstance(uqhost, str) and uqhost:
        agent.ctx.set_var("sys", "fqhost", f"{uqhost}.{domain}")
    agent.ctx.hard.add(canonify(domain))


def _control_value(agent: Agent, body_type: str, lval: str) -> Any:
    for body in agent.policy.control_bodies(body_type):
        for c in body.constraints:
            if c.lval != lval:
                continue
            if c.guard != "any" and not agent.ctx.class_defined(c.guard):
                continue
            try:
                return agent.resolver.value(c.rval, agent.lookup, lval)
            except (Unresolved, FunctionFailed):
                return None
    return None


def _bundlesequence(agent: Agent) -> list[BundleCall]:
    if agent.opts.bundlesequence:
        return [BundleCall(b, ()) for b in agent.opts.bundlesequence]
    for body in agent.policy.control_bodies("common"):
        for c in body.constraints:
            if c.lval != "bundlesequence":
                continue
            if c.guard != "any" and not agent.ctx.class_defined(c.guard):
                continue
            items = c.rval.items if isinstance(c.rval, RList) else (c.rval,)
            out: list[BundleCall] = []
            for item in items:
                if isinstance(item, FnCall):
                    out.append(agent.resolver.bundle_call(item, agent.lookup))
                elif isinstance(item, Scalar):
                    agent.runner.clear_unresolved()
                    try:
                        v = agent.resolver.value(RList((item,), item.pos), agent.lookup)
                    except (Unresolved, FunctionFailed):
                        continue
                    if agent.runner.unresolved and not v:
                        # an undefined @(list) stays as written: no such bundle
                        v = [item.value]
                    out.extend(BundleCall(name, ()) for name in v)
            return out
    # no bundlesequence: cf-agent 3.21 runs `main` (`__main__` of the entry file)
    entry = os.path.abspath(agent.opts.policy_file)
    for f in agent.policy.files:
        if os.path.abspath(f.path) == entry and any(b.name == "__main__" for b in f.bundles):
            return [BundleCall("__main__", ())]
    return [BundleCall("main", ())]


def run(opts: AgentOptions, log: LineLogger) -> int:
    """Carry out one run; returns the exit code."""
    from engine.eval.hardclasses import discover
    from engine.eval.preeval import pre_evaluate_vars, resolve_control_bodies

    start = time.time()
    wd = opts.workdir.ensure()
    shadow = _shadow(opts, log) if opts.simulate else None
    policy, error = load_valid_policy(opts.policy_file, wd.root, log)
    if policy is None:
        if shadow is not None:
            shadow.remove()
        _write_report(opts, start, None, EXIT_POLICY_INVALID, error, None, log)
        return EXIT_POLICY_INVALID
    # The policy (no reference cycles) lives to the end of the run: keep the cyclic
    # collector from walking it again and again, and at exit.
    gc.freeze()
    hard, sys_vars = discover(wd.root, start)
    if "policy_hub_port" in sys_vars and "policy_hub" not in sys_vars:
        from engine.eval.policyhub import hub_context

        hub_error = hub_context(wd.root)[2]
        if hub_error:
            log.error(hub_error)
    entry = os.path.abspath(opts.policy_file)
    sys_vars.update({
        "policy_entry_filename": entry,
        "policy_entry_dirname": os.path.dirname(entry),
        "policy_entry_basename": os.path.basename(entry),
    })
    if log.enabled(Level.INFO):
        hard.add("inform_mode")
    if log.enabled(Level.VERBOSE):
        hard.add("verbose_mode")
    if opts.dry_run:
        hard.add("opt_dry_run")
    runner = BundleRunner()
    agent = Agent(policy, opts, log, hard, sys_vars, runner)
    agent.start = start
    agent.shadow = shadow
    _load_persistent(agent)
    _load_monitor(agent)
    from engine.eval import augments

    augments.install(agent, opts.policy_file, opts.ignore_preferred_augments)
    _set_domain(agent)
    if not opts.no_lock:
        try:
            from engine.state.locks import LockDB

            agent.locks = LockDB.open(wd.lock_db, log=log)
        except Exception as e:  # locks unavailable: run, but say so
            log.error(f"Lock database unavailable, running without locks: {e}")
            agent.locks = None
    code = EXIT_OK
    try:
        from engine.eval.inputs import resolve_common_and_inputs

        resolve_common_and_inputs(agent)
        agent.resolving = True
        try:
            pre_evaluate_vars(agent, [b for f in policy.files for b in f.bundles])
        finally:
            agent.resolving = False
        resolve_control_bodies(agent)
        # dryrun => "true" is -n without the opt_dry_run class, as in cf-agent
        if str(_control_value(agent, "agent", "dryrun")).lower() in ("true", "yes", "on"):
            agent.dry_run = True
        ifelapsed = _control_value(agent, "agent", "ifelapsed")
        if isinstance(ifelapsed, str) and ifelapsed.isdigit():
            agent.ifelapsed = int(ifelapsed)
        expireafter = _control_value(agent, "agent", "expireafter")
        if isinstance(expireafter, str) and expireafter.isdigit():
            agent.expireafter = int(expireafter)
        aborts.install(agent, _control_value(agent, "agent", "abortclasses"),
                       _control_value(agent, "agent", "abortbundleclasses"))
        sequence = _bundlesequence(agent)
        missing = [c.name for c in sequence if policy.find_bundle(c.name) is None]
        if missing and policy.common_flag("ignore_missing_bundles"):
            sequence = [c for c in sequence if c.name not in missing]
            missing = []
        if missing:
            for name in missing:
                log.error(f"Bundle '{name}' listed in the bundlesequence was not found")
            log.error("Fatal CFEngine error: Errors in agent bundles")
            code = EXIT_POLICY_INVALID
            sequence = []
        for call in sequence:
            bundle = policy.find_bundle(call.name)
            assert bundle is not None
            runner.run_bundle(agent, bundle, call.args)
        _show(agent, opts)
    except aborts.AgentAborted:  # already said which class
        code = aborts.EXIT_ABORTED
    except aborts.FatalPolicyError as e:
        log.error(f"Fatal CFEngine error: {e.message}")
        code = EXIT_POLICY_INVALID
    finally:
        _close_run_state(agent)
        if agent.locks is not None:
            agent.locks.close()
        if agent.persistent is not None:
            agent.persistent.close()
        if shadow is not None:
            _simulated(shadow, log)
    _write_report(opts, start, agent, code, None, _policy_hash(policy), log)
    return code


def _shadow(opts: AgentOptions, log: LineLogger) -> Shadow | None:
    """``--simulate``: the shadow tree files promises will change, announced as
    cf-agent announces its changes chroot."""
    from engine.promises.shadow import Shadow

    try:
        shadow = Shadow.create(str(opts.workdir.state), str(opts.simulate), log)
    except OSError as e:
        log.error(f"Could not make the shadow tree for --simulate in "
                  f"'{opts.workdir.state}' ({e.strerror or e}): files promises act as in "
                  "a dry run")
        return None
    log.warning(f"All changes in files will be made in the '{shadow.root}' chroot")
    return shadow


def _simulated(shadow: Shadow, log: LineLogger) -> None:
    """The end of a ``--simulate`` run: what files promises did, then the shadow goes."""
    from engine.promises.shadow.report import report

    log.flush()
    try:
        report(shadow, log, log.output)
    finally:
        log.flush()
        shadow.remove()


def _close_run_state(agent: Agent) -> None:
    """End what actuators started for the run (promise modules are terminated)."""
    for value in agent.run_state.values():
        close = getattr(value, "close", None)
        if close is None:
            continue
        try:
            close()
        except Exception as e:  # a helper that will not stop must not fail the run
            agent.log.error(f"Could not end {type(value).__name__}: {e}")
    agent.run_state.clear()


def _show(agent: Agent, opts: AgentOptions) -> None:
    """``--show-evaluated-classes`` / ``--show-evaluated-vars``: cf-agent's tables. The
    filter is searched for anywhere in the name, as cf-agent does (not anchored)."""
    show_classes = opts.show_classes
    show_vars = opts.show_vars
    out = agent.log
    ctx = agent.ctx
    if show_classes is not None:
        rx = re.compile(show_classes or ".*")
        out.stream.write(f"{'Class name':<60} {'Meta tags':<40} {'Comment':<40}\n")
        for c in sorted(ctx.all_classes()):
            if rx.search(c):
                tags = ",".join(ctx.class_tags.get(c, ("source=agent", "hardclass") if c in ctx.hard else ("source=promise",)))
                comment = ctx.class_comments.get(c, "")
                out.stream.write(f"{c:<60} {tags:<40} {comment:<40}\n")
    if show_vars is not None:
        from engine.eval.values import Data

        rx = re.compile(show_vars or ".*")
        out.stream.write(f"{'Variable name':<40} {'Variable value':<60} {'Meta tags':<40} {'Comment':<40}\n")
        rows = []
        for scope, table in ctx.scopes.items():
            qual = scope if ":" in scope else f"default:{scope}"
            for name, var in table.items():
                full = f"{qual}.{name}"
                if rx.search(full):
                    rows.append((full, var, ":" not in scope))
        for full, var, special in sorted(rows, key=lambda r: r[0]):
            v = var.value
            if isinstance(v, list):
                text = " {" + ",".join('"' + x.replace('"', '\\"') + '"' for x in v) + "}"
            elif isinstance(v, Data):
                text = v.to_json()
            else:
                text = str(v).replace('"', '\\"')
            tags = ",".join(var.tags) if var.tags else ("source=agent" if special else "")
            out.stream.write(f"{full:<40} {text:<60} {tags:<40} {var.comment:<40}\n")


def _write_report(opts: AgentOptions, start: float, agent: Agent | None, code: int,
                  error: str | None, policy_hash: str | None, log: LineLogger) -> None:
    """``outputs/runs/<id>.json``; the same file ``engine.state.runs.RunReport`` writes,
    built from the agent's rows without making a record object per promise."""
    end = time.time()
    counts = dict(agent.counts) if agent else {"kept": 0, "repaired": 0, "notkept": 0, "skipped": 0}
    run_id = runfile.report_name(start, os.getpid())
    header = {
        "id": run_id,
        "start": start,
        "end": end,
        "pid": os.getpid(),
        "policy_file": os.path.abspath(opts.policy_file),
        "policy_hash": policy_hash or "",
        "flags": list(opts.flags),
        "started_by": opts.started_by,
        "exit_code": code,
        "interrupted": False,
        "policy_error": error,
        "counts": counts,
        "output_file": opts.output_file,
    }
    text = runfile.report_json(header, sorted(agent.ctx.soft) if agent else [],
                               sorted(opts.negates), agent.records if agent else [])
    try:
        runfile.write_report_file(opts.workdir.runs, run_id, text)
        keep = 100
        if opts.workdir.settings_file.exists():  # no vigil.toml: the defaults, unread
            try:
                from engine.settings import Settings

                keep = Settings.load(opts.workdir.root).agent.run_reports_keep
            except Exception:
                pass
        runfile.prune(opts.workdir.runs, keep)
    except OSError as e:
        log.error(f"Could not write the run report: {e}")
