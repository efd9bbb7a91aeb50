"""``--simulate=diff|manifest|manifest-full`` against cf-agent 3.21: files promises kept
on copies in a shadow tree, the report printed at the end, the real tree untouched;
commands not run; unsafe functions called only in promises tagged ``simulate_safe``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.differential import AGENTS, ROOT, rerun, tree

SIMULATED = """
body common control { bundlesequence => { "made", "test" }; }
bundle agent made {
files:
  "@T@/source" create => "true", content => "the source";
}
bundle agent test {
files:
  "@T@/kept" create => "true";
  "@T@/new" create => "true";
  "@T@/inserted" create => "true", edit_line => ins("a line");
  "@T@/newdir/." create => "true";
  "@T@/copied" copy_from => cp("@T@/source");
  "@T@/gone" delete => tidy;
  "@T@/tree/." delete => tidy, file_select => all, depth_search => inf;
  "@T@/edited" edit_line => rep("old", "new");
  "@T@/perms" perms => m("0640");
  "@T@/renamed" rename => newname("renamed-to");
  "@T@/zipped" transformer => "/bin/gzip @T@/zipped";
  "@T@/link" link_from => ln("@T@/kept");
  "@T@/hard" link_from => hl("@T@/kept");
  "@T@/templated" create => "true", template_method => "inline_mustache",
    edit_template_string => "Hi {{x}}", template_data => '{"x": "there"}';
}
body copy_from cp(s) { source => "$(s)"; compare => "digest"; }
body delete tidy { dirlinks => "delete"; rmdirs => "true"; }
body file_select all { leaf_name => { ".*" }; file_result => "leaf_name"; }
body depth_search inf { depth => "inf"; }
body perms m(m) { mode => "$(m)"; rxdirs => "false"; }
body rename newname(n) { newname => "$(n)"; }
body link_from ln(s) { source => "$(s)"; link_type => "symlink"; }
body link_from hl(s) { source => "$(s)"; link_type => "hardlink"; }
bundle edit_line ins(l) { insert_lines: "$(l)"; }
bundle edit_line rep(from, to) { replace_patterns: "$(from)" replace_with => with("$(to)"); }
body replace_with with(x) { replace_value => "$(x)"; }
"""

_STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [-+]\d{4}")


def _setup(t: Path) -> None:
    for name, text in (("kept", ""), ("gone", "bye\n"), ("edited", "old\n"),
                       ("perms", "p\n"), ("renamed", "r\n"), ("zipped", "data\n")):
        (t / name).write_text(text)
        (t / name).chmod(0o600)
    (t / "tree").mkdir(mode=0o700)
    (t / "tree" / "one").write_text("1\n")


def _simulate(which: str, base: Path, policy_text: str, *flags: str) -> tuple[list[str], Path]:
    """Run ``policy_text`` (``@T@`` the target ``base/T``) with ``flags``; the output
    with the target, the shadow tree, times and sizes written the same for both agents."""
    target = base / "T"
    policy = base / f"{which}.cf"
    # a workdir as cf-agent makes it: without modules/, its simulate mode complains
    (base / ("cfwd" if which == "cf" else "vwd") / "modules").mkdir(parents=True, mode=0o700,
                                                                    exist_ok=True)
    policy.write_text(policy_text.replace("@T@", str(target)))
    run = rerun(which, base, policy, "-K", *flags)
    text = re.sub(r"'[^']*/state/\d+\.changes'", "'<SHADOW>'", run.out)
    text = _STAMP.sub("TIME", text.replace(str(target), "<T>"))
    text = re.sub(r"^Size: \d+$", "Size: N", text, flags=re.M)
    return text.splitlines(), target


def _both(tmp_path: Path, policy: str, *flags: str) -> list[str]:
    """vigil's normalised output, equal to cf-agent's where installed; the target tree
    unchanged by either, no shadow tree left behind."""
    outputs = {}
    for which in AGENTS:
        base = tmp_path / which
        (base / "T").mkdir(parents=True)
        _setup(base / "T")
        before = tree(base / "T")
        outputs[which], target = _simulate(which, base, policy, *flags)
        assert tree(target) == before, which
        state = base / ("cfwd" if which == "cf" else "vwd") / "state"
        assert not list(state.glob("*.changes")), which
    if "cf" in outputs:
        assert outputs["vigil"] == outputs["cf"]
    return outputs["vigil"]


def _entry(lines: list[str], head: str) -> list[str]:
    """The lines of the report's entry that starts with ``head``."""
    i = lines.index(head)
    j = i + 1
    while j < len(lines) and not lines[j].startswith("====="):
        j += 1
    return lines[i:j]


def test_manifest(tmp_path: Path) -> None:
    lines = _both(tmp_path, SIMULATED, "--simulate=manifest")
    assert lines[0] == " warning: All changes in files will be made in the '<SHADOW>' chroot"
    assert lines[1] == "=" * 75
    assert lines[2] == "'<T>/renamed-to' is the new name of '<T>/renamed'"
    assert _entry(lines, "'<T>/source' is a regular file") == [
        "'<T>/source' is a regular file", "Size: N",
        "Access: (0600/rw-------)  Uid: (0/root)   Gid: (0/root)",
        "Access: TIME", "Modify: TIME", "Change: TIME", "",
        "Contents of the file:", "the source", r"\no newline at the end of file"]
    assert _entry(lines, "'<T>/tree/./one' no longer exists") == [
        "'<T>/tree/./one' no longer exists"]
    assert "'<T>/zipped' no longer exists" in lines
    assert "Target: '<T>/kept'" in lines
    assert "'<T>/kept' is a regular file" not in lines  # kept: not in the manifest
    assert "Access: (0640/rw-r-----)  Uid: (0/root)   Gid: (0/root)" in lines


def test_manifest_full_lists_what_was_kept(tmp_path: Path) -> None:
    lines = _both(tmp_path, SIMULATED, "--simulate=manifest-full")
    assert lines[-8:] == [
        "'<T>/kept' is a regular file", "Size: N",
        "Access: (0600/rw-------)  Uid: (0/root)   Gid: (0/root)",
        "Access: TIME", "Modify: TIME", "Change: TIME", "", "Contents of the file:"]


def test_diff(tmp_path: Path) -> None:
    lines = _both(tmp_path, SIMULATED, "--simulate=diff")
    assert _entry(lines, "--- original <T>/edited") == [
        "--- original <T>/edited", "+++ changed  <T>/edited", "@@ -1 +1 @@", "-old", "+new"]
    assert "Only in <T>/tree/.: one" in lines
    assert "'<T>/gone' no longer exists" in lines
    assert "'<T>/new' is a regular file" in lines  # a new file is shown whole


UNSAFE = """
bundle agent main {
vars:
  "out" string => execresult("/bin/echo unsafe", "noshell");
  "safe" string => execresult("/bin/touch @T@/safe", "noshell"), meta => { "simulate_safe" };
classes:
  "zero" expression => returnszero("/bin/true", "noshell");
commands:
  "/bin/touch @T@/command";
}
"""


def test_unsafe_functions_and_commands(tmp_path: Path) -> None:
    said = {}
    for which in AGENTS:
        base = tmp_path / which
        (base / "T").mkdir(parents=True)
        lines, target = _simulate(which, base, UNSAFE, "--simulate=manifest")
        said[which] = sorted(set(lines))
        assert (target / "safe").exists()  # tagged simulate_safe: called
        assert not (target / "command").exists()
    assert said["vigil"] == [
        " warning: All changes in files will be made in the '<SHADOW>' chroot",
        " warning: Not calling unsafe function 'execresult' in simulate mode",
        " warning: Not calling unsafe function 'returnszero' in simulate mode",
        " warning: Would execute script '/bin/touch <T>/command'",
    ]
    if "cf" in said:
        assert said["vigil"] == said["cf"]


@pytest.mark.skipif(os.geteuid() != 0, reason="a private mount namespace needs root")
def test_transformer_writes_in_the_shadow_only(tmp_path: Path) -> None:
    """cf-agent lets a transformer write anywhere but its promiser; vigil confines it."""
    base = tmp_path / "vigil"
    (base / "T").mkdir(parents=True)
    (base / "T" / "f").write_text("x\n")
    policy = """
bundle agent main {
files:
  "@T@/f" transformer => "/bin/sh -c 'echo more >> @T@/f; echo out > @T@/escaped; true'";
}
"""
    lines, target = _simulate("vigil", base, policy, "--simulate=diff")
    assert not (target / "escaped").exists()
    assert (target / "f").read_text() == "x\n"
    assert lines[-5:] == ["--- original <T>/f", "+++ changed  <T>/f", "@@ -1 +1,2 @@", " x",
                          "+more"]


def test_transformer_must_name_its_promiser(tmp_path: Path) -> None:
    base = tmp_path / "vigil"
    (base / "T").mkdir(parents=True)
    (base / "T" / "f").write_text("x\n")
    policy = 'bundle agent main { files: "@T@/f" transformer => "/bin/true"; }\n'
    lines, _ = _simulate("vigil", base, policy, "--simulate=manifest")
    assert lines[1:3] == [
        "   error: Failed to replace path '<T>/f' in transformer command '/bin/true' for "
        "changes chroot",
        "   error: Errors encountered when actuating files promise '<T>/f'"]


def test_help_names_the_modes() -> None:
    out = subprocess.run([sys.executable, "-m", "engine", "agent", "--help"], cwd=ROOT,
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "COLUMNS": "200"}).stdout
    text = " ".join(out.split())
    for words in ("--simulate MODE", "'diff'", "'manifest'", "'manifest-full'",
                  "shadow tree", "simulate_safe"):
        assert words in text
