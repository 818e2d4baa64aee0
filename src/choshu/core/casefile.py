"""Sections other apps add to the case file (issue 19 §5), so that ``cases`` never imports upward.

A section is a function ``(request, case) -> str`` (HTML, already escaped by the app's template)
registered under a key in the app's ``AppConfig.ready``; the case file renders every registered
section in order after its own. A section writes its own access record when it shows data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Section", "register_section", "sections"]

Section = Callable[[Any, Any], str]
_REGISTRY: dict[str, tuple[int, Section]] = {}


def register_section(key: str, fn: Section, *, order: int = 100) -> None:
    """Register (or replace, on a second ``ready``) the case file section ``key``."""
    _REGISTRY[key] = (order, fn)


def sections() -> list[Section]:
    return [fn for _, (_, fn) in sorted(_REGISTRY.items(), key=lambda kv: (kv[1][0], kv[0]))]
