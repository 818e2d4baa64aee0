"""The one Japanese font every PDF the system writes uses, embedded (issue 13 §6).

IPAex Gothic is vendored in ``fonts/`` (IPA Font License v1.0). It is registered once per process
with reportlab's ``TTFont``; reportlab embeds only the glyphs a document uses (a subset,
``/FontFile2``), so a 領収証書, 納付書 or 開示請求 PDF prints the same on any reader or printer. A CID
font such as HeiseiKakuGo-W5 is only *named*, never embedded, and a reader without it shows nothing
useful — do not use one.

``new_canvas`` starts every document with this font as the initial font, so no standard (unembedded)
Type 1 font such as Helvetica is ever referenced.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_NAME = "IPAexGothic"
FONT_PATH = Path(__file__).resolve().parent / "fonts" / "ipaexg.ttf"
CREATOR = "choshu（収納管理システム）"
_register_lock = threading.Lock()


def register_font() -> str:
    """Register IPAex Gothic with reportlab (once per process) and return its name."""
    with _register_lock:
        if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_PATH)))
    return FONT_NAME


def new_canvas(
    out: io.BytesIO, *, title: str, author: str, pagesize: tuple[float, float] = A4
) -> canvas.Canvas:
    """A compressed canvas whose only font is the embedded IPAex Gothic, with Japanese metadata."""
    font = register_font()
    c = canvas.Canvas(out, pagesize=pagesize, pageCompression=1, initialFontName=font)
    c.setTitle(title)
    c.setAuthor(author)
    c.setCreator(CREATOR)
    return c


def text_width(text: str, size: float) -> float:
    """Width in points of ``text`` set in the embedded font at ``size``."""
    return pdfmetrics.stringWidth(text, register_font(), size)


def wrap(text: str, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` points (character by character: Japanese
    has no spaces to break at; a line never loses its tail, unlike cutting it off)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for ch in paragraph:
            if line and text_width(line + ch, size) > width:
                lines.append(line)
                line = ch
            else:
                line += ch
        lines.append(line)
    return lines


def draw_text(c: canvas.Canvas, size: float, x: float, y: float, text: str, *, right: bool = False) -> None:
    """One line of ``text`` in the embedded font at ``size``, left-aligned at ``x`` (right-aligned with
    ``right``)."""
    c.setFont(FONT_NAME, size)
    (c.drawRightString if right else c.drawString)(x, y, text)


def draw_para(
    c: canvas.Canvas, size: float, x: float, y: float, text: str, width: float, lead: float
) -> float:
    """``text`` wrapped to ``width`` (``wrap``) from ``y`` downwards, ``lead`` apart; the next line's ``y``."""
    for line in wrap(text, size, width):
        draw_text(c, size, x, y, line)
        y -= lead
    return y
