"""Training and validation batches as a keras.utils.PyDataset: numpy arrays, any Keras backend."""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np

from core.params import PIXELS_PER_STEP
from training.data import (
    TRAINING_MARGIN_RANGE,
    DataError,
    ImageReader,
    Line,
    augment,
    class_ids,
    model_width,
    output_lengths,
    pad_batch,
    to_grey,
    to_model_input,
)


def frames_needed(target: list[int]) -> int:
    """CTC needs a frame per character plus a blank between equal neighbours."""
    return len(target) + sum(a == b for a, b in itertools.pairwise(target))


class LineBatches(keras.utils.PyDataset):
    """Batches of lines of similar width: x (batch, height, width, 1) in [0, 1], y packed for CTC.

    y[:, 0] is each line's real number of frames (its unpadded width / PIXELS_PER_STEP), y[:, 1:] its
    class ids padded with 0: the loss reads the real lengths from there.
    An epoch is `steps` batches of an endless, seeded sequence of shuffled passes over the
    lines, so epochs can be short and a resumed run sees new batches.
    Lines wider than max_width, or too narrow for their label (CTC would give an infinite
    loss), are left out and counted in `skipped`.
    """

    def __init__(
        self,
        lines: list[Line],
        charset: str,
        height: int,
        batch_size: int,
        *,
        steps: int | None = None,
        shuffle: bool = False,
        augment_images: bool = False,
        seed: int = 0,
        max_width: int | None = None,
        workers: int = 1,
    ):
        super().__init__(workers=workers, use_multiprocessing=False)
        index = {c: i + 1 for i, c in enumerate(charset)}
        targets = [class_ids(line.label, index, str(line)) for line in lines]
        widths = np.array([model_width(line, height) for line in lines])
        fits = output_lengths(widths) >= np.array([frames_needed(t) for t in targets])
        keep = fits & (widths <= max_width) if max_width else fits
        if not keep.any():
            raise DataError(f"none of {len(lines)} lines fits (max_width={max_width}, a frame per {PIXELS_PER_STEP} px)")
        self.lines = [line for line, k in zip(lines, keep) if k]
        self.targets = [target for target, k in zip(targets, keep) if k]
        self.widths = widths[keep]
        self.skipped = int((~keep).sum())
        self.height, self.batch_size, self.shuffle, self.augment = height, batch_size, shuffle, augment_images
        self.seed, self.epoch, self.reader = seed, 0, ImageReader()
        self.pass_length = math.ceil(len(self.lines) / batch_size)
        self.steps = steps or self.pass_length
        self._plan_cache: tuple[int, list[np.ndarray]] | None = None

    def _plan(self, cycle: int) -> list[np.ndarray]:
        """One pass: lines sorted by (jittered) width, cut into batches, batches shuffled."""
        if self._plan_cache is None or self._plan_cache[0] != cycle:
            rng = np.random.default_rng([self.seed, cycle])
            jitter = rng.uniform(0, 48, len(self.widths)) if self.shuffle else 0
            order = np.argsort(self.widths + jitter, kind="stable")
            batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
            if self.shuffle:
                batches = [batches[i] for i in rng.permutation(len(batches))]
            self._plan_cache = (cycle, batches)
        return self._plan_cache[1]

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        position = self.epoch * self.steps + i if self.shuffle else i
        members = self._plan(position // self.pass_length)[position % self.pass_length]
        rng = np.random.default_rng([self.seed, position, 1])
        images = []
        for k in members:
            margins = tuple(rng.uniform(*TRAINING_MARGIN_RANGE, size=2)) if self.augment else None
            grey = to_model_input(to_grey(self.reader.read(self.lines[k])), self.height, margins)
            if self.augment:
                changed = augment(grey, rng)
                # A narrowing stretch must leave the label its frames.
                grey = changed if changed.shape[1] >= PIXELS_PER_STEP * frames_needed(self.targets[k]) else grey
            images.append(grey)
        x = pad_batch(images)
        y = np.zeros((len(members), 1 + max(len(self.targets[k]) for k in members)), np.float32)
        y[:, 0] = np.minimum(output_lengths([image.shape[1] for image in images]), x.shape[2] // PIXELS_PER_STEP)
        for row, k in enumerate(members):
            y[row, 1 : 1 + len(self.targets[k])] = self.targets[k]
        return x, y

    def on_epoch_end(self) -> None:
        self.epoch += 1
