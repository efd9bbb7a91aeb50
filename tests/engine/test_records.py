"""The hand-written record classes behave as the dataclasses they replace."""

from __future__ import annotations

import copy
import pickle

import pytest

from engine.eval.context import Frame, Variable
from engine.eval.values import Data
from engine.promises.base import BundleCall, Outcome, PromiseResult
from engine.state.lmdbcheck import Health
from engine.state.locks import LockData, LockDecision
from engine.workdir import Workdir


def test_frozen_records_compare_hash_and_refuse_changes(tmp_path):
    a, b = LockDecision(False, None, "x", 5), LockDecision(False, None, "x", 5)
    assert a == b and hash(a) == hash(b) and a != LockDecision(True)
    assert LockData(1, 2, 3) != (1, 2, 3)
    assert {BundleCall("b", (1,)), BundleCall("b", (1,))} == {BundleCall("b", (1,))}
    with pytest.raises(AttributeError):
        a.detail = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del a.detail
    assert repr(Data([1])) == "Data(value=[1])"
    assert repr(Workdir(tmp_path)) == f"Workdir(root={tmp_path!r}, cfengine=False)"
    assert Health(ok=True).reason == "" and Health(ok=True).meta is None
    for obj in (a, Data({"k": [1]}), Workdir(tmp_path), BundleCall("x")):
        assert pickle.loads(pickle.dumps(obj)) == obj
        assert copy.deepcopy(obj) == obj


def test_mutable_records_get_fresh_defaults_and_no_hash():
    r1, r2 = PromiseResult(Outcome.KEPT), PromiseResult(Outcome.KEPT)
    r1.classes.append("c")
    assert r2.classes == [] and r2.variables == {} and r2.also == []
    assert r1 != r2 and PromiseResult(Outcome.KEPT) == r2
    f = Frame("default", "main")
    assert f.bundle_type == "agent" and f.classes == set() and f.scope == "default:main"
    v = Variable("x")
    v.value = "y"
    assert v == Variable("y", "string", ())
    with pytest.raises(TypeError):
        hash(v)
    match Variable("z", "slist"):
        case Variable(value, vtype):
            assert (value, vtype) == ("z", "slist")
