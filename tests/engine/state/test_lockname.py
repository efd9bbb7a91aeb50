"""Lock names must equal cf-agent's byte for byte up to ``_MD5=``."""

from __future__ import annotations

import re
from pathlib import Path

import lmdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.state.lockname import (
    blank_dates,
    canonify,
    expand_lvals,
    fit_key,
    lock_name,
    lock_sum,
    parse_lock_id,
    promise_digest,
)
from tests.cfengine import host, make_workdir, requires_cfengine
from tests.differential import run_cf

# Keys recorded from cf-agent 3.21 (cfengine-reference.md §2.1, host "vm").
REFERENCE_KEYS = [
    ("lockdemo", "files", ["create", "touch", "action_name", "action", "ifelapsed", "expireafter"],
     "/tmp/cfw/lk/lk_a",
     "lockdemo.files.create.touch.action_name.action.ifelapsed.-vm._tmp_cfw_lk_lk_a_8014_MD5="
     "4a8956007f0c2cdb7471bd84136bccea"),
    ("lockdemo", "commands", ["contain_name", "contain", "useshell", "action_name", "action",
                              "ifelapsed"],
     "/bin/echo hi from command",
     "lockdemo.commands.contain_name.contain.useshell.action_name.action.-vm."
     "_bin_echo_hi_from_command_5838_MD5=3924a7f50a0af042e36434f1051f1b9a"),
    ("lockdemo", "reports", [], "report_line",
     "lockdemo.reports.-vm.report_line_1244_MD5=02fac16944edafdc73157b44266ce5ea"),
    ("expdemo", "commands", ["action_name", "action", "ifelapsed", "expireafter"],
     "/bin/sleep 100",
     "expdemo.commands.action_name.action.ifelapsed.expireafter.-vm._bin_sleep_100_3172_MD5="
     "e21dbbf2fe71f490e01a842a13e248b2"),
]

# Keys recorded from cf-agent 3.21 on this project's reference host ("vm"), covering
# args counting towards the five lvals, inherit_from, date blanking order, UTF-8 and
# the 100-character cuts.
OBSERVED_KEYS = [
    ("lk", "commands", ["args", "contain_name", "contain", "useshell"], "/bin/echo a1 x",
     "lk.commands.contain_name.contain.useshell.-vm._bin_echo_a1_x_6825_MD5=8ac721dc383836be"
     "66f3334106e4240f"),
    ("lk", "commands", ["contain_name", "contain", "useshell", "no_output", "args", "handle",
                        "comment"], "/bin/echo a2 y",
     "lk.commands.contain_name.contain.useshell.no_output.-vm._bin_echo_a2_y_3946_MD5=da077768"
     "6d5b5962fc4e4850e093acf7"),
    ("lk", "commands", ["comment", "arglist", "handle"], "/bin/echo a3 p",
     "lk.commands.comment.handle.-vm._bin_echo_a3_p_7167_MD5=4ec41379e588e945764c1f4f9f645d0c"),
    ("lk", "reports", [], "Monday Sunday and Tuesday February January long enough",
     "lk.reports.-vm.DAYday_Sunday_and_Tuesday_February_MONuary_long_enough_5873_MD5=03c36080f"
     "26f9d6d9c8a1e3fa0e3f8d7"),
    ("lk", "reports", [], "héllo wörld",
     "lk.reports.-vm.h__llo_w__rld_5540_MD5=81132b50d0398b13bcc672412a508ad0"),
    ("lk2", "reports", [], "Sat Sun Jan Dec and a very long text here",
     "lk2.reports.-vm.DAY_Sun_MON_Dec_and_a_very_long_text_here_4141_MD5=1dd190a422f7133492376"
     "f51a6ced43f"),
    ("b" + "x" * 110, "reports", [], "long bundle",
     "b" + "x" * 99 + ".reports.-vm.long_bundle_434_MD5=f30462273dacd43ae2bfae77cd80ccd9"),
    ("lockdemo", "reports", [],
     "a very long promiser " + "." * 141 + " end",
     "lockdemo.reports.-vm.a_very_long_promiser" + "_" * 80 + "_2582_MD5="
     "ef65d69f9763fed44400606c7767692b"),
]


def _digest(key: str) -> str:
    return key.rsplit("_MD5=", 1)[1]


def test_reference_keys_rebuilt_exactly():
    for bundle, ptype, lvals, promiser, key in REFERENCE_KEYS + OBSERVED_KEYS:
        assert lock_name(bundle, ptype, lvals, "vm", promiser, _digest(key)) == key


def test_sums_of_reference_keys():
    assert lock_sum("reports.-vmreport_line") == 1244
    assert lock_sum("reports.-vm" + blank_dates(canonify("Sunday.Hr04 report (true now)"))) == 3021


def test_date_words_blanked_only_in_long_operands():
    assert blank_dates(canonify("Sunday.Hr04 report (true now)")) == "DAYday_Hr04_report__true_now_"
    assert blank_dates("Sunday_short") == "Sunday_short"
    now = canonify("now: Day=Sun Nov 22 04:07:09 2026 cdate")
    assert blank_dates(now).startswith("now__Day_DAY_MON_22_04_07_09_2026")


def test_canonify_is_bytewise():
    assert canonify("/etc/x y-z") == "_etc_x_y_z"
    assert canonify("é") == "__"


def test_expand_lvals_flattens_bodies_and_keeps_args_in_place():
    got = expand_lvals(
        ["create", "action", "args", "classes"],
        {"action": ["ifelapsed", "expireafter"], "classes": ["inherit_from", "scope"]},
    )
    assert got == ["create", "action_name", "action", "ifelapsed", "expireafter", "args",
                   "classes_name", "classes", "scope"]
    name = lock_name("b", "files", got, "h", "/x", "d")
    assert name.startswith("b.files.create.action_name.action.ifelapsed.expireafter.-h._x_")


def test_promise_digest_depends_on_every_part():
    base = promise_digest("p", "b", "default", [("create", "true")])
    assert re.fullmatch(r"[0-9a-f]{32}", base)
    assert base == promise_digest("p", "b", "default", [("create", "true")])
    for other in (
        promise_digest("q", "b", "default", [("create", "true")]),
        promise_digest("p", "c", "default", [("create", "true")]),
        promise_digest("p", "b", "ns", [("create", "true")]),
        promise_digest("p", "b", "default", [("create", "false")]),
        promise_digest("p", "b", "default", []),
    ):
        assert other != base


def test_overlong_names_fit_lmdb_keys():
    name = lock_name("b" * 90, "files", ["a" * 80] * 5, "h", "p" * 300, "0" * 32)
    assert len(("last." + name).encode()) + 1 <= 511
    assert fit_key("short") == "short"
    assert fit_key("x" * 600) != fit_key("x" * 599 + "y")


POLICY = """
body common control {{ bundlesequence => {{ "lk", "{long_bundle}" }}; }}
body action ifel1 {{ ifelapsed => "1"; expireafter => "5"; }}
body contain sh {{ useshell => "true"; }}
body classes parent {{ scope => "namespace"; }}
body classes child {{ inherit_from => parent; persist_time => "3"; }}
bundle agent lk {{
 files:
   "{wd}/f1" create => "true", touch => "true", action => ifel1;
   "{wd}/f2" classes => child, create => "true";
 commands:
   "/bin/echo one" args => "two", contain => sh, action => ifel1;
   "/bin/true" comment => "c", handle => "h_1";
 reports:
   "report_line";
   "Sunday Monday, a report with enough text";
   "héllo wörld";
   "a very long promiser {dots} end";
}}
bundle agent {long_bundle} {{
 reports:
   "from a long bundle";
}}
"""

# (bundle, type, expanded lvals, promiser as the agent sees it)
EXPECTED = [
    ("lk", "files", ["create", "touch", "action_name", "action", "ifelapsed", "expireafter"],
     "{wd}/f1"),
    ("lk", "files", ["classes_name", "classes", "scope", "persist_time", "create"], "{wd}/f2"),
    ("lk", "commands", ["args", "contain_name", "contain", "useshell", "action_name", "action"],
     "/bin/echo one two"),
    ("lk", "commands", ["comment", "handle"], "/bin/true"),
    ("lk", "reports", [], "report_line"),
    ("lk", "reports", [], "Sunday Monday, a report with enough text"),
    ("lk", "reports", [], "héllo wörld"),
    ("lk", "reports", [], "a very long promiser {dots} end"),
    ("{long_bundle}", "reports", [], "from a long bundle"),
]


@requires_cfengine
def test_names_match_live_cf_agent(tmp_path: Path):
    wd = make_workdir(tmp_path / "cfwd")
    fmt = {"wd": str(wd), "long_bundle": "b_" + "y" * 105, "dots": "." * 120}
    policy = tmp_path / "p.cf"
    policy.write_text(POLICY.format(**fmt), encoding="utf-8")
    proc = run_cf(policy, wd, "-I")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    env = lmdb.open(str(wd / "state" / "cf_lock.lmdb"), subdir=False, readonly=True, lock=False)
    with env.begin() as txn:
        keys = [bytes(k) for k, _v in txn.cursor()]
    env.close()
    assert all(k.endswith(b"\0") for k in keys)
    live = {k[:-1].decode()[len("last."):].rsplit("_MD5=", 1)[0]
            for k in keys if k.startswith(b"last.")}
    h = host()
    for bundle, ptype, lvals, promiser in EXPECTED:
        ours = lock_name(bundle.format(**fmt), ptype, lvals, h, promiser.format(**fmt), "x")
        assert ours.rsplit("_MD5=", 1)[0] in live, (ours, sorted(live))


_word = st.from_regex(r"[A-Za-z0-9_]{1,20}", fullmatch=True)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(
    bundle=_word,
    ptype=st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
    lvals=st.lists(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), max_size=8),
    host=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,15}", fullmatch=True),
    promiser=st.text(min_size=1, max_size=150),
)
def test_parse_recovers_what_lock_name_wrote(bundle, ptype, lvals, host, promiser):
    name = lock_name(bundle, ptype, lvals, host, promiser, "0" * 32)
    parts = parse_lock_id(name)
    kept = tuple(lv for lv in lvals[:5] if lv not in ("args", "arglist"))
    assert (parts.bundle, parts.promise_type, parts.lvals, parts.host) == (
        bundle, ptype, kept, host)
    assert parts.promiser == blank_dates(canonify(promiser))[:100]
    assert parts.digest == "0" * 32


def _reference_lock_sum(text: str) -> int:
    s = 0
    for c in text.encode("utf-8", "surrogateescape"):
        s = (61 * s + c) % 8192
    return s


def _reference_blank_dates(operand: str) -> str:
    if len(operand) < 27:
        return operand
    for word, blank in ((d, "DAY") for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")):
        i = operand.find(word)
        if i >= 0:
            operand = operand[:i] + blank + operand[i + 3:]
            break
    for word in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                 "Dec"):
        i = operand.find(word)
        if i >= 0:
            operand = operand[:i] + "MON" + operand[i + 3:]
            break
    return operand


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcXYZ09 ./_-:MonTueFriJanDecé\udcff", max_size=200))
def test_fast_sums_and_blanks_agree_with_the_plain_loops(text: str):
    assert lock_sum(text) == _reference_lock_sum(text)
    assert blank_dates(text) == _reference_blank_dates(text)
    # the name's sum continues the operator's: same as summing the whole text at once
    name = lock_name("b", "files", ["create", "args", "touch"], "h", text, "0" * 32)
    operand = _reference_blank_dates(canonify(text))
    total = _reference_lock_sum("files.create.touch.-h" + operand)
    assert f"_{total}_MD5=" in name


def test_digest_is_md5_of_the_nul_separated_parts():
    import hashlib

    raw = b"/etc/motd\0default\0main\0create=true\0perms=m=644\0"
    assert promise_digest("/etc/motd", "main", "default",
                          [("create", "true"), ("perms", "m=644")]) == hashlib.md5(raw).hexdigest()
