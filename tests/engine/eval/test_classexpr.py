import pytest

from engine.eval.classexpr import ClassExprError, class_names, evaluate


def defined(*names: str):
    s = set(names)
    return lambda n: n in s


@pytest.mark.parametrize(
    ("expr", "classes", "expected"),
    [
        ("any", (), True),
        ("linux", ("linux",), True),
        ("!linux", ("linux",), False),
        ("linux.debian", ("linux",), False),
        ("linux&debian", ("linux", "debian"), True),
        ("a|b", ("b",), True),
        ("a||b", (), False),
        # '.' binds tighter than '|'
        ("a|b.c", ("a",), True),
        ("a|b.c", ("b",), False),
        ("(a|b).c", ("a",), False),
        ("(a|b).c", ("b", "c"), True),
        # '!' binds tighter than '.'
        ("!a.b", ("b",), True),
        ("!(a.b)", ("a",), True),
        ("!!a", ("a",), True),
        ("ns:cls", ("ns:cls",), True),
    ],
)
def test_precedence_and_operators(expr, classes, expected):
    assert evaluate(expr, defined(*classes)) is expected


@pytest.mark.parametrize("expr", ["a.", "(a", "a)", "a..b", "", "a|", "!", "a b", "a-b"])
def test_malformed_expressions_raise_with_column(expr):
    with pytest.raises(ClassExprError) as err:
        evaluate(expr, defined())
    assert err.value.column >= 0


def test_class_names_lists_every_name():
    assert class_names("(a|b).!c&ns:d") == {"a", "b", "c", "ns:d"}
