"""serverd: serves files and remote runs (cf-serverd), to vigil's clients and CFEngine's.

``daemon`` (listening, refusals before TLS, reloads), ``config`` (``body server
control``, ``access:``, ``roles:``), ``policy`` (the policy read in a child
process) and ``policy_eval`` (what runs in that child), ``acl`` (who may have
what), ``connvars`` (``$(connection.*)`` bound per client), ``ratelimit`` (refusals
logged within limits), ``state`` (what every connection shares). vigil's protocol:
``session`` and ``ops``; CFEngine's: ``cf_session`` (identification, trust),
``cf_ops`` (its requests) and ``cf_exec`` (cf-runagent's ``EXEC``).

The package imports nothing itself: the child that reads the policy loads
``config`` and ``policy_eval`` without the server, and the server never loads the
evaluator.
"""
