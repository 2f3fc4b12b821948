"""Captions from templates, and their exact inverse.

The vocabularies of shapes, object colors, background colors, sizes and styles are disjoint, so
every attribute is recovered from the words of a caption alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from semdistill.data.world.attributes import CATEGORICAL

TEMPLATES = (
    "a {size} {color} {shape} on a {background} background",
    "a {color} {shape}, {size}, on {background}",
    "a {size} {shape} in {color} over a {background} background",
)
_WORD = re.compile(r"[a-z]+")


def caption(attrs: Mapping[str, Any]) -> str:
    """The caption of one item (its ``template`` picks the wording; non-flat styles are named)."""
    text = TEMPLATES[int(attrs.get("template", 0)) % len(TEMPLATES)].format(**attrs)
    style = attrs.get("style", "flat")
    return text if style == "flat" else f"{text}, in {style} style"


_LOOKUP = {word: key for key, names in CATEGORICAL.items() for word in names}


def parse_caption(text: str) -> dict[str, str]:
    """Attributes named in a caption or prompt: {"shape": ..., "color": ..., ...}.

    Unknown words (e.g. a metaword token) are ignored; attributes not named are absent, except
    that a caption naming no style is flat.
    """
    out: dict[str, str] = {}
    for word in _WORD.findall(text.lower()):
        key = _LOOKUP.get(word)
        if key is not None and key not in out:
            out[key] = word
    out.setdefault("style", "flat")
    return out
