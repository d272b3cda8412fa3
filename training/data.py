"""Labelled lines for training and evaluation: shards, image folders, `path<TAB>label` files.

Images are read straight from the shards (random access through the index, no
extraction), converted to grey, resized to the model height keeping the aspect
ratio, grouped with lines of similar width and padded: numpy batches through
keras.utils.PyDataset, so every Keras backend trains from the same pipeline.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from core.errors import InputError
from core.labels import parse_member_name
from core.params import PIXELS_PER_STEP
from core.shards import Shard

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif"}


class DataError(InputError):
    """Labelled data that cannot be used; the message names the file or shard and the line."""


@dataclass(frozen=True)
class Line:
    """One labelled line image: in a shard (member index) or a file."""

    label: str
    path: Path  # the shard, or the image file
    member: int | None = None  # index into the shard's index; None for a file
    width: int | None = None  # pixel size when known without decoding (shards)
    height: int | None = None
    origin: str = ""  # where it was listed, for messages: "labels.tsv:12", "shard.tar[7]"; else the path

    def __str__(self) -> str:
        return self.origin or str(self.path)


def _shard_lines(path: Path) -> list[Line]:
    shard = Shard(path)
    return [
        Line(row["label"], path, i, row["width"], row["height"], f"{path}[{i}]") for i, row in enumerate(shard.index)
    ]


def _folder_lines(folder: Path) -> list[Line]:
    lines = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            _, label, complete = parse_member_name(path.name)
        except ValueError:
            raise DataError(f"{path}: not named {{id}}_{{label}}.{{ext}}") from None
        if not complete:
            raise DataError(f"{path}: the label was cut to fit the name; use a path<TAB>label file for it")
        lines.append(Line(label, path))
    return lines


def _list_lines(listing: Path) -> list[Line]:
    """`path<TAB>label` per line (PaddleOCR's convention); paths relative to the file."""
    lines = []
    for number, text in enumerate(listing.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        path, tab, label = text.partition("\t")
        if not tab:
            raise DataError(f"{listing}:{number}: expected path<TAB>label, found no tab")
        image = (listing.parent / path).resolve()
        if not image.is_file():
            raise DataError(f"{listing}:{number}: {path}: no such image")
        lines.append(Line(label, image, origin=f"{listing}:{number}"))
    return lines


def load_lines(source: Path | str) -> list[Line]:
    """Every labelled line of a shard, a folder of shards, a folder of images, or a listing file."""
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    if source.is_file():
        return _shard_lines(source) if source.suffix == ".tar" else _list_lines(source)
    shards = sorted(source.glob("*.tar"))
    lines = [line for shard in shards for line in _shard_lines(shard)] if shards else _folder_lines(source)
    if not lines:
        raise DataError(f"{source}: holds no labelled images")
    return lines


class ImageReader:
    """Reads line images; keeps shard files open and reads with pread (safe across threads)."""

    def __init__(self):
        self._files: dict[Path, int] = {}
        self._shards: dict[Path, Shard] = {}

    def read(self, line: Line) -> Image.Image:
        if line.member is None:
            return open_image(line.path)
        if line.path not in self._shards:
            self._shards[line.path] = Shard(line.path)
            self._files[line.path] = os.open(line.path, os.O_RDONLY)
        row = self._shards[line.path].index[line.member]
        data = os.pread(self._files[line.path], row["size"], row["offset"])
        return decode_image(data, f"{line.path} member {row['member']}")

    def close(self):
        for descriptor in self._files.values():
            os.close(descriptor)
        self._files.clear()


def decode_image(data: bytes, name: str) -> Image.Image:
    return open_image(io.BytesIO(data), name)


def open_image(source, name: str | None = None) -> Image.Image:
    """Open any mode and size Pillow reads; a decompression bomb or broken file is a DataError."""
    name = name or str(source)
    try:
        with Image.open(source) as image:
            image.load()
            return image
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"{name}: cannot read the image: {error}") from None


def to_grey(image: Image.Image) -> np.ndarray:
    """8-bit grey from any mode: 16-bit scaled, transparency composited on white, palettes expanded."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return np.clip(values * 255.0 / top, 0, 255).astype(np.uint8)
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        return np.clip(values * (255.0 if values.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if image.mode in ("P", "PA") or "A" in image.getbands():
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    return np.asarray(image.convert("L"))


# The renderer leaves 0-6 px above and below 32 px text: about a fifth of the ink's height
# at most. Lines cut by other tools often carry far more (measured on the outside set with
# the base model, sitting 3: normalised sequence accuracy 0.442 as cut, 0.596 cropped so).
MARGIN_OF_TEXT_HEIGHT = 0.2
# Training crops each line with margins drawn from this range instead, above and below
# apart, so that the model reads text framed tighter or looser alike: sitting 10's model,
# trained on the fixed margin, read the outside set at 0.500 with none, 0.681 at 0.1, 0.712
# at 0.2 and 0.681 at 0.3 (bench/robustness.py): the framing alone moved it more than a sitting.
# 0-0.3 in sitting 11, whose English on the test split fell 0.761 -> 0.717 (cause not found;
# the stroke-weight changes came in the same sitting); 0.1-0.3 from sitting 12, nearer reading's.
TRAINING_MARGIN_RANGE = (0.1, 0.3)
# A band of "text" under a third of the line's height is a rule, a speck or faint text lost
# in a noisy background far more often than a line (the outside set's texts fill 0.4-1.0 of
# their images): such lines are left as they are, not stretched up to 3-16x their width.
SMALLEST_CROP = 1 / 3


def border_of(grey: np.ndarray) -> np.ndarray:
    """The pixels of the image's edges: mostly background in a text line."""
    return np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])


def crop_to_text(grey: np.ndarray, margins: tuple[float, float] | None = None) -> np.ndarray:
    """The rows that hold the text, plus MARGIN_OF_TEXT_HEIGHT of its height above and below
    (or `margins`, above and below, as far as the image has them).

    The background is the median of the image's border and ink what differs from it by more
    than the border's own noise, so dark-on-light and light-on-dark lines crop alike; a row
    holds text when 1% of its pixels are ink. A line with no such rows, or whose rows would
    make less than SMALLEST_CROP of its height, is left as it is."""
    border = border_of(grey).astype(np.float32)
    background = np.median(border)
    noise = np.percentile(np.abs(border - background), 90) + 12
    ink = np.abs(grey.astype(np.float32) - background) > noise
    rows = np.flatnonzero(ink.mean(axis=1) > 0.01)
    if len(rows) < 2:
        return grey
    top, bottom = rows[0], rows[-1] + 1
    text_height = bottom - top
    above, below = margins or (MARGIN_OF_TEXT_HEIGHT, MARGIN_OF_TEXT_HEIGHT)
    top, bottom = max(0, top - round(text_height * above)), min(len(grey), bottom + round(text_height * below))
    return grey[top:bottom] if bottom - top >= SMALLEST_CROP * len(grey) else grey


def to_model_input(grey: np.ndarray, height: int, margins: tuple[float, float] | None = None) -> np.ndarray:
    """Crop to the text's rows, then resize to the model height keeping the aspect ratio; at
    least one time step wide. Training and reading both come through here."""
    grey = crop_to_text(grey, margins)
    width = max(PIXELS_PER_STEP, round(grey.shape[1] * height / grey.shape[0]))
    interpolation = cv2.INTER_AREA if grey.shape[0] > height else cv2.INTER_LINEAR
    return cv2.resize(grey, (width, height), interpolation=interpolation)


def has_dark_ink(grey: np.ndarray) -> bool:
    """Dark text on a light ground: the image is darker on average than its border."""
    return grey.mean() < np.median(border_of(grey))


def change_stroke_weight(grey: np.ndarray, amount: float) -> np.ndarray:
    """Strokes bolder (amount > 0) or lighter (< 0): |amount| (at most 1) of the way to a 2x2
    grey erosion or dilation, whichever thickens the ink (darker or lighter than the border)."""
    dark_ink = has_dark_ink(grey)
    kernel = np.ones((2, 2), np.uint8)
    moved = (cv2.erode if (amount > 0) == dark_ink else cv2.dilate)(grey, kernel).astype(np.float32)
    return np.clip(np.round(grey + abs(amount) * (moved - grey)), 0, 255).astype(np.uint8)


def augment(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light, label-preserving changes for training: stroke weight, width stretch (condensed
    and extended faces), contrast, noise, inversion."""
    if rng.random() < 0.4:
        # Sitting 10's model, trained without, lost about half its English and Chinese to
        # strokes a pixel bolder or lighter, on lines a person reads as easily (bench/robustness.py).
        # Bolder twice as often (sitting 12): sitting 11's model read bolder strokes worst (a
        # pixel bolder 0.502 on the outside set and 0.575 on the test split, lighter 0.642 and
        # 0.589; models/base/README.md).
        grey = change_stroke_weight(grey, rng.choice([-1, 1, 1]) * rng.uniform(0.25, 1.0))
    if rng.random() < 0.5:
        width = max(PIXELS_PER_STEP, round(grey.shape[1] * rng.uniform(0.75, 1.25)))
        grey = cv2.resize(grey, (width, grey.shape[0]), interpolation=cv2.INTER_LINEAR)
    values = grey.astype(np.float32)
    if rng.random() < 0.5:
        values = (values - values.mean()) * rng.uniform(0.6, 1.2) + values.mean() + rng.uniform(-25, 25)
    if rng.random() < 0.3:
        values += rng.normal(0, rng.uniform(2, 10), values.shape)
    if rng.random() < 0.2:
        values = 255 - values
    return np.clip(values, 0, 255).astype(np.uint8)


def class_ids(label: str, index: dict[str, int], where: str) -> list[int]:
    """Class ids (charset position + 1; 0 is the CTC blank); a character outside the charset is an error."""
    try:
        return [index[c] for c in label]
    except KeyError as error:
        raise DataError(
            f"{where}: label {label!r} has {error.args[0]!r}, which is not in the charset "
            "(add it to charset.extra in params; a warm start gives it a fresh output row)"
        ) from None


def output_lengths(widths: np.ndarray) -> np.ndarray:
    return np.ceil(np.asarray(widths) / PIXELS_PER_STEP).astype(np.int32)


def pad_batch(images: list[np.ndarray], multiple: int = 32) -> np.ndarray:
    """(batch, height, width, 1) float32 in [0, 1]; padded on the right by repeating the last
    column, so the backward LSTM sees background; width rounded up to limit shape variety."""
    width = math.ceil(max(image.shape[1] for image in images) / multiple) * multiple
    batch = np.stack(
        [cv2.copyMakeBorder(image, 0, 0, 0, width - image.shape[1], cv2.BORDER_REPLICATE) for image in images]
    )
    return (batch[..., None] / np.float32(255)).astype(np.float32)


def model_width(line: Line, height: int) -> int:
    """The line's width at the model height, from the shard index or the image header."""
    if line.width is None:  # a file: read the size from its header only
        try:
            with Image.open(line.path) as image:
                width, line_height = image.size
        except (OSError, Image.DecompressionBombError) as error:
            raise DataError(f"{line.path}: cannot read the image: {error}") from None
    else:
        width, line_height = line.width, line.height
    return max(PIXELS_PER_STEP, round(width * height / line_height))
