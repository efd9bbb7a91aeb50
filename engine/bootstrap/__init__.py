"""``vigil agent --bootstrap HUB``: join a hub as ``cf-agent --bootstrap`` does.

:mod:`.target` reads the hub's address and decides the role, :mod:`.state` writes
``policy_server.dat`` and the ``am_policy_hub`` marker, :mod:`.failsafe` holds vigil's
own bootstrap policy, :mod:`.hub` makes first contact (trust on first use) and
:mod:`.run` puts the steps together. How ``sys.policy_hub`` is read back on every run:
:mod:`engine.eval.policyhub`.
"""
