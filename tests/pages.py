"""Reading the HTML pages in tests with a real parser (selectolax's Lexbor): fields and their errors, forms,
sections, tables, links and messages; and a logged-in browser per person.

Every reader takes the page's HTML or a node already read from it, and answers nodes or decoded text: what
a browser would show, not how the template happened to write it (attribute order, quoting, escaping). A node
iterates over its children, so ``"x" in node`` is quietly false: compare with ``text(node)`` or ``texts(...)``.
"""

import re

from flask.testing import FlaskClient
from selectolax.lexbor import LexborHTMLParser, LexborNode

from tests.conftest import PASSWORD

Markup = str | LexborNode


def parsed(html: Markup) -> LexborNode:
    """The parsed page; a node is taken as it is."""
    if isinstance(html, LexborNode):
        return html
    return LexborHTMLParser(html).root


def text(node: Markup) -> str:
    """The text of ``node`` as it reads, each run of white space made one space."""
    return " ".join(parsed(node).text().split())


def one(html: Markup, selector: str) -> LexborNode:
    """The first node matching the CSS ``selector``; the test fails if there is none."""
    node = parsed(html).css_first(selector)
    assert node is not None, f"nothing matches {selector!r}"
    return node


def texts(html: Markup, selector: str) -> list[str]:
    """The text of every node matching ``selector``, in page order."""
    return [text(node) for node in parsed(html).css(selector)]


def title_of(html: Markup) -> str:
    """The page's ``<title>``, as text."""
    return text(one(html, "title"))


# Fields and forms ----------------------------------------------------------------------------------------


def field_id(field: LexborNode) -> str | None:
    """The id of the control a ``field`` block is for: its label's ``for``, or the id of the box it wraps."""
    label = field.css_first("label")
    if label is None:
        return None
    if "for" in label.attributes:
        return label.attributes["for"]
    box = label.css_first("input")
    return box.attributes.get("id") if box is not None else None


def field_blocks(html: Markup) -> list[LexborNode]:
    """Every block the ``field`` macro rendered: its label, control, hint and the errors beside it."""
    return [node for node in parsed(html).css("div.field") if field_id(node) is not None]


def field_block(html: Markup, wanted: str) -> LexborNode:
    """The block the ``field`` macro rendered for the field named ``wanted`` (the first, if several forms of
    the page have one): by the name the form sends, as the ids of a page with several forms are prefixed."""
    for block in field_blocks(html):
        if control(block).attributes.get("name") == wanted:
            return block
    raise AssertionError(f"no field {wanted!r} in the page")


def errors_in(html: Markup) -> list[str]:
    """The error messages shown beside fields in ``html`` (a field block, a form, a row), as text."""
    return texts(html, 'p.error[role="alert"]')


def fields_with_errors(html: Markup) -> set[str]:
    """The ids of the fields marked as wrong."""
    return {field_id(block) for block in field_blocks(html) if "has-error" in block.attributes["class"].split()}


def form_at(html: Markup, action: str) -> LexborNode:
    """The form posting to ``action``."""
    for form in parsed(html).css("form[action]"):
        if form.attributes["action"] == action:
            return form
    raise AssertionError(f"no form posting to {action!r}")


def form_actions(html: Markup) -> list[str]:
    """What each form of the page posts to, in page order."""
    return [form.attributes["action"] for form in parsed(html).css("form[action]")]


def has_field(form: Markup, name: str) -> bool:
    """Whether ``form`` sends a field called ``name``."""
    return any(node.attributes.get("name") == name for node in parsed(form).css("input, select, textarea"))


def version_in(form: Markup) -> str:
    """The ``version`` a step form carries."""
    [version] = [node for node in parsed(form).css("input") if node.attributes.get("name") == "version"]
    return version.attributes["value"]


def control(block: Markup) -> LexborNode:
    """The control (input, select or textarea) of a field block."""
    return one(block, "input, select, textarea")


def input_value(block: Markup) -> str | None:
    """The value of the (first) input in ``block`` that has one."""
    for node in parsed(block).css("input"):
        if "value" in node.attributes:
            return node.attributes["value"] or ""
    return None


def textarea_text(block: Markup) -> str:
    return one(block, "textarea").text().strip()


def selected_values(block: Markup) -> list[str]:
    """The values of the options selected in ``block``."""
    return [
        option.attributes["value"] or "" for option in parsed(block).css("option") if "selected" in option.attributes
    ]


def selected_value(block: Markup) -> str | None:
    """The value of the first selected option in ``block``."""
    chosen = selected_values(block)
    return chosen[0] if chosen else None


def options(block: Markup, selected: bool | None = None) -> dict[str, str]:
    """The options offered in ``block`` (only the selected or only the unselected ones, if ``selected`` says
    so): value -> label."""
    return {
        option.attributes["value"] or "": text(option)
        for option in parsed(block).css("option")
        if selected is None or ("selected" in option.attributes) == selected
    }


def values_in(html: Markup) -> list[str]:
    """The value of every input and option in ``html`` that has one, in page order."""
    return [node.attributes["value"] or "" for node in parsed(html).css("input, option") if "value" in node.attributes]


# Parts of a page ------------------------------------------------------------------------------------------


def shown_state(html: Markup) -> str:
    """The state an NC page shows beside the number in its heading."""
    heading = one(html, "h1")
    badge = one(heading, "span.badge.state")
    assert any(name.startswith("state-") for name in badge.attributes["class"].split()), badge.html
    assert re.fullmatch(rf"NC-\d{{4}}-\d{{5}} {re.escape(text(badge))}", text(heading)), text(heading)
    return text(badge)


def section(html: Markup, section_id: str) -> LexborNode:
    """One card of the NC page: ``d2``…``d8`` or ``history``."""
    return one(html, f'section.card[id="{section_id}"]')


def elements(node: LexborNode) -> list[LexborNode]:
    """The child elements of ``node``, without the text between them."""
    children = []
    child = node.child
    while child is not None:
        if child.is_element_node:
            children.append(child)
        child = child.next
    return children


def under_heading(html: Markup, heading: str, tag: str = "h2") -> LexborNode:
    """What follows the heading reading ``heading`` up to the next heading of its level (or the end of its
    parent), as one node."""
    for found in parsed(html).css(tag):
        if text(found) == heading:
            break
    else:
        raise AssertionError(f"no {tag} {heading!r} in the page")
    return following(found, until=tag)


def following(node: LexborNode, until: str | None = None) -> LexborNode:
    """What follows ``node`` inside its parent, up to the next ``until`` element if given, as one node."""
    parts = []
    sibling = node.next
    while sibling is not None and sibling.tag != until:
        parts.append(sibling.html or "")
        sibling = sibling.next
    return LexborHTMLParser(f"<div>{''.join(parts)}</div>").css_first("div")


def headed_parts(html: Markup, tag: str = "h2") -> dict[str, LexborNode]:
    """Each heading's text -> what follows it up to the next heading (see ``under_heading``)."""
    return {text(found): under_heading(html, text(found), tag) for found in parsed(html).css(tag)}


def table_rows(html: Markup) -> list[LexborNode]:
    """The table rows that hold cells (``td``), in page order."""
    return [row for row in parsed(html).css("tr") if row.css_first("td") is not None]


def cells(row: LexborNode) -> list[str]:
    """The text of each cell of a table row."""
    return [text(cell) for cell in elements(row) if cell.tag in ("td", "th")]


def row_linking(html: Markup, href: str) -> LexborNode:
    """The table row holding a link to ``href``."""
    for row in table_rows(html):
        if href in links(row):
            return row
    raise AssertionError(f"no row links to {href!r}")


def links(html: Markup) -> list[str]:
    """The target of every link in ``html``, in page order."""
    return [anchor.attributes["href"] for anchor in parsed(html).css("a[href]")]


def link_texts(html: Markup) -> dict[str, str]:
    """Link target -> the link's text, for every link in ``html``."""
    return {anchor.attributes["href"]: text(anchor) for anchor in parsed(html).css("a[href]")}


def flashes(html: Markup, category: str | None = None) -> list[LexborNode]:
    """The messages flashed at the top of the page (of one ``category``: ``error``…), as nodes."""
    found = parsed(html).css("p.flash")
    if category is None:
        return found
    return [node for node in found if f"flash-{category}" in node.attributes["class"].split()]


def image_sources(html: Markup) -> list[tuple[str, str]]:
    """``(src, alt)`` of every image in ``html``."""
    return [(image.attributes.get("src") or "", image.attributes.get("alt") or "") for image in parsed(html).css("img")]


# A browser per person -------------------------------------------------------------------------------------


def logged_in(app, user) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return client


def many(html: Markup, selector: str) -> list[LexborNode]:
    """Every node matching ``selector``, in document order."""
    return parsed(html).css(selector)
