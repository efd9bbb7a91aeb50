"""CFEngine's network protocol (versions 2 "tls" and 3 "cookie"), both sides.

vigil joins a CFEngine fleet with the forms CFEngine uses: an RSA host key in
``ppkeys/localhost.priv``/``.pub`` (:mod:`rsakey`), peers trusted as
``ppkeys/root-MD5=….pub`` with vigil's pending and rejected states beside them
(:mod:`peers`), ``state/cf_lastseen.lmdb`` as cf-key reads it (:mod:`lastseen`),
the transaction framing (:mod:`wire`), TLS contexts carrying the RSA key
(:mod:`tls`), the client (:mod:`client`) behind ``copy_from`` and ``runagent``,
and the server contexts serverd uses (its sessions are
:mod:`engine.daemons.serverd.cf_session` and :mod:`engine.daemons.serverd.cf_ops`). Wire format
and choices: ``docs/protocol.md``.

Nothing here imports ``cryptography`` at module level: serverd loads :mod:`wire`,
:mod:`peers`, :mod:`lastseen` and :mod:`tls`, and must stay small.
"""
