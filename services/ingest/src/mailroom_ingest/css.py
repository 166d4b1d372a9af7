"""Just enough CSS to tell whether text is visible: declarations, colours, simple rules.

Used by :mod:`mailroom_ingest.visible`. Not a CSS engine: a stylesheet rule counts only
when its selector is one compound of a tag name, an ``#id`` and ``.class`` names (``.x``,
``p.note``, ``#promo``, ``td.a.b``; lists like ``.a, .b`` too); rules with combinators,
pseudo-classes or attribute selectors, and everything inside at-rules (``@media``...),
are ignored.

Pure functions; no I/O.
"""

from __future__ import annotations

import colorsys
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "UNKNOWN",
    "Colour",
    "Declaration",
    "Rule",
    "Stylesheet",
    "blend",
    "declarations",
    "indistinct",
    "length",
    "parse_colour",
]

# (red, green, blue) in 0-255 and alpha in 0-1; a str is a colour name this module does
# not know (two equal names still compare equal).
Colour = tuple[float, float, float, float] | str
Declaration = tuple[str, str, bool]  # property (lower case), value, !important


class _Unknown:
    """A background that cannot be told (an image, a gradient, ``var(...)``)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()

_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\n\r\f]?|\\(.)", re.DOTALL)
_IMPORTANT = re.compile(r"!\s*important\s*$", re.IGNORECASE)
_AT_STATEMENT = re.compile(r"@[^{};]*;")
_BRACE = re.compile(r"[{}]")
_SELECTOR = re.compile(r"([a-z][a-z0-9-]*)?((?:[.#][-\w]+)*)", re.IGNORECASE)
_NUMBER_UNIT = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))([a-z%]*)", re.IGNORECASE)
_FUNCTION = re.compile(r"(rgba?|hsla?)\((.*)\)")
_IDENT = re.compile(r"[a-z][a-z-]*")
_NOT_COLOURS = frozenset(
    {"inherit", "initial", "unset", "revert", "currentcolor", "none", "auto", "transparent"}
)


def _rgb(hex6: str) -> tuple[float, float, float]:
    return (float(int(hex6[0:2], 16)), float(int(hex6[2:4], 16)), float(int(hex6[4:6], 16)))


_NAME_TABLE = (
    "white:ffffff black:000000 red:ff0000 green:008000 blue:0000ff yellow:ffff00 "
    "cyan:00ffff aqua:00ffff magenta:ff00ff fuchsia:ff00ff gray:808080 grey:808080 "
    "silver:c0c0c0 maroon:800000 olive:808000 lime:00ff00 teal:008080 navy:000080 "
    "purple:800080 orange:ffa500 snow:fffafa ivory:fffff0 whitesmoke:f5f5f5 "
    "ghostwhite:f8f8ff floralwhite:fffaf0 azure:f0ffff mintcream:f5fffa "
    "aliceblue:f0f8ff seashell:fff5ee honeydew:f0fff0 lavenderblush:fff0f5 "
    "linen:faf0e6 oldlace:fdf5e6 beige:f5f5dc cornsilk:fff8dc lightgray:d3d3d3 "
    "lightgrey:d3d3d3 gainsboro:dcdcdc darkgray:a9a9a9 darkgrey:a9a9a9 "
    "dimgray:696969 dimgrey:696969"
)
_NAMED = {name: _rgb(hex6) for name, hex6 in (p.split(":") for p in _NAME_TABLE.split())}
# Colours closer than this in every channel (0-255) read as one: #f6f6f6 text on white
# is as unreadable as #ffffff.
_SAME_COLOUR = 10.0
_MAX_RULES = 5000


def _unescape_one(match: re.Match[str]) -> str:
    if match.group(2) is not None:
        return match.group(2)
    code = int(match.group(1), 16)
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"


def _plain(css: str) -> str:
    """Comments removed and backslash escapes decoded (``\\6e one`` is ``none``)."""
    return _ESCAPE.sub(_unescape_one, _COMMENT.sub(" ", css))


def declarations(css: str) -> list[Declaration]:
    """``name: value`` pairs of a ``style`` attribute or a rule body, in order.

    The ``background`` shorthand becomes ``background-color`` and ``background-image``
    (it resets both), so the cascade can treat them as the longhands they are.
    """
    out: list[Declaration] = []
    for chunk in _plain(css).split(";"):
        name, colon, value = chunk.partition(":")
        name, value = name.strip().lower(), value.strip()
        important = bool(_IMPORTANT.search(value))
        value = _IMPORTANT.sub("", value).strip().lower()
        if not colon or not name or not value:
            continue
        if name == "background":
            out.append(("background-image", _shorthand_image(value), important))
            out.append(("background-color", _shorthand_colour(value), important))
        else:
            out.append((name, value, important))
    return out


def _shorthand_image(value: str) -> str:
    return "url" if "url(" in value or "gradient(" in value or "image(" in value else "none"


def _shorthand_colour(value: str) -> str:
    tokens: list[str] = re.findall(r"[a-z-]+\([^)]*\)|[^\s,/]+", value)
    for token in tokens:
        if isinstance(parse_colour(token), tuple):
            return token
    if len(tokens) == 1 and _IDENT.fullmatch(tokens[0]):
        return tokens[0]  # ``inherit``, or a colour name not in the table
    return "var()" if "var(" in value else "transparent"


def _channel(token: str, scale: float) -> float | None:
    try:
        if token.endswith("%"):
            return max(0.0, min(scale, float(token[:-1]) * scale / 100))
        return max(0.0, min(scale, float(token)))
    except ValueError:
        return None


def _function_colour(kind: str, args: str) -> Colour | None:
    parts = [p for p in re.split(r"[\s,/]+", args.strip()) if p]
    if len(parts) not in (3, 4):
        return None
    alpha = _channel(parts[3], 1.0) if len(parts) == 4 else 1.0
    if alpha is None:
        return None
    if kind.startswith("rgb"):
        rgb = [_channel(p, 255.0) for p in parts[:3]]
        if any(c is None for c in rgb):
            return None
        return (rgb[0] or 0.0, rgb[1] or 0.0, rgb[2] or 0.0, alpha)
    hue = _channel(parts[0].removesuffix("deg"), 1e9)
    sat, light = _channel(parts[1], 1.0), _channel(parts[2], 1.0)
    if hue is None or sat is None or light is None:
        return None
    r, g, b = colorsys.hls_to_rgb((hue % 360) / 360, light, sat)
    return (r * 255, g * 255, b * 255, alpha)


def _hex_colour(digits: str) -> Colour | None:
    if not re.fullmatch(r"[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8}", digits):
        return None
    if len(digits) <= 4:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
    alpha = channels[3] / 255 if len(channels) == 4 else 1.0
    return (float(channels[0]), float(channels[1]), float(channels[2]), alpha)


def parse_colour(value: str) -> Colour | None:
    """A CSS or HTML colour; None for anything that is not one (``inherit`` included)."""
    v = value.strip().lower()
    found: Colour | None = None
    if v == "transparent":
        found = (0.0, 0.0, 0.0, 0.0)
    elif v in _NAMED:
        found = (*_NAMED[v], 1.0)
    elif v.startswith("#") or re.fullmatch(r"[0-9a-f]{6}", v):  # bgcolor="ffffff" works too
        found = _hex_colour(v.lstrip("#"))
    elif match := _FUNCTION.fullmatch(v):
        found = _function_colour(match.group(1), match.group(2))
    elif _IDENT.fullmatch(v) and v not in _NOT_COLOURS:
        found = v
    return found


def blend(colour: Colour, under: Colour | None) -> Colour:
    """``colour`` painted over ``under`` (its alpha applied), opaque when it can be told."""
    if isinstance(colour, str) or colour[3] >= 1 or not isinstance(under, tuple):
        return colour
    a = colour[3]
    r, g, b = (colour[i] * a + under[i] * (1 - a) for i in range(3))
    return (r, g, b, 1.0)


def indistinct(text: Colour | None, background: Colour | _Unknown | None) -> bool:
    """Whether text of colour ``text`` cannot be read on ``background``.

    Fully transparent text is unreadable anywhere; otherwise both colours must be known
    and equal (names) or within ``_SAME_COLOUR`` in every channel once blended.
    """
    if isinstance(text, tuple) and text[3] <= 0.05:
        return True
    if text is None or background is None or isinstance(background, _Unknown):
        return False
    if isinstance(text, str) or isinstance(background, str):
        return text == background
    seen = blend(text, background)
    return isinstance(seen, tuple) and all(
        abs(seen[i] - background[i]) <= _SAME_COLOUR for i in range(3)
    )


# px per unit; em, % and the like are relative to the parent's size (ex and ch taken as
# half an em), rem to the 16 px root.
_UNIT_PX = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}
_UNIT_RELATIVE = {"em": 1.0, "%": 0.01, "ex": 0.5, "ch": 0.5}
_KEYWORD_PX = {
    "xx-small": 9.0,
    "x-small": 10.0,
    "small": 13.0,
    "medium": 16.0,
    "large": 18.0,
    "x-large": 24.0,
    "xx-large": 32.0,
    "xxx-large": 48.0,
}


def length(value: str, parent_px: float) -> float | None:
    """A length (or ``font-size`` value) in px; em and % are relative to ``parent_px``.

    None when it cannot be told (``calc()``, viewport units, ``inherit``).
    """
    v = value.strip().lower()
    if v in _KEYWORD_PX:
        return _KEYWORD_PX[v]
    if v in ("smaller", "larger"):
        return parent_px / 1.2 if v == "smaller" else parent_px * 1.2
    match = _NUMBER_UNIT.fullmatch(v)
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    if number == 0:
        result: float | None = 0.0
    elif unit in _UNIT_PX:
        result = number * _UNIT_PX[unit]
    elif unit in _UNIT_RELATIVE:
        result = number * _UNIT_RELATIVE[unit] * parent_px
    else:
        result = number * 16.0 if unit == "rem" else None
    return result


@dataclass(frozen=True, slots=True)
class Rule:
    """One simple selector's rule: what it needs to match, and its declarations."""

    tag: str | None
    ident: str | None
    classes: frozenset[str]
    specificity: tuple[int, int, int]
    order: int
    body: tuple[Declaration, ...]

    def matches(self, tag: str, ident: str | None, classes: frozenset[str]) -> bool:
        return (
            (self.tag is None or self.tag == tag)
            and (self.ident is None or self.ident == ident)
            and self.classes <= classes
        )


class Stylesheet:
    """The simple rules of a mail's ``<style>`` blocks, indexed by tag, id or class."""

    def __init__(self) -> None:
        self._index: dict[str, list[Rule]] = {}
        self._count = 0

    def add(self, css: str) -> None:
        css = _AT_STATEMENT.sub(" ", _COMMENT.sub(" ", css).replace("<!--", " "))
        for prelude, body in _blocks(css.replace("-->", " ")):
            if prelude.startswith("@"):
                continue  # @media, @font-face, @supports...: not applied
            decls = tuple(declarations(body))
            for selector in prelude.split(","):
                if decls and self._count < _MAX_RULES:
                    self._add_selector(_plain(selector).strip(), decls)

    def _add_selector(self, selector: str, body: tuple[Declaration, ...]) -> None:
        match = _SELECTOR.fullmatch(selector)
        if not selector or not match:
            return
        tag = match.group(1).lower() if match.group(1) else None
        parts = re.findall(r"[.#][-\w]+", match.group(2))
        ids = {p[1:].lower() for p in parts if p[0] == "#"}
        classes = frozenset(p[1:].lower() for p in parts if p[0] == ".")
        if len(ids) > 1:
            return
        ident = next(iter(ids), None)
        specificity = (len(ids), len(classes), 1 if tag else 0)
        rule = Rule(tag, ident, classes, specificity, self._count, body)
        key = f"#{ident}" if ident else f".{min(classes)}" if classes else tag or ""
        self._index.setdefault(key, []).append(rule)
        self._count += 1

    def styles(self, tag: str) -> bool:
        """Whether a rule names this tag alone (``p { ... }``)."""
        return tag in self._index

    def matching(self, tag: str, ident: str | None, classes: frozenset[str]) -> Iterator[Rule]:
        """Rules that apply to an element (lower-case tag, id and class names)."""
        if not self._index:
            return
        keys = {tag, *(f".{c}" for c in classes)}
        if ident:
            keys.add(f"#{ident}")
        for key in keys:
            for rule in self._index.get(key, ()):
                if rule.matches(tag, ident, classes):
                    yield rule


def _blocks(css: str) -> Iterator[tuple[str, str]]:
    """Top-level ``prelude { body }`` pairs; a nested block stays inside its body."""
    depth, prelude_at, body_at, prelude = 0, 0, 0, ""
    for brace in _BRACE.finditer(css):
        if brace.group() == "{":
            depth += 1
            if depth == 1:
                prelude, body_at = css[prelude_at : brace.start()], brace.end()
        elif depth:
            depth -= 1
            if depth == 0:
                yield prelude.strip(), css[body_at : brace.start()]
                prelude_at = brace.end()
        else:
            prelude_at = brace.end()  # a stray "}"
