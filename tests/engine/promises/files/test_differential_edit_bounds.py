"""Edits cf-agent 3.21 bounds or refuses: a multi-line delete_lines promiser matches
only inside the selected region (a region without its end delimiter cannot hold
the block that ends with it), and editing a promised fifo is refused before
anything is created."""

from __future__ import annotations

from pathlib import Path

from tests.differential import both

POLICY = """
body common control { bundlesequence => { "t" }; }
bundle edit_line del(s) { delete_lines: "$(s)"; }
bundle edit_line block {
  delete_lines:
    "BEGIN$(const.n)x$(const.n)END" select_region => r;
    "a$(const.n)b" select_region => r;
    "y$(const.n)z";
}
body select_region r { select_start => "BEGIN"; select_end => "END"; include_start_delimiter => "true"; }
bundle agent t {
files:
  "@T@/fifo" create => "true", file_type => "fifo", edit_line => del("foo");
  "@T@/reg" edit_line => block;
}
"""


def test_block_delete_stays_in_region_and_fifo_edit_refused(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "reg").write_text("h\nBEGIN\nx\nEND\nBEGIN\na\nb\nEND\ny\nz\nt\n")

    # cf-agent repeats its sanity error in each pass and names the policy as given
    lines, files = both(tmp_path, POLICY, setup,
                        drop=lambda ln: "not allowed on fifos" in ln or "belongs to" in ln)
    assert "fifo" not in files
    assert files["reg"][1] == "h\nBEGIN\nx\nEND\nBEGIN\na\nb\nEND\nt\n"
