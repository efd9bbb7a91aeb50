"""Functions that define array variables (regextract, readstringarray(idx), getfields)."""

from __future__ import annotations

from pathlib import Path

from engine.eval.functions import registry
from tests.cfengine import requires_cfengine
from tests.engine.functions.conftest import FnTestEnv, run_cfagent

ARR = "k1:v1:w1\nk2:v2\n# c\nk1:dup\n:empty\n"
PW = "root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n"


def _policy(arr: Path, pw: Path) -> str:
    return f"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{
vars:
  "n" int => readstringarray("ra", "{arr}", "#[^\\n]*", ":", "100", "1000");
  "ni" int => readstringarrayidx("ri", "{arr}", "#[^\\n]*", ":", "100", "1000");
  "g" int => getfields("bob:.*", "{pw}", ":", "pw");
  "idx" slist => sort(getindices("ra"), "lex");
  "vals" slist => sort(getvalues("pw"), "lex");
classes:
  "m" expression => regextract("a(?<x>b)(z)?(c)", "xabcde", "arr");
  "m2" expression => regextract("q(.)", "abc", "none");
reports:
  "A=$(arr[0])|$(arr[x])|$(arr[2])|$(arr[3])";
  "R=$(n)|$(ra[k1][0])|$(ra[k1][1])|$(ra[k1][2])|$(ra[k2][1])|$(ra[][1])";
  "RI=$(ni)|$(ri[0][2])|$(ri[2][1])|$(ri[3][1])";
  "G=$(g)|$(pw[1])|$(pw[3])|$(pw[5])|$(pw[7])";
  "I=$(with)" with => join(",", "idx");
  "V=$(with)" with => join(",", "vals");
  m2:: "M2";
}}
"""


def _ours(arr: Path, pw: Path) -> list[str]:
    env = FnTestEnv()
    n = registry.call("readstringarray", env, ["ra", str(arr), "#[^\n]*", ":", "100", "1000"])
    ni = registry.call("readstringarrayidx", env, ["ri", str(arr), "#[^\n]*", ":", "100", "1000"])
    g = registry.call("getfields", env, ["bob:.*", str(pw), ":", "pw"])
    assert registry.call("regextract", env, ["a(?<x>b)(z)?(c)", "xabcde", "arr"]) is True
    assert registry.call("regextract", env, ["q(.)", "abc", "none"]) is False
    v = env.get_var
    idx = registry.call("sort", env, [registry.call("getindices", env, ["ra"]), "lex"])
    vals = registry.call("sort", env, [registry.call("getvalues", env, ["pw"]), "lex"])
    return [
        f"A={v('arr[0]')}|{v('arr[x]')}|{v('arr[2]')}|{v('arr[3]')}",
        f"R={n}|{v('ra[k1][0]')}|{v('ra[k1][1]')}|{v('ra[k1][2]')}|{v('ra[k2][1]')}|{v('ra[][1]')}",
        f"RI={ni}|{v('ri[0][2]')}|{v('ri[2][1]')}|{v('ri[3][1]')}",
        f"G={g}|{v('pw[1]')}|{v('pw[3]')}|{v('pw[5]')}|{v('pw[7]')}",
        "I=" + ",".join(idx),
        "V=" + ",".join(vals),
    ]


@requires_cfengine
def test_array_functions_match_cfagent(cf_workdir: Path, tmp_path: Path) -> None:
    arr, pw = tmp_path / "arr.txt", tmp_path / "pw.txt"
    arr.write_text(ARR)
    pw.write_text(PW)
    out = run_cfagent(cf_workdir, _policy(arr, pw), "arrays.cf")
    theirs = [ln[3:] for ln in out.splitlines() if ln.startswith("R: ")]
    assert "M2" not in theirs
    assert sorted(_ours(arr, pw)) == sorted(theirs)


def test_array_values_without_cfagent(tmp_path: Path) -> None:
    arr, pw = tmp_path / "arr.txt", tmp_path / "pw.txt"
    arr.write_text(ARR)
    pw.write_text(PW)
    assert _ours(arr, pw) == [
        "A=abc|b||c",
        "R=4|k1|dup|w1|v2|empty",
        "RI=4|w1|dup|empty",
        "G=1|bob|1000||/bin/sh",
        "I=,k1,k2",
        "V=,/bin/sh,/home/bob,1000,1000,bob,x",
    ]
