"""Per-font charset coverage, and the glyphs the renderer draws (the manifest: core/fonts.py).

Coverage is what fonttools' cmap maps *and* what actually renders: a font whose
cmap points a code point at a .notdef-shaped or empty glyph would draw a box or
nothing while the label keeps the character. So a mapped character counts only
if its outline (fonttools' RecordingPen) differs from .notdef's and its raster
has ink (a non-empty bounding box). The rasters are kept: they are the
renderer's glyph cache.
"""

from __future__ import annotations

import copy
import functools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fontTools.pens.recordingPen import RecordingPen
from fontTools.ttLib import TTFont, TTLibError
from PIL import Image, ImageFont

from core.fonts import FontError, FontSpec, load_manifest


@dataclass(frozen=True)
class Glyph:
    """An 8-bit coverage raster placed relative to the pen on the baseline."""

    mask: np.ndarray  # (height, width) uint8
    left: int  # x of the raster's left edge from the pen
    top: int  # y of the raster's top edge from the baseline (negative: above)
    advance: int  # pen movement, rounded like trdg's layout


class Font:
    """A face at the pixel size that fills the line height, with lazily rasterised glyphs.

    ``glyph(char)`` is a pure function of the font and the character (memoised), so which
    fonts can draw a label never depends on what was drawn before: rendering stays deterministic.
    """

    # Characters whose ink spans the usual extent of a text line, top to bottom.
    EXTENT_PROBES = "Hgjy|()[]国永"

    def __init__(self, spec: FontSpec, line_height: int):
        try:
            table = TTFont(spec.path, fontNumber=spec.face, lazy=True)
            self._glyph_names = table.getBestCmap() or {}
            reference = ImageFont.truetype(str(spec.path), size=100, index=spec.face)
        except (OSError, TTLibError, AssertionError, KeyError, ValueError) as error:
            raise FontError(f"{spec.path}: not a readable font (font '{spec.id}'): {error}") from None
        self._table = table
        self.cmap = frozenset(self._glyph_names)
        probes = [c for c in self.EXTENT_PROBES if ord(c) in self.cmap] or ["x"]
        boxes = [reference.getbbox(c, anchor="ls") for c in probes]
        top, bottom = min(b[1] for b in boxes), max(b[3] for b in boxes)
        if bottom <= top:
            raise FontError(f"{spec.path}: draws no ink for {''.join(probes)!r} (font '{spec.id}')")
        self.spec = spec
        self._extent = (top, bottom)  # of the probes' ink at size 100
        self._copies_notdef: dict[str, bool] = {}  # outline verdicts, one per character for all sizes
        self._set_line_height(line_height)

    def _set_line_height(self, line_height: int) -> None:
        top, bottom = self._extent
        self.size = max(4, round(line_height * 100 / (bottom - top)))
        self.line_height = line_height
        self.baseline = round(-top * self.size / 100)  # from the top of the line
        # One character at a time needs no shaping; BASIC skips raqm and is up to 3x faster.
        self.image_font = ImageFont.truetype(
            str(self.spec.path), size=self.size, index=self.spec.face, layout_engine=ImageFont.Layout.BASIC
        )
        self._notdef_shape = _raster(self.image_font, "\U0010fffd")[0].shape  # unmapped: drawn as .notdef
        self._glyphs: dict[str, Glyph | None] = {}
        self._drawable: set[str] = set()  # known answers of glyph(), for the per-sample check
        self._lacking: set[str] = set()

    def at_line_height(self, line_height: int) -> Font:
        """The same face at another size, sharing the parsed font tables; its own glyph cache."""
        resized = copy.copy(self)
        resized._set_line_height(line_height)
        return resized

    def glyph(self, char: str) -> Glyph | None:
        """The character's raster, or None when the font lacks it (unmapped, empty or .notdef)."""
        if char not in self._glyphs:
            glyph = self._rasterise(char) if ord(char) in self.cmap else None
            self._glyphs[char] = glyph
            (self._lacking if glyph is None else self._drawable).add(char)
        return self._glyphs[char]

    def draws(self, text: str) -> bool:
        chars = set(text)
        if chars <= self._drawable:
            return True
        if chars & self._lacking:
            return False
        return all(self.glyph(c) is not None for c in chars)

    def coverage(self, charset: str) -> set[str]:
        return {c for c in charset if self.glyph(c) is not None}

    @functools.cached_property
    def _outlines(self):
        # Parsed only for the rare raster the size of .notdef: a third of a font's load time.
        return self._table.getGlyphSet()

    @functools.cached_property
    def _notdef(self) -> list:
        return self._outline(".notdef")

    def _outline(self, glyph_name: str) -> list:
        pen = RecordingPen()
        try:
            self._outlines[glyph_name].draw(pen)
        except (TTLibError, AssertionError, KeyError, ValueError, struct.error) as error:
            where = f"{self.spec.path}: cannot read the outline of {glyph_name!r} (font '{self.spec.id}')"
            raise FontError(f"{where}: {error}") from None
        return pen.value

    def _rasterise(self, char: str) -> Glyph | None:
        name = self._glyph_names[ord(char)]
        if name == ".notdef":
            return None
        mask, left, top = _raster(self.image_font, char)
        if char.isspace() != (not mask.any()):  # spaces must be blank, everything else must show ink
            return None
        # Comparing outlines costs ~0.4 ms; only a raster of .notdef's size can be a copy of it,
        # and the verdict holds at every size (at_line_height copies share it).
        if all(abs(a - b) <= 1 for a, b in zip(mask.shape, self._notdef_shape)):
            if char not in self._copies_notdef:
                self._copies_notdef[char] = self._outline(name) == self._notdef
            if self._copies_notdef[char]:
                return None
        # trdg places each character at round(getlength(char)); so do we.
        return Glyph(mask, left, top, round(self.image_font.getlength(char)))


def _raster(image_font: ImageFont.FreeTypeFont, char: str) -> tuple[np.ndarray, int, int]:
    mask, (left, top) = image_font.getmask2(char, mode="L", anchor="ls")
    # Wrapped as an Image, numpy reads the raster in one copy; a bare core object goes pixel by pixel.
    return np.array(Image.Image()._new(mask)), left, top


def load_fonts(manifest: Path, exclude: list[str], charset: str, line_height: int) -> list[Font]:
    """The manifest's fonts; every charset character must be mapped by at least one of them."""
    fonts = [Font(spec, line_height) for spec in load_manifest(manifest, exclude)]
    codes = {ord(c) for c in charset}
    for font in fonts:
        if not font.cmap & codes:
            raise FontError(f"{font.spec.path}: covers none of the charset (font '{font.spec.id}')")
    mapped = set().union(*(font.cmap for font in fonts))
    unmapped = sorted(c for c in charset if ord(c) not in mapped)
    if unmapped:
        raise FontError(f"{manifest}: no font has {len(unmapped)} charset character(s): {' '.join(unmapped[:40])}")
    return fonts


def coverage_report(fonts: list[Font], charset: str) -> str:
    """A table of how much of the charset each font covers, by script."""
    groups = {
        "hanzi": [c for c in charset if "\u4e00" <= c <= "\u9fff"],
        "ascii": [c for c in charset if c < "\x7f"],
        "other": [c for c in charset if not ("\u4e00" <= c <= "\u9fff" or c < "\x7f")],
    }
    header = f"{'font':24} {'all':>13} " + " ".join(f"{name:>11}" for name in groups) + "  file"
    lines = [header, "-" * len(header)]
    for font in fonts:
        covered = font.coverage(charset)
        if not covered:
            raise FontError(f"{font.spec.path}: covers none of the charset (font '{font.spec.id}')")
        cells = [f"{len(covered):5d} {100 * len(covered) / len(charset):6.1f}%"]
        for members in groups.values():
            have = sum(c in covered for c in members)
            cells.append(f"{have:5d}/{len(members):<5d}")
        lines.append(f"{font.spec.id:24} {cells[0]:>13} " + " ".join(cells[1:]) + f"  {font.spec.path.name}")
    lines.append(f"charset: {len(charset)} characters")
    return "\n".join(lines)
