"""engine.eval.varorder: cf-agent's variable hash and table size, and the orders they
give (checked against cf-agent 3.21 by the differential cases of
test_edge_cases_vs_cfagent)."""

from __future__ import annotations

from engine.eval.varorder import buckets, name_order, table_order, var_hash


def test_the_default_namespace_hashes_as_cf_agent_seeds_it() -> None:
    # cf-agent starts an unqualified namespace's hash at 1195645448, the hash of
    # "default" before its final mixing: the two must give the same variable hash
    assert var_hash("default:main", "x") == var_hash("main", "x")
    assert var_hash("sys", "arch") == var_hash("default:sys", "arch")


def test_indices_are_part_of_the_hash() -> None:
    assert var_hash("default:b", "v", ["te", "st"]) != var_hash("default:b", "v", ["t", "e", "st"])
    assert var_hash("default:b", "v", ["x"]) != var_hash("default:b", "v[x]")


def test_the_table_doubles_past_three_quarters() -> None:
    assert [buckets(n) for n in (0, 96, 97, 192, 193, 384, 385)] == [
        128, 128, 256, 256, 512, 512, 1024]


def test_orders() -> None:
    paths = ["alpha", "zeta", "theta", "mu"]
    assert table_order("default:main", "arr", paths, 150) == ["mu", "theta", "alpha", "zeta"]
    assert table_order("default:main", "arr", ["one"], 150) == ["one"]
    # a sub-array: the given index is hashed with the entries' own
    sub = table_order("default:main", "a[x]", ["p", "q", "r"], 150)
    assert sorted(sub) == ["p", "q", "r"]
    names = ["default:main.v_red", "default:main.v_green", "default:main.v_blue"]
    assert name_order(names, 150)[::-1] == [
        "default:main.v_red", "default:main.v_blue", "default:main.v_green"]
