"""The label font: Source Sans Pro, embedded in every PDF (labels, calendar, worksheet).

SPEC 5.8 wants every Latin letter (Vietnamese, Polish, Turkish and other extended Latin), Greek
and Cyrillic in PDF and ZPL. reportlab's standard fonts stop at Windows-1252, so the PDFs embed a
TrueType font instead. It comes from the ``font-source-sans-pro`` wheel on PyPI (a runtime
dependency in ``pyproject.toml``, so ``pip install .`` and ``make install`` both bring it; the
font is not committed here): static Regular and Bold TrueType files under the SIL Open Font
License, covering Latin Extended (Vietnamese included), Greek and Cyrillic. reportlab subsets it,
so a PDF carries only the glyphs it uses.

``missing_glyphs`` tells which characters the font cannot draw: order entry refuses them before an
order is accepted (SPEC 5.8), and the renderers refuse them rather than print a blank box.
"""

from __future__ import annotations

from functools import lru_cache

import font_source_sans_pro
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "LabelSans"
FONT_BOLD = "LabelSans-Bold"
FONT_FILES = {
    FONT: font_source_sans_pro.font_files_ttf["SourceSansPro"],
    FONT_BOLD: font_source_sans_pro.font_files_ttf["SourceSansProBold"],
}
# Source Sans Pro's typographic ascender and descender (em / 1000 = 750 / 250).
ASCENT = 0.75
DESCENT = 0.25


def register() -> None:
    """Register the label fonts with reportlab (once per process)."""
    _register()


@lru_cache(maxsize=1)
def _register() -> frozenset[int]:
    """Load both fonts; return the code points both can draw."""
    charsets = []
    for name, path in FONT_FILES.items():
        font = TTFont(name, path)
        pdfmetrics.registerFont(font)
        charsets.append(frozenset(font.face.charToGlyph))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)
    return charsets[0] & charsets[1]


def drawable() -> frozenset[int]:
    """Return the code points the label fonts (regular and bold) can draw."""
    return _register()


def missing_glyphs(text: str) -> list[str]:
    """Return the characters of ``text`` the label fonts cannot draw, each once, in order."""
    known = _register()
    seen: list[str] = []
    for char in text:
        if char not in seen and ord(char) not in known and char not in "\n\t":
            seen.append(char)
    return seen


register()
