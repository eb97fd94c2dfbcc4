"""A rendered view as named parts, so a change re-sends only the parts that changed.

The view's HTML is built from *parts*: an element carrying ``data-hm-part="<key>"`` whose
HTML is kept under its key, and which stands in its parent as a placeholder (``\\0key\\0``).
A part may hold parts (the table holds one part per task; the graph's SVG one per node).
:class:`Page` is the top-level HTML with its placeholders plus every part.

:meth:`Page.changes` compares two pages: when the top level is the same it returns, for each
part whose own HTML changed, that part's full HTML (its sub-parts filled in) — and nothing for
parts below a changed one, nor for unchanged ones. An unchanged page gives ``{}``: nothing is
sent. The front end (``live.js``) replaces each element named in the answer by its new HTML.
When the top level changed it returns ``None``: the whole HTML must be sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .render import element

MARK = "\x00"
PART_ATTRIBUTE = "data-hm-part"


@dataclass(frozen=True)
class Page:
    """HTML made of parts (see the module docstring)."""

    skeleton: str
    parts: Mapping[str, str] = field(default_factory=dict)

    @property
    def html(self) -> str:
        """The whole HTML, every placeholder filled in."""
        return self.expand(self.skeleton)

    def expand(self, text: str) -> str:
        """``text`` with its placeholders replaced by their parts (recursively)."""
        if MARK not in text:
            return text
        pieces = text.split(MARK)
        # pieces alternate: text, key, text, key, ..., text
        return "".join(piece if index % 2 == 0 else self.expand(self.parts[piece]) for index, piece in enumerate(pieces))

    def changes(self, before: "Page | None") -> dict[str, str] | None:
        """``{key: full HTML}`` of the outermost parts that differ from ``before``; ``{}`` when
        nothing differs; ``None`` when the top level differs (send :attr:`html` whole)."""
        if before is None or before.skeleton != self.skeleton:
            return None
        changed: dict[str, str] = {}
        pending = [self.skeleton]
        while pending:
            pieces = pending.pop().split(MARK)
            for key in pieces[1::2]:
                mine = self.parts[key]
                if before.parts.get(key) != mine:
                    changed[key] = self.expand(mine)
                else:
                    pending.append(mine)
        return changed


class PageBuilder:
    """Collects the parts of a page while it is rendered."""

    def __init__(self) -> None:
        self.parts: dict[str, str] = {}

    def part(self, key: str, tag: str, content: str = "", **attributes: str | None) -> str:
        """Register ``<tag data-hm-part=key ...>content</tag>`` as part ``key``; returns its
        placeholder, to be put where the element goes."""
        if MARK in key:
            raise ValueError("a part's key cannot hold NUL")
        if key in self.parts:
            raise ValueError(f"two parts named {key!r}")
        self.parts[key] = element(tag, content, data_hm_part=key, **attributes)
        return f"{MARK}{key}{MARK}"

    def page(self, skeleton: str) -> Page:
        return Page(skeleton, dict(self.parts))


__all__ = ["PART_ATTRIBUTE", "Page", "PageBuilder"]
