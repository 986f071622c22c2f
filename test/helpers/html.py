"""A strict HTML element tree for the tests of the pages the recipes write."""

from html.parser import HTMLParser
from pathlib import Path

VOID = {"meta", "br", "img", "source", "input", "link", "hr"}


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.text = [], ""

    def iter(self, tag=None):
        for child in self.children:
            if tag is None or child.tag == tag:
                yield child
            yield from child.iter(tag)

    def all_text(self):
        return self.text + "".join(c.all_text() for c in self.children)


class StrictTree(HTMLParser):
    """An element tree that fails on a closing tag that does not match."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Element("#root", {}, None)
        self.feed(text)
        self.close()
        assert self.current is self.root, f"unclosed <{self.current.tag}>"

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag):
        assert self.current.tag == tag, f"</{tag}> closes <{self.current.tag}>"
        self.current = self.current.parent

    def handle_data(self, data):
        self.current.text += data


def parse_html(source):
    """Element tree of an HTML file (a Path) or text; fails on mismatched tags."""
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    return StrictTree(text).root
