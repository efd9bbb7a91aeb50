"""``vigil agent --simulate=diff|manifest|manifest-full``: a run that changes nothing.

As cf-agent 3.21's simulate mode: the policy is evaluated as in a dry run (``-n``:
commands are not run, nor are processes signalled, services changed, packages
installed), except that files promises are kept for real — on copies of the files in
a shadow tree, ``WORKDIR/state/<pid>.changes`` (:mod:`.tree`, :mod:`.files`). At the
end the agent prints what they did (:mod:`.report`) and removes the shadow tree.

- ``diff``: for each file changed, ``diff -u`` of the real file and its copy (a new
  file is shown whole, a deleted one as gone).
- ``manifest``: each file changed, as it is in the shadow: type, size, mode, owner,
  times and content (or a directory's entries, a link's target).
- ``manifest-full``: the same, then every other file the run's files promises
  looked at.

Nothing outside the shadow tree is changed by files promises; a ``transformer`` runs
with every other mount read-only (:mod:`.confine`).

Where vigil differs from cf-agent 3.21, deliberately: cf-agent's transformer, and a
backup it moves to a ``default_repository``, write outside its chroot, vigil's do not; a
local ``copy_from`` reads a source the run has not touched from the real tree (cf-agent
looks for it in the chroot only, and fails); a path is mirrored once, so a file the run
deleted stays deleted, and a directory first made as a parent gets its entries when a
promise reaches it whole (cf-agent's stays empty); a rotated file is listed as changed;
a path whose type changed is shown as it became (cf-agent shows the real one's details).
"""

from __future__ import annotations

from engine.promises.shadow.tree import MODES, Shadow

__all__ = ["MODES", "Shadow"]
