"""User and group look-ups: getuid, getgid, userexists, groupexists, getusers, getuserinfo."""

from __future__ import annotations

import grp
import pwd

from engine.eval.functions.registry import FnEnv, FunctionError, as_list, function
from engine.eval.values import Data


@function("getuid", "int", 1, 1)
def getuid(env: FnEnv, user: str) -> str:
    """getuid(username): the user's numeric id."""
    try:
        return str(pwd.getpwnam(user).pw_uid)
    except KeyError:
        raise FunctionError(f"Could not find user '{user}'") from None


@function("getgid", "int", 1, 1)
def getgid(env: FnEnv, group: str) -> str:
    """getgid(groupname): the group's numeric id."""
    try:
        return str(grp.getgrnam(group).gr_gid)
    except KeyError:
        raise FunctionError(f"Could not find group '{group}'") from None


@function("userexists", "class", 1, 1)
def userexists(env: FnEnv, user: str) -> bool:
    """userexists(user): true when the user name (or numeric id) exists."""
    try:
        if user.isdigit():
            pwd.getpwuid(int(user))
        else:
            pwd.getpwnam(user)
        return True
    except (KeyError, OverflowError):
        return False


@function("groupexists", "class", 1, 1)
def groupexists(env: FnEnv, group: str) -> bool:
    """groupexists(group): true when the group name (or numeric id) exists."""
    try:
        if group.isdigit():
            grp.getgrgid(int(group))
        else:
            grp.getgrnam(group)
        return True
    except (KeyError, OverflowError):
        return False


@function("getusers", "slist", 2, 2)
def getusers(env: FnEnv, exclude_names: str, exclude_ids: str) -> list[str]:
    """getusers(exclude_names, exclude_ids): local user names, minus the comma-separated exclusions."""
    names = set((as_list(env, exclude_names) or exclude_names.split(",")) if exclude_names else [])
    ids = set((as_list(env, exclude_ids) or exclude_ids.split(",")) if exclude_ids else [])
    return [p.pw_name for p in pwd.getpwall() if p.pw_name not in names and str(p.pw_uid) not in ids]


@function("getuserinfo", "data", 0, 1)
def getuserinfo(env: FnEnv, user: str | None = None) -> Data:
    """getuserinfo(optional name or uid): the user's passwd entry (``username``,
    ``uid``, ``gid``, ``description``, ``home_dir``, ``shell``); the running user's
    without an argument."""
    import os

    try:
        if user is None:
            ent = pwd.getpwuid(os.getuid())
        elif user.isdigit():
            ent = pwd.getpwuid(int(user))
        else:
            ent = pwd.getpwnam(user)
    except (KeyError, OverflowError):
        raise FunctionError(f"Function 'getuserinfo': no user '{user}'", quiet=True) from None
    return Data({"description": ent.pw_gecos, "gid": ent.pw_gid, "home_dir": ent.pw_dir,
                 "shell": ent.pw_shell, "uid": ent.pw_uid, "username": ent.pw_name})
