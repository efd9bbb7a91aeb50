"""Functions over text read from files that are not UTF-8 (data the agent does not
control): the bytes are kept as they are, so lengths and digests are those of the
bytes, as cf-agent computes them, instead of a Python encoding error."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.differential import report_lines, run_both

DATA = b"\xff\xfeab\xe9"


def _policy(path: Path) -> str:
    return f"""bundle agent main {{
vars:
  "t" string => readfile("{path}", 0);
  "len" int => string_length("$(t)");
  "md5" string => hash("$(t)", "md5");
  "u" string => canonifyuniquely("$(t)");
reports:
  "len=$(len) md5=$(md5)";
  "u=$(u)";
}}
"""


def test_lengths_and_digests_are_of_the_bytes(tmp_path: Path) -> None:
    data = tmp_path / "latin1.txt"
    data.write_bytes(DATA)
    theirs, ours = run_both(tmp_path, _policy(data), "-K")
    assert "error" not in ours.stdout, ours.stdout
    expected = f"R: len={len(DATA)} md5={hashlib.md5(DATA).hexdigest()}"
    assert report_lines(ours.stdout)[0] == expected
    assert report_lines(ours.stdout)[1].endswith("_" + hashlib.sha1(DATA).hexdigest())
    if theirs is not None:
        assert report_lines(theirs.stdout) == report_lines(ours.stdout)
