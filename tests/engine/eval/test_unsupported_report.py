"""What vigil cannot honour is an ``error:`` naming file:line at the default log
level, never a silent skip: promise types it has no actuator for, and attributes the
syntax registry marks as not acted on."""

import subprocess
import sys
from pathlib import Path

POLICY = """body acl a { aces => { "user:root:rwx" }; }
bundle agent __main__
{
  files:
      "$(sys.workdir)/made" create => "true", acl => a;
  guest_environments:
      "g" environment_host => "abc";
  reports:
      "done";
}
"""


def test_unsupported_type_and_attribute_are_errors_naming_file_and_line(tmp_path: Path) -> None:
    policy = tmp_path / "p.cf"
    policy.write_text(POLICY)
    wd = tmp_path / "wd"
    out = subprocess.run(
        [sys.executable, "-m", "engine", "agent", "-K", "-f", str(policy), "-w", str(wd)],
        capture_output=True, text=True, timeout=60,
    )
    text = out.stdout + out.stderr
    assert "error: Attribute 'acl' of files promises is not supported by vigil" in text
    assert f"{policy}:5" in text
    assert "error: Promise type 'guest_environments' is not supported by vigil" in text
    assert f"{policy}:7" in text
    assert (wd / "made").exists()  # the rest of the files promise is still verified
    assert "R: done" in text
