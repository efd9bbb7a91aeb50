"""End to end: the same policy run by ``vigil agent -K -I`` and by cf-agent 3.21.

Each agent gets its own temp workdir and its own target directory (``@T@`` in the
policy); the printed lines (target path normalised) and the resulting trees
(names, modes, contents) must be equal. Without cf-agent the vigil side still runs
and is checked against the expectations written here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psutil

from tests.cfengine import requires_cfengine
from tests.differential import both, run_agent

FILES_POLICY = """
body common control { bundlesequence => { "t" }; }
body perms m(x) { mode => "$(x)"; rxdirs => "false"; }
body delete tidy { dirlinks => "delete"; rmdirs => "true"; }
bundle agent t {
files:
  "@T@/a" create => "true";
  "@T@/b" create => "true", touch => "true";
  "@T@/d1/d2/." create => "true";
  "@T@/c" create => "true", perms => m("644");
  "@T@/e" perms => m("640");
  "@T@/x/y/z" create => "true", perms => m("0755");
  "@T@/gone" delete => tidy;
  "@T@/emptydir" delete => tidy;
  "@T@/lnk" create => "true";
}
"""


def test_files_basics(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "e").write_text("")
        (t / "e").chmod(0o600)
        (t / "gone").write_text("")
        (t / "emptydir").mkdir()
        (t / "lnk").symlink_to(t / "nowhere")

    lines, files = both(tmp_path, FILES_POLICY, setup)
    assert "    info: Created directory for '<T>/x/y/z'" in lines
    assert files["x/y/z"][0] == "0755" and files["c"][0] == "0644" and files["e"][0] == "0640"
    assert "gone" not in files and "emptydir" not in files


EDIT_POLICY = """
body common control { bundlesequence => { "t" }; }
body location after(x) { before_after => "after"; select_line_matching => "$(x)"; }
body location start { before_after => "before"; first_last => "first"; select_line_matching => ".*"; }
body replace_with value(x) { replace_value => "$(x)"; occurrences => "all"; }
body edit_field col(s,n,v,m) { field_separator => "$(s)"; select_field => "$(n)"; value_separator => ","; field_value => "$(v)"; field_operation => "$(m)"; }
body select_region sect(x) { select_start => "\\[$(x)\\]"; select_end => "\\[.*\\]"; }
body edit_defaults empty { empty_file_before_editing => "true"; edit_backup => "false"; }
bundle edit_line ed {
insert_lines:
  "inserted-end";
  "after-b" location => after("b");
  "at-start" location => start;
  "in-s2" select_region => sect("s2");
  "blk1
blk2" insert_type => "preserve_block";
replace_patterns:
  "^c=(?!new).*$" replace_with => value("c=new");
delete_lines:
  "d.*";
  "k=.*" select_region => sect("s1");
field_edits:
  "user:.*" edit_field => col(":", "3", "x", "set");
}
bundle edit_line only { insert_lines: "only"; }
bundle agent t {
files:
  "@T@/f" edit_line => ed;
  "@T@/g" create => "true", edit_line => only;
  "@T@/e" edit_line => only, edit_defaults => empty;
  "@T@/missing" edit_line => only;
}
"""


def test_edit_line(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "f").write_text("a\nb\nc=old\nd1\nd2\nuser:1:2:3\n[s1]\nk=1\n[s2]\nk=2\n[s3]\n")
        (t / "f").chmod(0o640)
        (t / "e").write_text("x\ny\n")

    lines, files = both(tmp_path, EDIT_POLICY, setup)
    assert files["f"] == ("0640", "at-start\na\nb\nafter-b\nc=new\nuser:1:x:3\n[s1]\n[s2]\nk=2\n"
                                  "in-s2\n[s3]\ninserted-end\nblk1\nblk2\n")
    assert files["e"][1] == "only\n"
    assert "   error: File '<T>/missing' was marked for editing but could not be opened" in lines


COMMANDS_POLICY = """
body common control { bundlesequence => { "t" }; }
body contain sh { useshell => "useshell"; }
body classes rc { kept_returncodes => {"3"}; repaired_returncodes => {"0"}; failed_returncodes => {"1"}; }
bundle agent t {
commands:
  "/bin/echo hi";
  "/bin/echo" args => "a b";
  "/bin/echo" arglist => {"x y", "z"};
  "/bin/false";
  "/bin/sh -c 'exit 3'" classes => rc;
  "/bin/sh -c 'exit 7'" classes => rc;
  "echo one; echo two" contain => sh;
  "/nonexistent/cmd";
  "/bin/printf ''";
}
"""


def test_commands(tmp_path: Path) -> None:
    lines, _ = both(tmp_path, COMMANDS_POLICY, lambda t: None)
    assert '  notice: Q: "...echo one; echo ": one' in lines
    assert 'Q: "...echo one; echo ": two' in lines


COPY_POLICY = """
body common control { bundlesequence => { "t" }; }
body copy_from lc(s) { source => "$(s)"; }
body copy_from lcd(s) { source => "$(s)"; compare => "digest"; }
body copy_from lcp(s) { source => "$(s)"; preserve => "true"; }
body copy_from purge(s) { source => "$(s)"; purge => "true"; }
body depth_search rec { depth => "inf"; }
bundle agent t {
files:
  "@T@/new" copy_from => lc("@T@/src/a");
  "@T@/diff" copy_from => lcd("@T@/src/a");
  "@T@/pres" copy_from => lcp("@T@/src/a");
  "@T@/nosrc" copy_from => lc("@T@/src/nothere");
  "@T@/tree" copy_from => purge("@T@/src/tree"), depth_search => rec;
}
"""


def test_copy_from_local(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "src" / "tree").mkdir(parents=True)
        (t / "src" / "a").write_text("content\n")
        (t / "src" / "a").chmod(0o751)
        (t / "src" / "tree" / "x").write_text("x\n")
        (t / "diff").write_text("other\n")
        (t / "diff").chmod(0o644)
        (t / "tree").mkdir()
        (t / "tree" / "stale").write_text("s\n")

    _, files = both(tmp_path, COPY_POLICY, setup)
    assert files["new"] == ("0600", "content\n")
    assert files["diff"] == ("0644", "content\n") and files["diff.cfsaved"][1] == "other\n"
    assert files["pres"][0] == "0751"
    assert "tree/stale" not in files and files["tree/x"] == ("0600", "x\n")


TEMPLATE_POLICY = """
body common control { bundlesequence => { "t" }; }
bundle agent t {
vars:
  "d" data => '{"name": "World", "items": ["a","b"]}';
files:
  "@T@/m1" create => "true", edit_template => "@T@/tpl.mustache", template_method => "mustache", template_data => @(d);
}
"""


def test_mustache(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "tpl.mustache").write_text("Hello {{name}}\n{{#items}}- {{.}}\n{{/items}}\n")

    _, files = both(tmp_path, TEMPLATE_POLICY, setup)
    assert files["m1"] == ("0600", "Hello World\n- a\n- b\n")


DAEMONS_POLICY = """
body common control { bundlesequence => { "t" }; }
body classes repaired(x) { promise_repaired => { "$(x)" }; }
bundle agent t {
vars:
  "daemons" slist => { "alpha", "beta", "gamma" };
processes:
  "@TAG@_$(daemons)" restart_class => "start_$(daemons)";
commands:
  "@T@/start.sh $(daemons)" if => "start_$(daemons)", classes => repaired("restarted_$(daemons)");
reports:
  "restarted $(daemons)" if => "restarted_$(daemons)";
}
"""

START_SH = """#!/bin/sh
setsid bash -c "exec -a @TAG@_$1 sleep 1000" </dev/null >/dev/null 2>&1 &
echo $! >> "$(dirname "$0")/pids"
echo "started @TAG@_$1"
"""


def _kill_started(target: Path) -> None:
    pids = target / "pids"
    if not pids.exists():
        return
    for pid in pids.read_text().split():
        try:
            p = psutil.Process(int(pid))
            if "sleep" in p.exe() or "fakedaemon" in " ".join(p.cmdline()):
                os.kill(p.pid, signal.SIGKILL)
        except (psutil.Error, ProcessLookupError, ValueError):
            pass


def test_keep_daemons_alive(tmp_path: Path) -> None:
    tag = "fakedaemon" + uuid.uuid4().hex[:8]
    beta = subprocess.Popen(["bash", "-c", f"exec -a {tag}_beta sleep 1000"])
    targets: list[Path] = []

    def setup(t: Path) -> None:
        targets.append(t)
        (t / "start.sh").write_text(START_SH.replace("@TAG@", tag))
        (t / "start.sh").chmod(0o755)
        if len(targets) > 1:
            _kill_started(targets[0])  # cf-agent's alpha/gamma go; vigil must restart them
            time.sleep(0.2)

    try:
        for _ in range(50):
            if tag in " ".join(psutil.Process(beta.pid).cmdline()):
                break
            time.sleep(0.02)
        lines, _ = both(tmp_path, DAEMONS_POLICY.replace("@TAG@", tag), setup,
                        compare_tree=False)
        assert [ln for ln in lines if ln.startswith("R:")] == [
            "R: restarted alpha", "R: restarted gamma"]
        started = (targets[-1] / "pids").read_text().split()
        assert len(started) == 2
        for pid in started:
            assert tag in " ".join(psutil.Process(int(pid)).cmdline())
        # converged: a second vigil run starts nothing
        base = targets[-1].parent
        shutil.rmtree(base / "vwd")
        again = run_agent("vigil", DAEMONS_POLICY.replace("@TAG@", tag), base, targets[-1])
        assert again == []
    finally:
        for t in targets:
            _kill_started(t)
        beta.kill()
        beta.wait()


@requires_cfengine
def test_harness_sees_differences(tmp_path: Path) -> None:
    """The comparison is not vacuous: cf-agent's lines for a policy are not empty."""
    lines = run_agent("cf", FILES_POLICY, tmp_path, tmp_path)
    assert any("Created file" in ln for ln in lines)


WARN_TREE_POLICY = """
body common control { bundlesequence => { "t" }; }
body action warn { action_policy => "warn"; }
body perms m(x) { mode => "$(x)"; rxdirs => "false"; }
body delete tidy { dirlinks => "delete"; rmdirs => "true"; }
body depth_search rec(d) { depth => "$(d)"; }
body file_select logs { leaf_name => { ".*\\.log" }; file_result => "leaf_name"; }
body file_select plain { file_types => { "plain" }; file_result => "file_types"; }
bundle edit_line ed { insert_lines: "newline"; }
bundle agent t {
files:
  "@T@/w1" create => "true", action => warn;
  "@T@/e" perms => m("600"), action => warn;
  "@T@/del" delete => tidy, action => warn;
  "@T@/ed" edit_line => ed, action => warn;
  "@T@/a" perms => m("600"), depth_search => rec("inf"), file_select => logs;
  "@T@/d" delete => tidy, depth_search => rec("1"), file_select => plain;
commands:
  "/bin/echo warned" action => warn;
}
"""


def test_warn_only_and_depth_search(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "e").write_text("")
        (t / "e").chmod(0o644)
        (t / "del").write_text("")
        (t / "ed").write_text("old\n")
        for sub in ("a", "d"):
            (t / sub / "s").mkdir(parents=True)
            for rel in ("1.log", "s/3.log"):
                (t / sub / rel).write_text("")
                (t / sub / rel).chmod(0o644)

    lines, files = both(tmp_path, WARN_TREE_POLICY, setup)
    assert files["e"][0] == "0644" and "del" in files and files["ed"][1] == "old\n"
    assert files["a/1.log"][0] == "0600" and files["a/s/3.log"][0] == "0600"
    assert "d/1.log" not in files and "d/s/3.log" in files
    assert (" warning: Command '/bin/echo warned' needs to be executed, but only warning was "
            "promised") in lines


EDIT_ERRORS_POLICY = """
body common control { bundlesequence => { "t" }; }
body classes o(p) { promise_kept => {"$(p)_kept"}; promise_repaired => {"$(p)_repaired"}; repair_failed => {"$(p)_failed"}; }
body location after(x) { before_after => "after"; select_line_matching => "$(x)"; }
body select_region sect(x) { select_start => "\\\\[$(x)\\\\]"; select_end => "\\\\[.*\\\\]"; }
body edit_field col { field_separator => ":"; select_field => "2"; field_value => "v"; field_operation => "set"; }
body replace_with rw(x) { replace_value => "$(x)"; }
bundle edit_line locator { insert_lines: "x" location => after("zzz"); }
bundle edit_line region { insert_lines: "x" select_region => sect("nope"); }
bundle edit_line fields { field_edits: "nomatch:.*" edit_field => col; }
bundle edit_line noend { delete_lines: "k=.*" select_region => sect("last"); }
bundle edit_line backref { replace_patterns: "a(b)c" replace_with => rw("<$(match.1)>"); }
bundle agent t {
vars:
  "names" slist => { "locator", "region", "fields", "noend", "backref" };
files:
  "@T@/$(names)" edit_line => $(names), classes => o("$(names)");
reports:
  "$(names): kept" if => "$(names)_kept";
  "$(names): repaired" if => "$(names)_repaired";
  "$(names): failed" if => "$(names)_failed";
}
"""


def test_edit_errors_leave_promise_kept(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        for name in ("locator", "region", "fields"):
            (t / name).write_text("a:b\n")
        (t / "noend").write_text("[first]\nk=1\n[last]\nk=2\n")
        (t / "backref").write_text("xabcx\n")

    lines, files = both(tmp_path, EDIT_ERRORS_POLICY, setup)
    assert [ln for ln in lines if ln.startswith("R:")] == [
        "R: locator: kept", "R: region: kept", "R: fields: kept", "R: noend: kept",
        "R: backref: repaired"]
    assert files["backref"][1] == "x<b>x\n"
