"""Hard classes and ``sys.*`` variables, discovered as cf-agent discovers them.

Discovery reads the kernel (uname, /proc, /etc/os-release) directly rather than
through psutil so that an agent run pays well under a millisecond for it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from engine.text import canonify
from engine.workdir import Workdir

CF_VERSION = (3, 21, 0)
CF_RELEASE = "1"  # sys.cf_version_release of the packaged 3.21.0

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
_SHIFTS = ("Night", "Morning", "Afternoon", "Evening")


def _time_set(tm: time.struct_time) -> list[str]:
    hour, minute = tm.tm_hour, tm.tm_min
    five = (minute // 5) * 5
    out = [
        _WEEKDAYS[tm.tm_wday],
        f"Day{tm.tm_mday}",
        _MONTHS[tm.tm_mon - 1],
        f"Yr{tm.tm_year}",
        f"Hr{hour:02d}",
        f"Hr{hour:02d}_Q{minute // 15 + 1}",
        f"Q{minute // 15 + 1}",
        f"Min{minute:02d}",
        f"Min{five:02d}_{(five + 5) % 60:02d}",
        _SHIFTS[hour // 6],
        f"Lcycle_{tm.tm_year % 3}",
    ]
    if hour < 10:
        out.append(f"Hr{hour}")
    return out


def time_classes(t: float | None = None) -> set[str]:
    """Every time class for instant ``t``: local ones and their ``GMT_`` twins."""
    t = time.time() if t is None else t
    local = _time_set(time.localtime(t))
    gmt = _time_set(time.gmtime(t))
    return set(local) | {f"GMT_{c}" for c in gmt}


def _os_release() -> dict[str, str]:
    data: dict[str, str] = {}
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                data[key.strip()] = value.strip().strip('"')
    except OSError:
        pass
    return data


def _feature_classes() -> set[str]:
    """``feature`` and ``feature_<name>`` with every ``_``-prefix of each feature vigil has,
    as cf-agent defines them (``tls_1_2`` gives ``feature_tls``, ``feature_tls_1``, ...)."""
    from engine.policy.macros import FEATURES

    out = {"feature"}
    for name in FEATURES:
        parts = name.split("_")
        out.update("feature_" + "_".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def key_digest(pub_path: str) -> str | None:
    """``sys.key_digest`` for the host key at ``pub_path``: its vigil fingerprint
    (``SHA256:...``, as ``engine.trust.keys.fingerprint``), or None without a key.

    Written out with :mod:`engine.state.digest` (CPython's builtin SHA-256) and
    ``binascii`` so that start-up loads neither ``hashlib`` nor the trust package.
    """
    import binascii

    from engine.state.digest import sha256

    try:
        with open(pub_path, encoding="ascii") as f:
            text = f.read()
        body = text.split("-----BEGIN PUBLIC KEY-----", 1)[1].split("-----END PUBLIC KEY-----", 1)[0]
        der = binascii.a2b_base64("".join(body.split()))
    except (OSError, IndexError, ValueError, binascii.Error):
        return None
    prefix = bytes.fromhex("302a300506032b6570032100")  # Ed25519 SubjectPublicKeyInfo
    if len(der) != len(prefix) + 32 or not der.startswith(prefix):
        return None
    b64 = binascii.b2a_base64(sha256(der[len(prefix):]).digest(), newline=False).decode()
    return "SHA256:" + b64.rstrip("=").replace("+", "-").replace("/", "_")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _uptime_minutes() -> int:
    try:
        return int(float(Path("/proc/uptime").read_text().split()[0]) // 60)
    except (OSError, ValueError, IndexError):
        return 0


def discover(workdir: str | os.PathLike[str], now: float | None = None,
             component: str = "agent") -> tuple[set[str], dict[str, object]]:
    """Hard classes and ``sys`` variables for this host and ``workdir``.

    ``component`` names the class cf-agent and friends define for themselves
    (``agent``; cf-promises' is ``common``).
    """
    from engine.eval._netinfo import discover_network
    from engine.eval.values import Data

    now = time.time() if now is None else now
    wd = str(workdir)
    layout = Workdir(Path(wd))
    uname = os.uname()
    fqhost = uname.nodename  # no resolver round trip on every run
    uqhost = uname.nodename.split(".")[0]
    domain = fqhost.partition(".")[2]
    osrel = _os_release()
    distro = osrel.get("ID", "")
    version_id = osrel.get("VERSION_ID", "")
    major = version_id.split(".")[0] if version_id else ""
    flavor = f"{distro}_{major}" if distro and major else distro
    sysname = uname.sysname.lower()
    machine = uname.machine
    cpus = _cpus()

    classes: set[str] = {
        "any", "cfengine", "cfengine_3", "cfengine_3_21", "cfengine_3_21_0",
        "community_edition", "vigil", sysname, canonify(machine),
        f"{cpus}_cpus", f"{sysname}_{canonify(machine)}",
        canonify(f"{sysname}_{uname.release}"), canonify(uqhost), canonify(fqhost),
        canonify(f"{sysname}_{machine}_{uname.release}"),
        canonify(f"{sysname}_{machine}_{uname.release}_{uname.version}"),
        f"compiled_on_{sysname}_gnu", component,
    }
    classes |= _feature_classes()
    if machine in ("x86_64", "aarch64", "ppc64le", "s390x", "riscv64"):
        classes.add("64_bit")
    else:
        classes.add("32_bit")
    if distro:
        classes.add(canonify(distro))
        for like in osrel.get("ID_LIKE", "").split():
            classes.add(canonify(like))
    if flavor:
        classes.add(canonify(flavor))
    try:
        deb = Path("/etc/debian_version").read_text().strip()
        if deb and deb[0].isdigit():
            classes.add(canonify(f"debian_{deb}"))
    except OSError:
        pass
    if domain:
        classes.add(canonify(domain))

    classes |= time_classes(now)

    sys_vars: dict[str, object] = {
        "arch": machine,
        "class": sysname,
        "os": sysname,
        "ostype": f"{sysname}_{machine}",
        "flavor": flavor,
        "flavour": flavor,
        "os_name_human": osrel.get("NAME", "").split(" ")[0] or sysname,
        "os_version_major": major,
        "release": uname.release,
        "version": uname.version,
        "long_arch": canonify(f"{sysname}_{machine}_{uname.release}_{uname.version}"),
        "cpus": str(cpus),
        "fqhost": fqhost,
        "uqhost": uqhost,
        "host": uqhost,
        "domain": domain,
        "date": time.asctime(time.localtime(now)),
        "cdate": canonify(time.asctime(time.localtime(now))),
        "systime": str(int(now)),
        "sysday": str(int(now) // 86400),
        "uptime": str(_uptime_minutes()),
        **layout.sys_paths(),
        "crontab": "/var/spool/cron/crontabs/root",
        "resolv": "/etc/resolv.conf",
        "fstab": "/etc/fstab",
        "maildir": "/var/spool/mail",
        "exports": "/etc/exports",
        "doc_root": "/var/www",
        "cf_version": ".".join(map(str, CF_VERSION)),
        "cf_version_major": str(CF_VERSION[0]),
        "cf_version_minor": str(CF_VERSION[1]),
        "cf_version_patch": str(CF_VERSION[2]),
        "cf_version_release": CF_RELEASE,
        "os_release": Data(osrel),
        "vigil_command": f"{sys.executable} -m engine",
        "vigil_python": sys.executable,
    }
    sys_vars.update(_component_paths(str(layout.bin)))
    discover_network(classes, sys_vars)
    if os.path.exists(os.path.join(wd, "policy_server.dat")) or \
            os.path.exists(os.path.join(wd, "state", "am_policy_hub")):
        from engine.eval.policyhub import hub_context  # a bootstrapped host only

        hub_classes, hub_vars, _error = hub_context(wd)  # run() reports the error
    else:
        hub_classes, hub_vars = set(), {}
    classes |= hub_classes
    sys_vars.update(hub_vars)
    # the Ed25519 key is ppkeys/vigil.pub (localhost.pub holds the RSA key for CFEngine peers)
    digest = key_digest(f"{wd}/ppkeys/vigil.pub") or key_digest(f"{wd}/ppkeys/localhost.pub")
    if digest is not None:
        sys_vars["key_digest"] = digest
        classes.add("PK_" + canonify(digest))
    user = _user_data()
    if user is not None:
        sys_vars["user_data"] = user
    return classes, sys_vars


# sys.cf_<name> -> program in sys.bindir; cf-twin is cf-agent's copy in 3.21.
_COMPONENTS = {
    "cf_agent": "cf-agent", "cf_check": "cf-check", "cf_execd": "cf-execd", "cf_key": "cf-key",
    "cf_monitord": "cf-monitord", "cf_net": "cf-net", "cf_promises": "cf-promises",
    "cf_runagent": "cf-runagent", "cf_secret": "cf-secret", "cf_serverd": "cf-serverd",
    "cf_twin": "cf-agent", "cf_upgrade": "cf-upgrade",
}


def _component_paths(bindir: str) -> dict[str, object]:
    """``sys.cf_agent`` and friends: quoted like cf-agent's, so a command
    ``"$(sys.cf_agent) -Kf x.cf"`` survives a bindir with spaces."""
    return {var: f'"{bindir}/{prog}"' for var, prog in _COMPONENTS.items()}


def _user_data() -> object | None:
    """``sys.user_data``: the running user's passwd entry as a data container."""
    from engine.eval.values import Data

    try:
        import pwd  # not on every platform

        ent = pwd.getpwuid(os.getuid())
    except (ImportError, KeyError):
        return None
    return Data({
        "description": ent.pw_gecos, "gid": ent.pw_gid, "home_dir": ent.pw_dir,
        "shell": ent.pw_shell, "uid": ent.pw_uid, "username": ent.pw_name,
    })
