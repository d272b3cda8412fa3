"""Labelled text-line images: trdg's layout and effects, drawn from a glyph cache.

trdg draws a line character by character (for character spacing), asking
FreeType for every glyph of every image and loading the font file per image;
that is what makes it slow (~66 img/s per core on a plain background). This
renderer keeps trdg's model of a line (each character at the rounded advance of
the one before, plus the spacing; skew with expansion, then resize to the height
less the margins; trdg's background kinds; blur last) but rasterises each glyph
once per process (synth/fonts.py) and composes lines with numpy and OpenCV.

Beyond trdg: the text is drawn at a size of its own (params render.text_sizes)
and the finished line resampled to the model height; the text can be condensed,
widened or slanted like faces the fonts lack; the whole line can be turned with
its background (a tilted crop), pulled into light perspective, underlined or
ruled, given a drop shadow or an outline, printed faintly and saved as JPEG.

Order of effects: text at its size -> width scale -> slant -> distortion -> skew
(text only) -> margins -> rule -> background and colour -> shadow or outline ->
rotation (whole line) -> perspective -> blur -> resize to the height -> JPEG ->
light-on-dark inversion.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from core.charset import build_charset
from core.errors import InputError
from core.params import Params, Render
from core.shards import Sample
from synth.backgrounds import BackgroundPool
from synth.corpus import Corpus
from synth.fonts import Font, load_fonts


class RenderError(InputError):
    """A line that cannot be drawn (no font has all its characters); the message names the label."""


def compose(text: str, font: Font, spacing: int) -> np.ndarray:
    """The text's ink as an 8-bit coverage image of the font's line height."""
    pen, left, right, placed = 0, 0, 0, []
    for char in text:
        glyph = font.glyph(char)
        x = pen + glyph.left
        placed.append((x, font.baseline + glyph.top, glyph.mask))
        left, right = min(left, x), max(right, x + glyph.mask.shape[1])
        pen += glyph.advance + spacing
    right = max(right, pen - spacing)
    ink = np.zeros((font.line_height, right - left), np.uint8)
    for x, y, mask in placed:
        x -= left
        top, bottom = max(y, 0), min(y + mask.shape[0], font.line_height)  # clip the rare tall glyph
        if bottom > top and mask.shape[1]:
            window = ink[top:bottom, x : x + mask.shape[1]]
            np.maximum(window, mask[top - y : bottom - y], out=window)
    return ink


def slant(ink: np.ndarray, degrees: float) -> np.ndarray:
    """Shear like an oblique face: positive degrees lean the top right, negative left; the
    canvas widens to keep all the ink."""
    shear = math.tan(math.radians(degrees))
    height, width = ink.shape
    # x' = x + shear * (height - 1 - y) leaning right (the bottom row stays), x + |shear| * y
    # leaning left (the top row stays)
    matrix = np.float32([[1, -shear, max(shear, 0) * (height - 1)], [0, 1, 0]])
    size = (width + math.ceil(abs(shear) * height), height)
    return cv2.warpAffine(ink, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0)


def stretch(ink: np.ndarray, factor: float) -> np.ndarray:
    """Condense (factor < 1) or widen the text, its height kept."""
    width = max(1, round(ink.shape[1] * factor))
    return cv2.resize(ink, (width, ink.shape[0]), interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)


def distort(ink: np.ndarray, rng: np.random.Generator, amplitude: float) -> tuple[np.ndarray, str]:
    """Shift columns up and down along a sine wave or a smooth random curve (trdg's distortions)."""
    pad = math.ceil(amplitude)
    height, width = ink.shape
    ink = cv2.copyMakeBorder(ink, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=0)
    columns = np.arange(width, dtype=np.float32)
    kind = "sine" if rng.random() < 0.5 else "random"
    if kind == "sine":
        period = rng.uniform(1.5, 6) * height
        offsets = amplitude * np.sin(2 * np.pi * columns / period + rng.uniform(0, 2 * np.pi))
    else:
        knots = np.arange(0, width + 8, 8)
        offsets = np.interp(columns, knots, rng.uniform(-amplitude, amplitude, len(knots)))
    map_x = np.broadcast_to(columns, ink.shape).astype(np.float32)
    map_y = (np.arange(ink.shape[0], dtype=np.float32)[:, None] + offsets[None, :]).astype(np.float32)
    return cv2.remap(ink, map_x, map_y, cv2.INTER_LINEAR, borderValue=0), kind


def rotate(ink: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre, expanding the canvas so nothing is cut (PIL's expand=1)."""
    height, width = ink.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width, new_height = math.ceil(width * cos + height * sin), math.ceil(width * sin + height * cos)
    matrix[0, 2] += new_width / 2 - width / 2
    matrix[1, 2] += new_height / 2 - height / 2
    return cv2.warpAffine(ink, matrix, (new_width, new_height), flags=cv2.INTER_LINEAR, borderValue=0)


def resize_to_height(image: np.ndarray, height: int) -> np.ndarray:
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    # Area averaging only where bilinear would alias (shrinking by more than a quarter); it is 3x slower.
    interpolation = cv2.INTER_AREA if height < 0.75 * image.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def luminance(rgb) -> float:
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def pull_corners(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Light perspective: each corner pulled inwards by up to strength x height (nothing leaves the frame)."""
    height, width = image.shape[:2]
    pull = strength * height
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    inwards = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    moved = corners + inwards * rng.uniform(0, pull, (4, 2)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, moved)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def blend(background: np.ndarray, coverage: np.ndarray, colour) -> np.ndarray:
    """background * (1 - coverage) + colour * coverage, in 8-bit OpenCV arithmetic."""
    alpha = cv2.merge([coverage, coverage, coverage])
    return cv2.add(
        cv2.multiply(background, 255 - alpha, scale=1 / 255),
        cv2.multiply(alpha, (*map(float, colour), 0.0), scale=1 / 255),  # a scalar per channel
    )


def outline(ink: np.ndarray, width: float) -> np.ndarray:
    """The ink grown by a stroke `width` px wide (fractions blend two whole widths)."""

    def grown(radius: int) -> np.ndarray:
        return cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))

    share = width - math.floor(width)
    return cv2.addWeighted(grown(math.floor(width)), 1 - share, grown(math.ceil(width)), share, 0)


def shifted(ink: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The ink moved by (dx, dy) px, what leaves the frame cut off."""
    move = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(ink, move, (ink.shape[1], ink.shape[0]), flags=cv2.INTER_LINEAR, borderValue=0)


def shadow_or_outline(text: np.ndarray, colour, paper: float, rng: np.random.Generator, p: Render, scale: float):
    """What lies under the text, half the time each: (its coverage, its colour, the style entry).

    A shadow is dark and partly transparent (a light one on light-on-dark lines, once inverted);
    an outline takes the text's colour (faux bold) or the paper's side of it (a halo).
    """
    if rng.random() < 0.5:
        angle, distance = rng.uniform(0, 2 * math.pi), rng.uniform(p.shadow_offset.min, p.shadow_offset.max) * scale
        dx, dy = round(distance * math.cos(angle), 2), round(distance * math.sin(angle), 2)
        opacity = round(float(rng.uniform(0.3, 0.8)), 2)
        softness = round(float(rng.uniform(0.3, 1.0) * scale), 2) if rng.random() < 0.5 else 0.0  # crisp or soft
        under = shifted(text, dx, dy)
        if softness:
            under = cv2.GaussianBlur(under, (0, 0), softness)
        shade = np.full(3, rng.integers(0, 60))
        style = {"kind": "shadow", "dx": dx, "dy": dy, "opacity": opacity, "softness": softness}
        return (under * opacity).astype(np.uint8), shade, style | {"colour": [int(c) for c in shade]}
    width = round(float(rng.uniform(p.outline_width.min, p.outline_width.max) * scale), 2)
    if rng.random() < 0.5:  # a stroke in the text's own colour: faux bold
        stroke = np.asarray(colour)
    else:  # a halo on the paper's side of the text: light around darker text, dark around lighter
        darker_text = float(luminance(colour)) < paper
        stroke = np.full(3, rng.integers(200, 256) if darker_text else rng.integers(0, 56))
    return outline(text, width), stroke, {"kind": "outline", "width": width, "colour": [int(c) for c in stroke]}


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """The RGB image after a round trip through JPEG at `quality`."""
    _, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


class Renderer:
    """Everything one process needs to render: charset, fonts with their glyph caches, corpus, textures."""

    def __init__(self, params: Params):
        self.params = params
        self.charset = build_charset(params.charset)
        self.fonts = load_fonts(params.fonts.manifest, params.fonts.exclude, self.charset, params.render.height)
        self._sized_fonts: dict[int, list[Font]] = {params.render.height: self.fonts}
        self.corpus = Corpus(params.corpus, self.charset)
        self.backgrounds = BackgroundPool(params.render.backgrounds, params.render.height, params.seed)

    def sample(self, seed: int, index: int) -> Sample:
        """Sample `index` of the stream `seed`: depends on nothing else, so shards are reproducible."""
        rng = np.random.default_rng([seed, index])
        label, source = self.corpus.sample(rng)
        return self.draw(label, rng, source)

    def font_for(self, label: str, rng: np.random.Generator, size: int) -> Font:
        """A uniform choice among the fonts that draw every character of label, at `size` px.

        Coverage is decided at the render height (the first font of a random order that draws
        the label); a glyph that rasterises empty at a small size keeps the font at that height.
        """
        for i in rng.permutation(len(self.fonts)):
            if self.fonts[i].draws(label):
                if size not in self._sized_fonts:
                    self._sized_fonts[size] = [font.at_line_height(size) for font in self.fonts]
                sized = self._sized_fonts[size][i]
                return sized if sized.draws(label) else self.fonts[i]
        nowhere = sorted({c for c in label if not any(f.glyph(c) for f in self.fonts)})
        why = f"no font has {nowhere}" if nowhere else "each character has a font, but no one font has them all"
        raise RenderError(f"cannot draw {label!r}: {why}")

    def draw(self, label: str, rng: np.random.Generator, source: str = "given") -> Sample:
        p = self.params.render
        font = self.font_for(label, rng, int(rng.choice(p.text_sizes)) if p.text_sizes else p.height)
        scale = font.line_height / 32  # lengths in params are pixels at 32 px text
        style: dict = {"size": font.line_height}
        style["spacing"] = round(int(rng.integers(p.character_spacing.min, p.character_spacing.max + 1)) * scale)
        ink = compose(label, font, style["spacing"])

        # A style at probability 0 takes nothing from the random stream: the draws after it
        # stay those of params written before it existed.
        style["width_scale"] = 1.0
        if p.width_scale_probability and rng.random() < p.width_scale_probability:
            style["width_scale"] = round(float(rng.uniform(p.width_scale.min, p.width_scale.max)), 2)
            ink = stretch(ink, style["width_scale"])
        style["slant"] = 0.0
        if p.slant_probability and rng.random() < p.slant_probability:
            style["slant"] = round(float(rng.uniform(-0.25, 1) * p.slant_degrees), 1)
            ink = slant(ink, style["slant"])

        style["distortion"] = None
        if rng.random() < p.distortion_probability:
            ink, style["distortion"] = distort(ink, rng, p.distortion_amplitude * scale)
        style["skew"] = 0.0
        if rng.random() < p.skew_probability:
            style["skew"] = round(float(rng.uniform(-p.skew_degrees, p.skew_degrees)), 2)
            ink = rotate(ink, style["skew"])

        top, bottom = (round(int(v) * scale) for v in rng.integers(p.margin_vertical.min, p.margin_vertical.max + 1, 2))
        left, right = (round(int(v) * scale) for v in rng.integers(p.margin_horizontal.min, p.margin_horizontal.max + 1, 2))  # fmt: skip
        style["margins"] = [top, left, bottom, right]
        style["rotation"] = 0.0
        if rng.random() < p.rotate_probability:
            style["rotation"] = round(float(rng.uniform(-p.rotate_degrees, p.rotate_degrees)), 2)
        # A tilted crop of a page: room above and below for the ends of the line once turned.
        width = ink.shape[1] + left + right
        room = math.ceil(abs(math.tan(math.radians(style["rotation"]))) * width / 2)
        top, bottom = top + room, bottom + room
        height = ink.shape[0] + top + bottom

        # The ink, and any rule, as coverage over the whole line, laid over the background at once.
        alpha = np.zeros((height, width), np.uint8)
        alpha[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
        text = alpha.copy()  # a shadow or an outline follows the text, not a rule
        style["rule"] = None
        if rng.random() < p.rule_probability:
            style["rule"] = str(rng.choice(["underline", "above", "below"]))
            thickness = max(1, round(rng.uniform(0.6, 2.0) * scale))
            if style["rule"] == "underline":
                y, x0, x1 = top + font.baseline + round(rng.uniform(0.06, 0.16) * font.line_height), left, left + ink.shape[1]
            else:  # a table's rule: the whole width, in the margin or just clear of the text
                gap = round(rng.uniform(0, 3) * scale)
                y = max(0, top - gap - thickness) if style["rule"] == "above" else min(height - 1, top + ink.shape[0] + gap)
                x0, x1 = 0, width
            strength = int(rng.integers(140, 256))
            cv2.line(alpha, (x0, min(y, height - 1)), (x1, min(y, height - 1)), strength, thickness)

        coloured = rng.random() < p.colour_probability
        background, style["background"] = self.backgrounds.sample(rng, width, height, tint=coloured)
        region = background[top : top + ink.shape[0], left : left + ink.shape[1]]
        paper = luminance(np.array(cv2.mean(region)[:3]))
        if rng.random() < p.low_contrast_probability:  # faint print: a grey close to the paper
            step = int(rng.integers(p.low_contrast.min, p.low_contrast.max + 1))
            colour = np.full(3, max(0, round(paper) - step) if paper >= 128 else min(255, round(paper) + step))
            style["low_contrast"] = True
        else:
            colour = rng.integers(0, 150, 3) if coloured else np.full(3, rng.integers(0, 70))
            if abs(paper - float(luminance(colour))) < p.min_contrast:  # trdg drops such images; we fix the colour
                colour = np.zeros(3, np.int64) if paper >= 128 else np.full(3, 255)
            style["low_contrast"] = False
        style["colour"] = [int(c) for c in colour]
        style["effect"] = None
        if p.effect_probability and rng.random() < p.effect_probability:
            under, under_colour, style["effect"] = shadow_or_outline(text, colour, paper, rng, p, scale)
            background = blend(background, under, under_colour)
        image = blend(background, alpha, colour)

        if style["rotation"]:
            matrix = cv2.getRotationMatrix2D((width / 2, height / 2), style["rotation"], 1.0)
            image = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        style["perspective"] = bool(rng.random() < p.perspective_probability)
        if style["perspective"]:
            image = pull_corners(image, rng, p.perspective_strength)
        style["blur"] = 0.0
        if rng.random() < p.blur_probability and p.blur_sigma > 0:
            style["blur"] = round(float(rng.uniform(0.3, max(0.3, p.blur_sigma))), 2)
            image = cv2.GaussianBlur(image, (0, 0), style["blur"] * scale)
        image = resize_to_height(image, p.height)
        style["jpeg"] = None
        if rng.random() < p.jpeg_probability:
            style["jpeg"] = int(rng.integers(p.jpeg_quality.min, p.jpeg_quality.max + 1))
            image = jpeg(image, style["jpeg"])
        style["inverted"] = bool(rng.random() < p.invert_probability)
        if style["inverted"]:
            image = 255 - image
        return Sample(label, source, font.spec.id, style, np.ascontiguousarray(image))


# --- the render stage: one shard, or every shard of a split on all cores ------------------
