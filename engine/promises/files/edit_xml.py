"""``edit_xml``: a files promise's XML document edited by an ``edit_xml`` bundle.

The promise types run in cf-agent's order, in up to three passes (a promise whose
node is not there yet may find it once a later promise built it): ``build_xpath``,
``delete_tree``, ``insert_tree``, ``delete_attribute``, ``set_attribute``,
``delete_text``, ``set_text``, ``insert_text``. ``select_xpath`` picks the node a
promise works on; the supported XPath is a path of element names, absolute
(``/a/b``) or anywhere (``//b``), each step optionally with ``[@attr='value']``
or ``[child='text']`` (what :mod:`xml.etree.ElementTree` understands).

The document is written back, as libxml2 writes it (``<?xml version="1.0"?>``,
then the tree on one line), only when it changed; the previous version is kept as
``<file>.cf-before-edit``. As for ``edit_line``, the lines describing changes are
printed only when the file is saved; errors at once.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from engine import promisetypes
from engine.promises.base import BundleCall, ResolvedPromise, RunContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os

    from engine.promises._acc import Acc
    from engine.promises.safefs import Parent

XML_ORDER = tuple(t.name for t in promisetypes.EDIT_XML_TYPES)
PASSES = 3
BACKUP_SUFFIX = ".cf-before-edit"
_STEP = re.compile(r"([A-Za-z_][\w.\-:]*|\*)((?:\[[^\]]*\])*)")
_ATTR_PRED = re.compile(r"\[@([\w.\-:]+)\s*=\s*['\"]([^'\"]*)['\"]\]")


class _Doc:
    """The document being edited and the messages waiting for it to be saved."""

    def __init__(self, root: ET.Element | None) -> None:
        self.root = root
        self.pending: list[str] = []
        self.changed = False


def edit_xml_file(path: str, promise: ResolvedPromise, run: RunContext, acc: Acc) -> None:
    """Apply the promise's ``edit_xml`` bundle to ``path``; report through ``acc``.
    The file is read and replaced as ``edit_line`` does it: never through a symlink
    planted by another user (see :func:`engine.promises.files.edit.open_for_edit`)."""
    from engine.promises.files.edit import open_for_edit

    target = open_for_edit(path, acc, run)
    if target is None:
        return
    where, st, data = target
    with where:
        _edit_xml(path, where, st, data, promise, run, acc)


def _edit_xml(path: str, where: Parent, st: os.stat_result, data: bytes,
              promise: ResolvedPromise, run: RunContext, acc: Acc) -> None:
    try:
        root = ET.fromstring(data) if data.strip() else None
    except ET.ParseError as e:
        acc.fail(f"Unable to parse XML file '{path}' ({e})")
        return
    call = promise.attrs.get("edit_xml")
    if isinstance(call, str):
        call = BundleCall(call)
    if not isinstance(call, BundleCall):
        acc.fail(f"edit_xml of '{path}' does not name an edit_xml bundle")
        return
    doc = _Doc(root)
    promises = run.edit_promises(call, path, "edit_xml")
    done: set[int] = set()
    for _ in range(PASSES):
        for ptype in XML_ORDER:
            for k, p in enumerate(promises):
                if p.promise_type != ptype or k in done:
                    continue
                if _keep(p, doc, path, run):
                    done.add(k)
    if not doc.changed:
        acc.keep()
        return
    if acc.warn_only:
        acc.should(f"edit XML file '{path}'")
        return
    text = _serialize(doc.root)
    try:
        from engine.promises.files.edit import save_edit

        save_edit(where, st, text.encode("utf-8"))
    except OSError as e:
        acc.fail(f"Unable to save edited XML file '{path}' ({e.strerror})")
        return
    for msg in doc.pending:
        run.log.info(msg)
    acc.repair(f"Edited xml file '{path}'")


def _keep(p: ResolvedPromise, doc: _Doc, path: str, run: RunContext) -> bool:
    """One promise; True when it is settled (kept or repaired), False to try again."""
    ptype = p.promise_type
    if ptype == "build_xpath":
        return _build(p, doc, path, run)
    xpath = p.str_attr("select_xpath")
    if ptype == "insert_tree" and not xpath:
        if doc.root is not None:
            return True
        try:
            doc.root = ET.fromstring(p.promiser)
        except ET.ParseError:
            run.log.error(f"Unable to parse the XML tree '{p.promiser}' to insert "
                          f"into '{path}'")
            return True
        _changed(doc, p, f"Inserted tree '{p.promiser}' into an empty XML document '{path}'")
        return True
    nodes = _select(doc.root, xpath) if xpath else []
    if not nodes:
        run.log.error(f"The promised XPath pattern '{xpath}', was NOT successful when "
                      f"selecting an edit node, in XML document '{path})")
        return False
    node = nodes[0]
    value = p.promiser
    if ptype == "insert_tree":
        try:
            tree = ET.fromstring(value)
        except ET.ParseError:
            run.log.error(f"Unable to parse the XML tree '{value}' to insert into '{path}'")
            return True
        if not any(_same(tree, c) for c in node):
            node.append(tree)
            _changed(doc, p, f"Inserted tree '{value}' at XPath '{xpath}' in XML document "
                             f"'{path}'")
    elif ptype == "delete_tree":
        try:
            tree = ET.fromstring(value)
        except ET.ParseError:
            return True
        for c in list(node):
            if _same(tree, c):
                node.remove(c)
                _changed(doc, p, f"Deleted tree '{value}' at XPath '{xpath}' in XML document "
                                 f"'{path}'")
                break
    elif ptype == "set_attribute":
        want = str(p.attrs.get("attribute_value", ""))
        if node.get(value) != want:
            node.set(value, want)
            _changed(doc, p, f"Set attribute with name '{value}' to value '{want}' at XPath "
                             f"'{xpath}' in XML document '{path}'")
    elif ptype == "delete_attribute":
        if value in node.attrib:
            del node.attrib[value]
            _changed(doc, p, f"Deleted attribute '{value}' at XPath '{xpath}' in the XML "
                             f"document '{path}'")
    elif ptype == "set_text":
        if (node.text or "") != value:
            node.text = value
            _changed(doc, p, f"Set text '{value}' at XPath '{xpath}' in XML document '{path}'")
    elif ptype == "insert_text":
        if value not in (node.text or ""):
            node.text = (node.text or "") + value
            _changed(doc, p, f"Inserted text '{value}' at XPath '{xpath}' in the XML "
                             f"document '{path}'")
    elif ptype == "delete_text" and node.text and value in node.text:
        node.text = node.text.replace(value, "")
        _changed(doc, p, f"Deleted text '{value}' at XPath '{xpath}' in the XML document "
                         f"'{path}'")
    return True


def _changed(doc: _Doc, p: ResolvedPromise, msg: str) -> None:
    doc.changed = True
    doc.pending.append(msg)
    doc.pending.append(f"{p.promise_type} promise '{p.promiser}' repaired")


def _build(p: ResolvedPromise, doc: _Doc, path: str, run: RunContext) -> bool:
    """``build_xpath``: make every step of an absolute path of the promiser exist."""
    xpath = p.promiser
    steps = [s for s in xpath.split("/") if s]
    if not xpath.startswith("/") or not steps or xpath.startswith("//"):
        run.log.error(f"The XPath '{xpath}' cannot be built in XML document '{path}'")
        return True
    parsed = []
    for s in steps:
        m = _STEP.fullmatch(s)
        if m is None or m.group(1) == "*":
            run.log.error(f"The XPath '{xpath}' cannot be built in XML document '{path}'")
            return True
        parsed.append((m.group(1), dict(_ATTR_PRED.findall(m.group(2)))))
    root = doc.root
    empty = root is None
    if root is None:
        root = doc.root = ET.Element(parsed[0][0], parsed[0][1])
    elif root.tag != parsed[0][0]:
        run.log.error(f"The XPath '{xpath}' does not match the root of XML document '{path}'")
        return True
    node, built = root, empty
    for tag, attrs in parsed[1:]:
        nxt = next((c for c in node if c.tag == tag
                    and all(c.get(k) == v for k, v in attrs.items())), None)
        if nxt is None:
            nxt = ET.SubElement(node, tag, attrs)
            built = True
        node = nxt
    if built:
        where = "into an empty XML document" if empty else "into XML document"
        _changed(doc, p, f"Built XPath '{xpath}' {where} '{path}'")
    return True


def _select(root: ET.Element | None, xpath: str) -> list[ET.Element]:
    if root is None:
        return []
    try:
        if xpath.startswith("//"):
            rest = xpath[2:]
            first = rest.split("/", 1)[0]
            out = [root] if _step_matches(root, first) and "/" not in rest else []
            return out + root.findall(".//" + rest)
        if xpath.startswith("/"):
            steps = xpath[1:].split("/", 1)
            if not _step_matches(root, steps[0]):
                return []
            return [root] if len(steps) == 1 else root.findall(steps[1])
        return root.findall(xpath)
    except (SyntaxError, KeyError):
        return []


def _step_matches(node: ET.Element, step: str) -> bool:
    m = _STEP.fullmatch(step)
    if m is None:
        return False
    if m.group(1) != "*" and node.tag != m.group(1):
        return False
    return all(node.get(k) == v for k, v in _ATTR_PRED.findall(m.group(2)))


def _same(a: ET.Element, b: ET.Element) -> bool:
    return (a.tag == b.tag and a.attrib == b.attrib and (a.text or "") == (b.text or "")
            and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True)))


def _serialize(root: ET.Element | None) -> str:
    """libxml2's way: the declaration, then the tree as it is, one newline at the end."""
    out = ['<?xml version="1.0"?>\n']
    if root is not None:
        _write(root, out)
        out.append("\n")
    return "".join(out)


def _write(e: ET.Element, out: list[str]) -> None:
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in e.attrib.items())
    if e.text is None and not len(e):
        out.append(f"<{e.tag}{attrs}/>")
    else:
        out.append(f"<{e.tag}{attrs}>{escape(e.text or '')}")
        for c in e:
            _write(c, out)
        out.append(f"</{e.tag}>")
    if e.tail:
        out.append(escape(e.tail))
