"""Functions of CFEngine 3.21 that vigil does not provide, and why.

The policy parser accepts them (they are in CFEngine's syntax), so a call reaches the
evaluator; :func:`unknown_function_message` makes its error say that the function is
known but not supported rather than unknown.
"""

from __future__ import annotations

_LDAP = "it queries an LDAP directory, which vigil does not support"
_HUB = "it queries a CFEngine Enterprise hub"

#: name -> why vigil does not provide it
UNSUPPORTED: dict[str, str] = {
    "ldaparray": _LDAP,
    "ldaplist": _LDAP,
    "ldapvalue": _LDAP,
    "regldap": _LDAP,
    "registryvalue": "it reads the Windows registry",
    "hostswithclass": _HUB,
    "hubknowledge": _HUB,
    "remoteclassesmatching": _HUB,
    "remotescalar": _HUB,
    # Debian's cf-agent 3.21 is built without libcurl and fails every url_get too
    "url_get": "it needs CFEngine's libcurl integration (Debian's cf-agent 3.21 lacks it too)",
}


def unknown_function_message(name: str) -> str:
    """The error for a call of ``name``, which has no implementation."""
    why = UNSUPPORTED.get(name)
    if why is not None:
        return f"Function '{name}' is not supported by vigil: {why}"
    return f"Unknown function '{name}'"
