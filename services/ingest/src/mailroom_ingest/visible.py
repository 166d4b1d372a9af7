"""Leave out of an HTML mail what its reader cannot see, before it becomes text.

Hidden text in an HTML mail ("ignore previous instructions..." in a ``display:none``
paragraph, white on white, 0 px) reaches no human but would reach the model's prompt.
:func:`visible_html` re-emits the HTML without it:

* removed with everything inside: ``<head>``, ``<style>``, ``<script>``, ``<template>``,
  ``<noscript>``, ``<title>``, ``<iframe>``; ``aria-hidden="true"``; ``display:none``
  (also from the ``hidden`` attribute, which an explicit ``display`` overrides, as in a
  browser); ``opacity`` of 0.05 or less (multiplied down the tree); a box of at most
  1 px (``height``, ``max-height``, ``width``, ``max-width``) with ``overflow`` hidden or
  clipped; ``clip: rect(0 0 0 0)``; ``position`` absolute or fixed at ``left``/``top``
  -500 px or further, and ``text-indent`` of -500 px or less (pushed out of view);
* text dropped, tags kept (a descendant can become visible again, as in CSS):
  ``visibility:hidden``/``collapse``; a computed ``font-size`` under 2 px (``0``, ``0px``,
  ``0pt``, ``0em``, ``0%``, ``1px``, a ``0.1em`` below a 16 px parent...); a text colour
  that cannot be told from the background behind it: the nearest background declared on
  the element or an ancestor (``background``/``background-color``/``bgcolor``), or the
  white page when none is declared. Colours are compared after normalising (``#fff``,
  ``#ffffff``, ``white``, ``rgb(255,255,255)``, ``hsl(0,0%,100%)`` are one) and within
  10/255 per channel; transparent text is hidden anywhere. Only a *declared* colour is
  compared (the client's default text colour is not assumed), a link without its own
  colour is the client's link colour, and a background image or an unknown value makes
  the background unknown: never hidden.

Styles come from ``style`` attributes, presentational attributes (``bgcolor``,
``<font color>``, ``<body text>``) and ``<style>`` blocks, whose simple rules (``.x``,
``#id``, ``p.x``; see :mod:`mailroom_ingest.css`) apply with CSS's order of importance,
origin, specificity and position. The nesting follows the browser's main implied-end
rules (a ``<div>`` closes an open ``<p>``, ``<li>`` an ``<li>``, ``<td>`` a cell; an end
tag does not reach past a table cell), so text a browser shows outside a hidden element
stays; text it would hide is not let out by a mismatch.

Pure functions; no I/O.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from mailroom_ingest import css
from mailroom_ingest.css import UNKNOWN, Colour, Stylesheet

__all__ = ["visible_html"]

_WHITE: Colour = (255.0, 255.0, 255.0, 1.0)
_MIN_FONT_PX = 2.0
_MIN_OPACITY = 0.05
_OFFSCREEN_PX = -500.0

_VOID_NAMES = (
    "area base basefont bgsound br col embed hr img input keygen link meta param source track wbr"
)
_VOID = frozenset(_VOID_NAMES.split())
_DROPPED = frozenset({"head", "style", "script", "template", "noscript", "title", "iframe"})
_HEAD_CONTENT = frozenset(
    {"base", "basefont", "bgsound", "link", "meta", "noscript", "script", "style"}
    | {"template", "title"}
)
_SCOPE = frozenset(
    {"applet", "caption", "html", "table", "td", "th", "marquee", "object", "template"}
)
_HEAD = frozenset({"head"})
_HEAD_STOPS = frozenset({"template", "html", "body"})
_TABLE_SCOPE = frozenset({"html", "table", "template"})
_TABLE_PARTS = frozenset({"table", "caption", "tbody", "thead", "tfoot", "tr", "td", "th"})
_P_CLOSER_NAMES = (
    "address article aside blockquote center details dialog dir div dl fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li dd dt main menu nav ol p pre "
    "section summary ul listing xmp"
)
_CLOSES_P = frozenset(_P_CLOSER_NAMES.split())
# A start tag closes the nearest open element of the first set, unless it first meets
# one of the second (the HTML parser's implied end tags, the ones that matter here).
_IMPLIED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "li": (frozenset({"li"}), _SCOPE | {"ol", "ul"}),
    "dt": (frozenset({"dt", "dd"}), _SCOPE | {"dl"}),
    "dd": (frozenset({"dt", "dd"}), _SCOPE | {"dl"}),
    "tr": (frozenset({"tr"}), _TABLE_SCOPE),
    "td": (frozenset({"td", "th"}), _TABLE_SCOPE),
    "th": (frozenset({"td", "th"}), _TABLE_SCOPE),
    "option": (frozenset({"option"}), _SCOPE | {"select"}),
    "optgroup": (frozenset({"option", "optgroup"}), _SCOPE | {"select"}),
    "a": (frozenset({"a"}), _SCOPE),
    "button": (frozenset({"button"}), _SCOPE),
}
_STYLE_BLOCKS = re.compile(
    r"<!--.*?(?:-->|$)|<script\b.*?(?:</script\s*>|$)|<style\b([^>]*)>(.*?)(?:</style\s*>|$)",
    re.DOTALL | re.IGNORECASE,
)
_MEDIA = re.compile(r"""\bmedia\s*=\s*["']?([^"'>]*)""", re.IGNORECASE)
_ZERO_CLIP = re.compile(r"rect\(\s*(?:0[a-z]*[\s,]*){4}\)")
_KEYWORDS_INHERIT = frozenset({"inherit", "unset", "currentcolor"})
_KEYWORDS_RESET = frozenset({"initial", "revert", "none"})


@dataclass(frozen=True, slots=True)
class _Frame:
    """An open element and what it passes on to its content."""

    tag: str
    removed: bool = False  # the element and everything in it are left out
    visible: bool = True  # CSS visibility (inherited; a child may say visible again)
    font_px: float = 16.0
    opacity: float = 1.0
    colour: Colour | None = None  # declared text colour; None: the client's default
    background: Colour | object = _WHITE  # an opaque colour, or css.UNKNOWN
    shows: bool = True  # whether its own text is visible


def visible_html(markup: str) -> str:
    """``markup`` without the elements and text a reader of the mail cannot see."""
    sheet = Stylesheet()
    for match in _STYLE_BLOCKS.finditer(markup):
        if match.group(2) is not None and _applies(match.group(1)):
            sheet.add(match.group(2))
    parser = _Filter(sheet)
    parser.feed(markup)
    parser.close()
    return "".join(parser.out)


def _applies(style_attrs: str) -> bool:
    media = _MEDIA.search(style_attrs)
    return media is None or media.group(1).strip().lower() in ("", "all", "screen")


def _is_quirks(decl: str) -> bool:
    """Whether a ``<!DOCTYPE ...>`` puts browsers in quirks mode (roughly, as they do)."""
    d = " ".join(decl.lower().split())
    if not d.startswith("doctype html"):
        return True
    if "xhtml" in d:
        return False
    if "html 4.01" in d and ("transitional" in d or "frameset" in d):
        return "http" not in d  # without a system identifier
    return "dtd html" in d and "html 4.01" not in d


def _attrs(pairs: list[tuple[str, str | None]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        out.setdefault(name, value or "")  # the first of a repeated attribute counts
    return out


def _hints(attrs: dict[str, str]) -> list[tuple[str, str]]:
    """Presentational attributes as the CSS they stand for (weaker than any rule)."""
    hints: list[tuple[str, str]] = []
    if "hidden" in attrs:
        hints.append(("display", "none"))
    if attrs.get("bgcolor"):
        hints.append(("background-color", attrs["bgcolor"]))
    if attrs.get("background"):
        hints.append(("background-image", "url"))
    for name in ("color", "text"):  # <font color>, <body text>
        if attrs.get(name):
            hints.append(("color", attrs[name]))
    return hints


def _removed(props: dict[str, str], parent_px: float) -> bool:
    """Whether the element's own box is out of sight (not inherited: CSS box rules)."""
    if props.get("display") == "none":
        return True
    overflow = {props.get(k) for k in ("overflow", "overflow-x", "overflow-y")}
    if overflow & {"hidden", "clip"}:
        for name in ("height", "max-height", "width", "max-width"):
            size = css.length(props.get(name, "auto"), parent_px)
            if size is not None and size <= 1:
                return True
    if props.get("position") in ("absolute", "fixed"):
        if _ZERO_CLIP.fullmatch(props.get("clip", "")):
            return True
        for name in ("left", "top"):
            offset = css.length(props.get(name, "auto"), parent_px)
            if offset is not None and offset <= _OFFSCREEN_PX:
                return True
    indent = css.length(props.get("text-indent", "0"), parent_px)
    return indent is not None and indent <= _OFFSCREEN_PX


def _opacity(value: str | None) -> float:
    if not value:
        return 1.0
    try:
        number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        return 1.0
    return max(0.0, min(1.0, number))


def _colour(value: str | None, inherited: Colour | None) -> Colour | None:
    if value is None or value in _KEYWORDS_INHERIT:
        return inherited
    if value in _KEYWORDS_RESET:
        return None
    return css.parse_colour(value)  # None (never hidden) when it cannot be read


def _background(props: dict[str, str], parent: Colour | object) -> Colour | object:
    image = props.get("background-image")
    if image is not None and image not in ("none", "initial", "unset", "inherit"):
        return UNKNOWN
    value = props.get("background-color")
    if value is None or value in ("inherit", "unset", "initial", "revert"):
        return parent
    colour = css.parse_colour(value)
    if colour is None:
        return UNKNOWN
    if isinstance(colour, tuple) and colour[3] <= _MIN_OPACITY:
        return parent  # transparent: the ancestor's background shows through
    return css.blend(colour, parent if isinstance(parent, tuple) else None)


class _Filter(HTMLParser):
    """Re-emits the visible part of the document; ``out`` collects it."""

    def __init__(self, sheet: Stylesheet) -> None:
        super().__init__(convert_charrefs=True)
        self.sheet = sheet
        self.out: list[str] = []
        self.stack: list[_Frame] = [_Frame("#root")]
        self.where: dict[str, list[int]] = {}  # tag -> indexes of its open elements
        self.quirks = True

    # --- the cascade --------------------------------------------------------------------

    def _cascade(self, tag: str, attrs: dict[str, str]) -> dict[str, str]:
        ranked: list[tuple[tuple[int, int, tuple[int, int, int], int], str, str]] = []
        ranked.extend(((0, 0, (0, 0, 0), 0), name, value.lower()) for name, value in _hints(attrs))
        ident = attrs.get("id", "").strip().lower() or None
        classes = frozenset(attrs.get("class", "").lower().split())
        for rule in self.sheet.matching(tag, ident, classes):
            for name, value, important in rule.body:
                ranked.append(((int(important), 1, rule.specificity, rule.order), name, value))
        for name, value, important in css.declarations(attrs.get("style", "")):
            ranked.append(((int(important), 2, (0, 0, 0), 0), name, value))
        ranked.sort(key=lambda item: item[0])  # stable: later declarations win ties
        return {name: value for _, name, value in ranked}

    def _child(self, parent: _Frame, tag: str, attrs: dict[str, str]) -> _Frame:
        if parent.removed or tag in _DROPPED:
            return _Frame(tag, removed=True, shows=False)
        if not attrs and tag != "a" and not self.sheet.styles(tag):
            # Nothing declared: everything is inherited (the common case, kept cheap).
            p = parent
            return _Frame(
                tag, False, p.visible, p.font_px, p.opacity, p.colour, p.background, p.shows
            )
        if attrs.get("aria-hidden", "").strip().lower() == "true":
            return _Frame(tag, removed=True, shows=False)
        props = self._cascade(tag, attrs)
        opacity = parent.opacity * _opacity(props.get("opacity"))
        if opacity <= _MIN_OPACITY or _removed(props, parent.font_px):
            return _Frame(tag, removed=True, shows=False)
        visibility = props.get("visibility")
        visible = (
            parent.visible
            if visibility not in ("visible", "hidden", "collapse")
            else (visibility == "visible")
        )
        size = props.get("font-size")
        computed = css.length(size, parent.font_px) if size else None
        font_px = parent.font_px if computed is None else computed
        inherited = None if tag == "a" and "href" in attrs else parent.colour  # link colour
        colour = _colour(props.get("color"), inherited)
        background = _background(props, parent.background)
        behind = background if isinstance(background, tuple | str) else None
        shows = visible and font_px >= _MIN_FONT_PX and not css.indistinct(colour, behind)
        return _Frame(tag, False, visible, font_px, opacity, colour, background, shows)

    # --- the tree -----------------------------------------------------------------------

    def _find(self, targets: frozenset[str], stops: frozenset[str]) -> int | None:
        """Index of the nearest open element in ``targets`` not behind one of ``stops``."""
        where = self.where
        found = max((where[t][-1] for t in targets if where.get(t)), default=None)
        if found is None:
            return None
        stop = max((where[t][-1] for t in stops if where.get(t)), default=-1)
        return found if found > stop else None

    def _push(self, frame: _Frame) -> None:
        self.where.setdefault(frame.tag, []).append(len(self.stack))
        self.stack.append(frame)

    def _close(self, index: int | None) -> None:
        if index is None or index < 1:
            return
        for frame in reversed(self.stack[index:]):
            self.where[frame.tag].pop()
            if not frame.removed:
                self.out.append(f"</{frame.tag}>")
        del self.stack[index:]

    def _in_head(self) -> int | None:
        if not self.where.get("head"):
            return None
        index = self._find(_HEAD, _HEAD_STOPS)
        return index if index is not None and self.stack[-1].tag != "title" else None

    def _implied_end(self, tag: str) -> None:
        if tag == "body" or tag not in _HEAD_CONTENT:
            self._close(self._in_head())
        if tag in _IMPLIED:
            self._close(self._find(*_IMPLIED[tag]))
        if tag in _CLOSES_P or (tag == "table" and not self.quirks):
            self._close(self._find(frozenset({"p"}), _SCOPE | {"button"}))

    # --- parser callbacks ---------------------------------------------------------------

    def handle_decl(self, decl: str) -> None:
        self.quirks = _is_quirks(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._implied_end(tag)
        frame = self._child(self.stack[-1], tag, _attrs(attrs))
        if not frame.removed:
            self.out.append(self.get_starttag_text() or f"<{tag}>")
        if tag not in _VOID:
            self._push(frame)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # "<div/>" opens a div in HTML: the slash only closes void (and foreign) elements.
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("body", "html"):
            return  # browsers keep what follows inside the open elements
        stops = _TABLE_SCOPE if tag in _TABLE_PARTS else _SCOPE
        self._close(self._find(frozenset({tag}), stops))

    def handle_data(self, data: str) -> None:
        if self.stack[-1].tag == "head" and not data.isspace():
            self._close(self._in_head())  # text in <head> belongs to the body
        top = self.stack[-1]
        if top.shows:
            self.out.append(html.escape(data, quote=False))
        elif not top.removed and data.isspace():
            self.out.append(data)
