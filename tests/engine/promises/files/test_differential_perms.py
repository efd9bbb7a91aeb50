"""Modes as cf-agent 3.21 reads them (octal beyond the permission bits, symbolic
clauses, the mode of a new file) and copy_from's ``atime`` comparison."""

from __future__ import annotations

from pathlib import Path

from tests.differential import both

MODES = ("13400", "22222", "o=x", "u+s", "4755", "0644", "g=rs", "o-r", "a+t",
         "u=rwx,go-w", "ugo=w,u+x")

MODES_POLICY = """
body common control { bundlesequence => { "t" }; }
body perms m(x) { mode => "$(x)"; rxdirs => "false"; }
bundle agent t {
vars:
  "modes" slist => { @MODES@ };
files:
  "@T@/c_$(modes)" create => "true", perms => m("$(modes)");
  "@T@/e_$(modes)" perms => m("$(modes)");
}
""".replace("@MODES@", ", ".join(f'"{m}"' for m in MODES))


def test_modes(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        for m in MODES:
            (t / f"e_{m}").write_text("x\n")
            (t / f"e_{m}").chmod(0o644)

    # cf-agent's notices (filtered octal modes, new setuid programs) are not compared
    _, files = both(tmp_path, MODES_POLICY, setup,
                    drop=lambda ln: "Mode-Value" in ln or "PROGRAM" in ln)
    assert files["c_13400"][0] == "3400" and files["c_o=x"][0] == "0001"
    assert files["c_ugo=w,u+x"][0] == "0222" and files["e_u=rwx,go-w"][0] == "0744"


ATIME_POLICY = """
body common control { bundlesequence => { "t" }; }
body copy_from c { preserve => "true"; source => "@T@/src"; compare => "atime"; }
bundle agent t {
files:
  "@T@/dst" create => "true", copy_from => c;
}
"""


def test_atime_compares_content(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "src").write_text("hello\n")
        (t / "src").chmod(0o444)

    _, files = both(tmp_path, ATIME_POLICY, setup)
    assert files["dst"] == ("0444", "hello\n")


TREE_COPY_POLICY = """
body common control { bundlesequence => { "t" }; }
body copy_from c(s) { source => "$(s)"; }
body depth_search r { depth => "inf"; }
bundle agent t {
files:
  "@T@/dst" create => "true", copy_from => c("@T@/src"), depth_search => r;
}
"""


def test_tree_copy_makes_its_own_directory(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "src" / "a.dir" / "b.dir").mkdir(parents=True)
        (t / "src" / "a.file").write_text("")
        (t / "src" / "a.dir" / "b.file").write_text("")

    lines, files = both(tmp_path, TREE_COPY_POLICY, setup)
    assert "    info: Created parent directory for '<T>/dst'" in lines
    assert files["dst/a.dir/b.file"][1] == ""
