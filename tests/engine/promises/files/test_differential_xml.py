"""edit_xml bundles against cf-agent 3.21: the promise types in their order, the
passes, the wording and libxml2's way of writing the document."""

from __future__ import annotations

from pathlib import Path

from tests.differential import both

XML_POLICY = """
body common control { bundlesequence => { "make", "change" }; }
bundle agent make {
files:
  "@T@/x1" create => "true", edit_xml => build_xpath("/Server/Service/Engine/Host");
  "@T@/x2" create => "true", edit_xml => ins("<Root foo='bar'><c>text content</c></Root>");
  "@T@/x3" create => "true", edit_xml => ins("<Root/>");
}
bundle agent change {
files:
  "@T@/x2" edit_xml => ops;
  "@T@/x3" edit_xml => ops2;
  "@T@/x1" edit_xml => build_xpath("/Server/Service/Engine/Host");
}
bundle edit_xml build_xpath(xpath) { build_xpath: "$(xpath)"; }
bundle edit_xml ins(t) { insert_tree: '$(t)'; }
bundle edit_xml ops {
  delete_attribute: "foo" select_xpath => "//Root";
  delete_text: "text content" select_xpath => "//c";
  set_attribute: "my_attr" attribute_value => "v", select_xpath => "//Root";
}
bundle edit_xml ops2 {
  set_text: "foobar" select_xpath => "//Root";
  insert_text: "Tuesday" select_xpath => "//Root";
  insert_tree: "<b><c>x</c></b>" select_xpath => "//Root";
  delete_tree: "<c>x</c>" select_xpath => "//b";
}
"""


def test_edit_xml(tmp_path: Path) -> None:
    lines, files = both(tmp_path, XML_POLICY, lambda t: None)
    assert files["x1"][1] == ('<?xml version="1.0"?>\n'
                              "<Server><Service><Engine><Host/></Engine></Service></Server>\n")
    assert files["x2"][1] == '<?xml version="1.0"?>\n<Root my_attr="v"><c></c></Root>\n'
    assert files["x3"][1] == '<?xml version="1.0"?>\n<Root>foobarTuesday<b/></Root>\n'
    assert "    info: Edited xml file '<T>/x3'" in lines
