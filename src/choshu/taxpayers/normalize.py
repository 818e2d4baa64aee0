"""Normalised search keys. Only the ``search_*`` columns use these; stored names stay as received."""

from __future__ import annotations

import re
import unicodedata

import jaconv

_SPACES = re.compile(r"[\s\u3000]+")
_DASHES = re.compile(r"[‐‑‒–—―−ｰ－ー]")  # dash-like characters in addresses (after NFKC)
_NON_DIGITS = re.compile(r"\D")


_FULL_WIDTH_KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc\s\u3000]*")


def kana_key(text: str) -> str:
    """Full-width katakana, no spaces: ｶﾜｸﾞﾁ, かわぐち and カワグチ all give カワグチ."""
    if _FULL_WIDTH_KATAKANA.fullmatch(text):  # already full-width katakana (most names): nothing to convert
        return _SPACES.sub("", text)
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)
    text = jaconv.hira2kata(text)
    return _SPACES.sub("", text).upper()


def name_key(text: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", text))


def address_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _DASHES.sub("-", text)
    return _SPACES.sub("", text)


def phone_key(text: str) -> str:
    return _NON_DIGITS.sub("", unicodedata.normalize("NFKC", text))
