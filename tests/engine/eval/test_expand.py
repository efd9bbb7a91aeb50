from engine.eval.expand import expand, iterables, whole_list_ref
from engine.eval.values import Data

VARS = {
    "x": "1",
    "b": "y",
    "a_y": "nested",
    "main.z": "qualified",
    "list": ["p", "q"],
    "d": Data({"k": "v"}),
    "d[k]": "v",
}


def lookup(name):
    return VARS.get(name)


def test_both_bracket_styles_and_qualified_names():
    assert expand("$(x)-${x}-$(main.z)", lookup) == ("1-1-qualified", True)


def test_nested_reference_expands_inside_out():
    assert expand("$(a_$(b))", lookup) == ("nested", True)


def test_unresolved_reference_stays_as_written():
    assert expand("pre $(nope) post", lookup) == ("pre $(nope) post", False)


def test_list_in_scalar_context_is_unresolved():
    assert expand("$(list)", lookup) == ("$(list)", False)


def test_iterables_in_first_mention_order():
    assert iterables(["$(x)", "$(list) and $(list)"], lookup) == ["list"]


def test_unbalanced_dollar_is_literal():
    assert expand("cost $(", lookup) == ("cost $(", True)


def test_whole_list_reference():
    assert whole_list_ref("@(list)") == "list"
    assert whole_list_ref("@{a.b}") == "a.b"
    assert whole_list_ref("x@(list)") is None


def test_tricky_templates_parse_as_before():
    # expected values recorded from the character-by-character parser this replaced
    v = {"x": "1", "b": "y", "a_y": "nested", "a(b": "paren"}
    cases = {
        # brackets of the reference's kind balance inside its name, as in cf-agent 3.21:
        # this names "a(b)", which is not defined
        "$(a(b))": ("$(a(b))", False),
        "$(a[k(b)]) ${a{b}} $(a{b)": ("$(a[k(b)]) ${a{b}} $(a{b)", False),
        "$(x": ("$(x", True),
        "a $ b $(x)$": ("a $ b 1$", True),
        "${x}$(x}": ("1$(x}", True),
        "$($(b)": ("$(y", True),
        "$(a_$(b)) ${a_${b}}": ("nested nested", True),
        "$()${}": ("$()${}", False),
        "$(x${b})": ("$(xy)", False),
        "(($(x)))": ("((1))", True),
    }
    for text, want in cases.items():
        assert expand(text, v.get) == want, text
