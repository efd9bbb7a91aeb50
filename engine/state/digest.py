"""MD5 and SHA-256 without loading OpenSSL.

``hashlib`` loads ``_hashlib`` and with it libcrypto, a few milliseconds and
megabytes at each agent start, for digests of a few hundred bytes. CPython's own
implementations give the same digests.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:  # the builtin modules have no stubs; hashlib's functions are the same
    from hashlib import md5, sha256
else:
    try:
        from _md5 import md5
    except ImportError:  # pragma: no cover - a build without the builtin module
        from hashlib import md5
    try:
        from _sha256 import sha256  # CPython 3.11
    except ImportError:  # pragma: no cover - CPython 3.12 and later
        try:
            from _sha2 import sha256
        except ImportError:
            from hashlib import sha256

__all__ = ["md5", "sha256"]
