"""Following inputs: relative paths, sys/this variables, common-bundle lists, once only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.eval.loading import load as load_policy
from engine.policy.diagnostics import PolicySyntaxError
from tests.engine.policy.conftest import MASTERFILES, CfPromises


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(result) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(
        b.name for f in result.policy.files for b in f.bundles if b.bundle_type != "common"
    )


def test_relative_inputs_are_relative_to_the_entry_file(tmp_path: Path) -> None:
    """cf-agent resolves a relative input against the entry file's directory, not
    the including file's: `b.cf` named in `lib/a.cf` is `p/b.cf`, not `p/lib/b.cf`."""
    entry = write(
        tmp_path / "p" / "promises.cf",
        'body common control { inputs => { "lib/a.cf" }; }\nbundle agent main { reports: "m"; }\n',
    )
    write(
        tmp_path / "p/lib/a.cf", 'body file control { inputs => { "b.cf" }; }\nbundle agent a {}\n'
    )
    write(tmp_path / "p/lib/b.cf", "bundle agent lib_b {}\n")
    write(tmp_path / "p/b.cf", "bundle agent b {}\n")
    r = load_policy(entry, tmp_path / "wd", classes=set())
    assert names(r) == ["a", "b", "main"]
    assert r.diagnostics == []
    assert [f.path for f in r.policy.files] == [
        str(entry), str(tmp_path / "p/lib/a.cf"), str(tmp_path / "p/b.cf")]


def test_relative_entry_keeps_its_dot_in_file_names(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`-f ./p/promises.cf` gives `/cwd/./p/promises.cf`, and inputs follow it unnormalised."""
    write(tmp_path / "p/promises.cf", 'body common control { inputs => { "../q.cf" }; }\n')
    write(tmp_path / "q.cf", "bundle agent q {}\n")
    monkeypatch.chdir(tmp_path)
    r = load_policy("./p/promises.cf", tmp_path / "wd", classes=set())
    assert [f.path for f in r.policy.files] == [
        f"{tmp_path}/./p/promises.cf", f"{tmp_path}/./p/../q.cf"]


def test_sys_and_this_variables(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    write(wd / "inputs/lib/stdlib.cf", "bundle agent std {}\n")
    write(wd / "masterfiles/m.cf", "bundle agent master {}\n")
    write(wd / "w.cf", "bundle agent work {}\n")
    write(tmp_path / "here/x.cf", "bundle agent here {}\n")
    entry = write(
        tmp_path / "here/promises.cf",
        "body common control\n{\n  inputs => {\n"
        '    "$(sys.libdir)/stdlib.cf",\n    "$(sys.masterdir)/m.cf",\n'
        '    "${sys.workdir}/w.cf",\n    "$(this.promise_dirname)/x.cf",\n  };\n}\n',
    )
    r = load_policy(entry, wd, classes=set())
    assert names(r) == ["here", "master", "std", "work"]


def test_common_bundle_lists_strings_and_arrays(tmp_path: Path) -> None:
    entry = write(
        tmp_path / "promises.cf",
        "body common control { inputs => { @(cfg.inputs), $(cfg.one), @(cfg.from_array) }; }\n"
        "bundle common cfg\n{\n  vars:\n"
        '    "inputs" slist => { "a.cf", "$(this.promise_dirname)/b.cf" };\n'
        '    "one" string => "c.cf";\n'
        '    "input[x]" string => "d.cf";\n'
        '    "input[y]" string => "e.cf";\n'
        '    "from_array" slist => getvalues(input);\n'
        "  nosuchclass::\n"
        '    "one" string => "never.cf";\n'
        "}\n",
    )
    for n in "abcde":
        write(tmp_path / f"{n}.cf", f"bundle agent {n} {{}}\n")
    r = load_policy(entry, tmp_path, classes={"linux"})
    assert names(r) == ["a", "b", "c", "d", "e"]
    assert r.diagnostics == []


def test_guards_on_vars_use_hard_and_common_classes(tmp_path: Path) -> None:
    entry = write(
        tmp_path / "promises.cf",
        "body common control { inputs => { @(inv.inputs) }; }\n"
        "bundle common inv\n{\n  classes:\n"
        '    "specific" expression => "debian|redhat";\n'
        "  vars:\n"
        '    debian:: "inputs" slist => { "deb.cf" };\n'
        '    linux.!specific:: "inputs" slist => { "generic.cf" };\n'
        "}\n",
    )
    write(tmp_path / "deb.cf", "bundle agent deb {}\n")
    write(tmp_path / "generic.cf", "bundle agent generic {}\n")
    assert names(load_policy(entry, tmp_path, classes={"linux", "debian"})) == ["deb"]
    assert names(load_policy(entry, tmp_path, classes={"linux"})) == ["generic"]


def test_unresolvable_inputs_are_warned_and_skipped(tmp_path: Path) -> None:
    entry = write(
        tmp_path / "promises.cf",
        'body common control\n{\n  inputs => { @(nobody.list),\n  "$(undefined)/x.cf" };\n}\n',
    )
    r = load_policy(entry, tmp_path, classes=set())
    assert [(d.severity, d.pos.line) for d in r.diagnostics] == [("warning", 3), ("warning", 4)]
    assert "nobody.list" in r.diagnostics[0].message


def test_missing_input_is_an_error_unless_ignored(tmp_path: Path) -> None:
    entry = write(
        tmp_path / "promises.cf", 'body common control\n{\n  inputs => { "gone.cf" };\n}\n'
    )
    r = load_policy(entry, tmp_path, classes=set())
    assert not r.ok
    assert r.diagnostics[0].pos.line == 3 and "gone.cf" in r.diagnostics[0].message
    write(
        entry,
        'body common control\n{\n  inputs => { "gone.cf" };\n  ignore_missing_inputs => "true";\n}\n',
    )
    r = load_policy(entry, tmp_path, classes=set())
    assert r.ok and r.diagnostics[0].severity == "warning"


def test_each_file_once_and_main_only_from_the_entry(tmp_path: Path) -> None:
    entry = write(
        tmp_path / "promises.cf",
        'body common control { inputs => { "lib.cf", "./lib.cf", "lib.cf" }; }\n'
        'bundle agent __main__ { reports: "entry"; }\n',
    )
    write(
        tmp_path / "lib.cf",
        'body file control { inputs => { "promises.cf" }; }\n'
        'bundle agent __main__ { reports: "lib"; }\nbundle agent helper {}\n',
    )
    r = load_policy(entry, tmp_path, classes=set())
    assert len(r.policy.files) == 2
    # the entry file's __main__ is named main, as in cf-agent 3.21
    main = r.policy.find_bundle("main")
    assert main is not None and main.pos.file == str(entry)
    assert names(r) == ["helper", "main"]


def test_syntax_error_in_an_input(tmp_path: Path) -> None:
    entry = write(tmp_path / "promises.cf", 'body common control { inputs => { "bad.cf" }; }\n')
    write(tmp_path / "bad.cf", "bundle agent b {\n")
    with pytest.raises(PolicySyntaxError) as info:
        load_policy(entry, tmp_path, classes=set())
    assert info.value.diagnostic.pos.file.endswith("bad.cf")
    r = load_policy(entry, tmp_path, strict=False, classes=set())
    assert [d.pos.line for d in r.diagnostics if d.severity == "error"] == [2]


@pytest.mark.cfengine
@pytest.mark.skipif(not MASTERFILES.is_dir(), reason="CFEngine masterfiles are not installed")
def test_masterfiles_load_the_same_files_as_cf_promises(cf_promises: CfPromises) -> None:
    entry = MASTERFILES / "promises.cf"
    cp = cf_promises.run("-v", "-f", str(entry))
    theirs = set(re.findall(r"BEGIN parsing file: (\S+)", cp.stdout + cp.stderr))
    r = load_policy(entry, cf_promises.workdir)
    assert {f.path for f in r.policy.files} == theirs
    assert len(theirs) > 30
    assert r.ok
